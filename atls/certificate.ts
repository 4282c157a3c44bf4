/**
 * The Coordinator's attested TLS identity: a fresh P-256 key per process and a self-signed
 * certificate that carries the Coordinator's evidence as an X.509 extension
 * (`1.3.9901.2.1` SNP, `1.3.9901.2.2` TDX). The extension value is DER
 * `SEQUENCE { OCTET STRING report, OCTET STRING aux }` (aux empty when there is none). The
 * evidence in the certificate binds the key with a zero nonce (see `report_data.ts`); clients
 * rely on the fresh evidence of `POST /attest`, bound to their own nonce and to this key.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { encodePem } from "../util/bytes/mod.ts";
import type { Evidence, TeePlatform } from "../evidence/types.ts";
import { decodeOctetStringSequence, encodeOctetStringSequence } from "../x509/der.ts";
import { Certificate } from "../x509/certificate.ts";
import { verifySignedParts } from "../x509/signature.ts";

/** Extension OID of SNP evidence in an attested TLS certificate. */
const SNP_EVIDENCE_OID = "1.3.9901.2.1";
/** Extension OID of TDX evidence in an attested TLS certificate. */
const TDX_EVIDENCE_OID = "1.3.9901.2.2";

const OID_BY_PLATFORM: Record<TeePlatform, string> = {
  snp: SNP_EVIDENCE_OID,
  tdx: TDX_EVIDENCE_OID,
};

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A TLS key pair with its PEM texts, ready for `node:https`. */
export interface TlsIdentity {
  /** PEM of the certificate. */
  readonly certPem: string;
  /** PEM of the PKCS#8 private key (never log it). */
  readonly keyPem: string;
  /** DER of the certificate's SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
}

/** A fresh P-256 ECDSA key pair (extractable, so `node:tls` can load it). */
export async function generateTlsKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** DER of the SubjectPublicKeyInfo of `publicKey`. */
async function exportSpki(publicKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
}

/**
 * A self-signed certificate for `keys`, valid for a day, carrying `evidence` (when given) in
 * the extension of its platform.
 */
export async function createAttestedTlsIdentity(
  keys: CryptoKeyPair,
  evidence: Evidence | undefined,
  commonName = "contrast-coordinator",
  now = new Date(),
): Promise<TlsIdentity> {
  const extensions: x509.Extension[] = [
    new x509.SubjectAlternativeNameExtension([{ type: "dns", value: commonName }]),
  ];
  if (evidence) {
    extensions.push(
      new x509.Extension(
        OID_BY_PLATFORM[evidence.platform],
        false,
        encodeOctetStringSequence([evidence.report, evidence.aux ?? new Uint8Array()]).slice(),
      ),
    );
  }
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = serial[0]! & 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Array.from(serial, (b) => b.toString(16).padStart(2, "0")).join(""),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 24 * 3600_000),
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions,
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: encodePem("PRIVATE KEY", pkcs8),
    spki: await exportSpki(keys.publicKey),
  };
}

/**
 * Parses `certDer` with the one certificate model (`x509/certificate.ts`).
 *
 * @throws {ParseError} naming `certificate` when it is not a DER X.509 certificate
 */
function parseCertificateDer(certDer: Uint8Array): Certificate {
  try {
    return new Certificate(certDer, "certificate");
  } catch (cause) {
    throw new ParseError("certificate", "not a DER X.509 certificate", { cause });
  }
}

/** DER of the SubjectPublicKeyInfo of the certificate `certDer`. */
export function certificateSpki(certDer: Uint8Array): Uint8Array {
  return parseCertificateDer(certDer).spki.slice();
}

/**
 * DER of the SubjectPublicKeyInfo of the self-signed certificate `certDer`, once our own X.509
 * code has checked that this very key signed it (strict DER, outer and signed algorithm equal).
 *
 * Why a TLS client needs this for a key it pins: Deno 2.9's TLS client does not check the
 * handshake signature (TLS 1.3 CertificateVerify, TLS 1.2 ServerKeyExchange) when webpki cannot
 * parse the server certificate (`BadDer`, `TrailingData`: deno_tls treats them as "signature
 * valid", a fallback meant for X.509 v1 certificates). A certificate webpki refuses but our parser
 * reads could then carry the genuine server's (public) key without the server holding it. Such a
 * certificate cannot carry that key's own signature: the genuine server signs only certificates
 * webpki reads (checked by `tests/atls/key_possession_test.ts`).
 *
 * @example Pin a server's key only if its certificate is signed by it
 * ```ts
 * import { selfSignedSpki } from "./certificate.ts";
 *
 * async function keyOf(peerCertificateDer: Uint8Array): Promise<Uint8Array> {
 *   return await selfSignedSpki(peerCertificateDer, "coordinator.tls");
 * }
 * ```
 *
 * @throws {VerificationError} naming `field` when the certificate is unreadable or not signed by
 *   its own key
 */
export async function selfSignedSpki(certDer: Uint8Array, field: string): Promise<Uint8Array> {
  let cert: Certificate;
  try {
    cert = new Certificate(certDer, `${field}.certificate`);
  } catch (cause) {
    throw new VerificationError(
      field,
      `server certificate is not a DER X.509 certificate: ${(cause as Error).message}`,
      { cause },
    );
  }
  try {
    await verifySignedParts(cert, cert.publicKey, `${field}.certificate`, "its own subject key");
  } catch (cause) {
    throw new VerificationError(
      field,
      `server certificate is not signed by its own key: ${(cause as Error).message}`,
      { cause },
    );
  }
  return cert.spki.slice();
}

/**
 * The evidence carried by an attested TLS certificate, or `undefined` when it carries none.
 *
 * @throws {ParseError} when the certificate or its evidence extension is malformed
 */
export function readCertificateEvidence(certDer: Uint8Array): Evidence | undefined {
  const cert = parseCertificateDer(certDer);
  for (const platform of ["snp", "tdx"] as const) {
    const value = cert.extension(OID_BY_PLATFORM[platform]);
    if (!value) continue;
    const items = decodeOctetStringSequence(
      value,
      `certificate.extension(${OID_BY_PLATFORM[platform]})`,
    );
    if (items.length !== 2) {
      throw new ParseError(
        `certificate.extension(${OID_BY_PLATFORM[platform]})`,
        `expected 2 OCTET STRINGs (report, aux), got ${items.length}`,
      );
    }
    return {
      platform,
      report: items[0]!,
      ...(items[1]!.length > 0 ? { aux: items[1]! } : {}),
    };
  }
  return undefined;
}

/**
 * The pod's mesh credentials as the initializer wrote them (`<dir>/key.pem`,
 * `<dir>/certChain.pem`, `<dir>/mesh-ca.pem`), read and checked before the proxy serves with
 * them: the key is the certificate's key, the chain verifies to the mesh CA (signatures, names,
 * validity now, extended key usage for both TLS roles). A set that fails any check is refused
 * with the file and the reason; the proxy then keeps what it had (or does not start serving).
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPublicKey } from "node:crypto";
import { constantTimeEqual, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { UnavailableError, VerificationError } from "../util/errors/mod.ts";
import { type Certificate, parseCertificates } from "../x509/certificate.ts";
import { verifyChain } from "../x509/chain.ts";

/** File names inside the TLS folder. */
const CREDENTIAL_FILES = {
  key: "key.pem",
  certChain: "certChain.pem",
  meshCa: "mesh-ca.pem",
} as const;

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** Checked credentials, ready for `node:tls`. */
export interface MeshCredentials {
  /** PEM private key (never log it). */
  readonly keyPem: string;
  /** PEM chain, leaf first. */
  readonly certChainPem: string;
  /** PEM of the mesh CA (the only trust anchor for peers). */
  readonly meshCaPem: string;
  /** SHA-256 of the leaf DER, hex. */
  readonly leafFingerprint: string;
  /** The leaf's SANs as `DNS:x`, `IP:x`, `URI:x`. */
  readonly leafSans: readonly string[];
  /** End of the leaf's validity. */
  readonly notAfter: Date;
  /** SHA-256 of the mesh CA DER, hex. */
  readonly meshCaFingerprint: string;
  /** The mesh CA, parsed (the proxy's own checks of resumed sessions, `peer_trust.ts`). */
  readonly meshCa: Certificate;
}

/** The raw file contents. */
interface CredentialFiles {
  readonly key: string;
  readonly certChain: string;
  readonly meshCa: string;
}

/** Reads the three files; a missing one is an {@link UnavailableError} naming it. */
export async function readCredentialFiles(dir: string): Promise<CredentialFiles> {
  const read = async (name: string) => {
    try {
      return await Deno.readTextFile(`${dir}/${name}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new UnavailableError(`${dir}/${name}`, "missing (has the initializer run?)");
      }
      throw new UnavailableError(`${dir}/${name}`, `unreadable: ${(error as Error).message}`);
    }
  };
  return {
    key: await read(CREDENTIAL_FILES.key),
    certChain: await read(CREDENTIAL_FILES.certChain),
    meshCa: await read(CREDENTIAL_FILES.meshCa),
  };
}

/** The SANs of a certificate as `DNS:x`, `IP:x`, `URI:x`, `email:x`. */
function subjectAltNames(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];
  const prefix: Record<string, string> = { dns: "DNS", ip: "IP", url: "URI", email: "email" };
  return san.names.items.map((n) => `${prefix[n.type] ?? n.type}:${n.value}`);
}

function requireEku(leaf: x509.X509Certificate, field: string): void {
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku) return; // no EKU extension: any usage
  const usages = eku.usages.map(String);
  for (const [oid, name] of [[SERVER_AUTH, "serverAuth"], [CLIENT_AUTH, "clientAuth"]]) {
    if (!usages.includes(oid!)) {
      throw new VerificationError(field, `the mesh certificate lacks the ${name} key usage`);
    }
  }
}

/**
 * Checks `files` (as read from `dir`, used in error fields) at time `now`.
 *
 * @throws {VerificationError} naming the file and the reason
 */
export async function checkCredentials(
  files: CredentialFiles,
  dir: string,
  now: Date,
): Promise<MeshCredentials> {
  const chainField = `${dir}/${CREDENTIAL_FILES.certChain}`;
  const caField = `${dir}/${CREDENTIAL_FILES.meshCa}`;
  const keyField = `${dir}/${CREDENTIAL_FILES.key}`;
  const chain = parseCertificates(files.certChain, chainField);
  const cas = parseCertificates(files.meshCa, caField);
  if (chain.length === 0) throw new VerificationError(chainField, "no certificate in the file");
  if (cas.length !== 1) {
    throw new VerificationError(caField, `expected exactly one certificate, found ${cas.length}`);
  }
  const leaf = chain[0]!;
  await verifyChain({
    leaf,
    intermediates: chain.slice(1),
    trustAnchors: [cas[0]!],
    now,
    field: chainField,
  });
  const parsedLeaf = new x509.X509Certificate(leaf.der.slice());
  requireEku(parsedLeaf, chainField);
  let keySpki: Uint8Array;
  try {
    keySpki = new Uint8Array(
      createPublicKey(files.key).export({ type: "spki", format: "der" }) as Uint8Array,
    );
  } catch {
    throw new VerificationError(keyField, "not a PEM private key");
  }
  if (!constantTimeEqual(keySpki, leaf.spki)) {
    throw new VerificationError(keyField, "the private key does not belong to the certificate");
  }
  return {
    keyPem: files.key,
    certChainPem: files.certChain,
    meshCaPem: files.meshCa,
    leafFingerprint: encodeHex(await sha256(leaf.der)),
    leafSans: subjectAltNames(parsedLeaf),
    notAfter: leaf.notAfter,
    meshCaFingerprint: encodeHex(await sha256(cas[0]!.der)),
    meshCa: cas[0]!,
  };
}

/** Reads and checks the credentials in `dir`. */
export async function loadCredentials(dir: string, now = new Date()): Promise<MeshCredentials> {
  return checkCredentials(await readCredentialFiles(dir), dir, now);
}

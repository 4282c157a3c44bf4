/**
 * The Coordinator's certificate authority:
 *
 * - **root CA**: self-signed with the seed-derived P-384 key. Its certificate is byte-stable for the
 *   same seed (fixed validity, serial from the key, deterministic RFC 6979 signature), so a root
 *   saved by a user keeps verifying after restarts and recovery.
 * - **mesh CA**: a P-384 key per manifest, self-signed (`mesh-ca.pem`, what workloads trust). With
 *   {@link CertificateAuthority.forTransition} the key is derived from the seed and the transition
 *   and the certificate is byte-stable (fixed validity, serial from the key, RFC 6979 signature),
 *   so every replica and every restarted or recovered Coordinator issues under the same mesh CA.
 * - **intermediate**: the same mesh key and subject, signed by the root, so leaves chain both to
 *   the mesh CA and, through the intermediate, to the root.
 * - **leaves**: a pod's P-256 key, the policy's SANs (IP / URI / DNS), serverAuth + clientAuth,
 *   one year, the verified attestation claims as an extension (see claims_extension.ts).
 *
 * All certificates are signed with ECDSA-with-SHA384.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { sha1 } from "@noble/hashes/legacy.js";
import { decodeHex, encodeHex, encodePem, sha256 } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import type { AttestationClaims } from "../../evidence/types.ts";
import type { SubjectAltName } from "../../manifest/sans.ts";
import { readEcdsaPublicKey } from "../../manifest/public_keys.ts";
import { assertOnCurve } from "../../x509/public_key.ts";
import type { DerivedP384Key } from "../../seed/p384.ts";
import { type P384Signer, p384Signer } from "../../seed/p384_signer.ts";
import type { SeedEngine } from "../../seed/seed_engine.ts";
import { claimsExtensionOidDer, claimsExtensionWriter } from "../../protocol/claims_extension.ts";
import {
  DEFAULT_COMMON_NAME,
  encodeLeafTbs,
  encodeSignedCertificate,
  type LeafTemplate,
  leafTemplate,
} from "./leaf_der.ts";

/** Subject of the root CA. */
const ROOT_CA_NAME = "CN=system:coordinator:root,O=contrast";
/** Subject of the mesh CA and of the intermediate (same key, same name). */
const MESH_CA_NAME = "CN=system:coordinator:intermediate,O=contrast";
/** Start of the root certificate's validity (fixed, so the certificate is byte-stable). */
const ROOT_NOT_BEFORE = new Date("2025-01-01T00:00:00Z");
/** End of the root certificate's validity: RFC 5280's "no well-defined expiration date". */
const ROOT_NOT_AFTER = new Date("9999-12-31T23:59:59Z");
/** Validity of mesh CA and intermediate certificates. */
const MESH_CA_VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000;
/** Default validity of leaf certificates: one year. */
export const LEAF_VALIDITY_MS = 365 * 24 * 3600 * 1000;
/** Backdating of notBefore against clock skew between Coordinator and peers. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Bytes of an uncompressed P-256 point (`04 ‖ x ‖ y`). */
const P256_POINT_LENGTH = 65;
const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-384" } as const;

/** Parameters of one leaf certificate. */
interface LeafRequest {
  /** The pod's P-256 public key: a WebCrypto key or PKIX DER. */
  readonly publicKey: CryptoKey | Uint8Array;
  /** The SANs of the pod's policy. */
  readonly sans: readonly SubjectAltName[];
  /**
   * The verified attestation claims of the pod; put into the certificate as an extension.
   * Absent only for the Coordinator's own service certificates (the transit API), which it
   * issues to itself.
   */
  readonly claims?: AttestationClaims;
  /** End of validity; default one year after `now`. */
  readonly notAfter?: Date;
  /** Issuance time; default the current time. */
  readonly now?: Date;
  /** Subject common name; default `contrast-workload`. */
  readonly commonName?: string;
}

/** An issued leaf with the chains a pod installs. */
export interface IssuedLeaf {
  /** DER of the leaf certificate. */
  readonly der: Uint8Array;
  /** The leaf certificate, parsed (on first access). */
  readonly certificate: x509.X509Certificate;
  /** PEM of the leaf. */
  readonly pem: string;
  /** PEM of leaf then intermediate (chains to the root CA). */
  readonly chainPem: string;
}

/** A positive, non-zero 16-byte serial from the first 16 bytes of `bytes`. */
function serialBytes(bytes: Uint8Array): Uint8Array {
  const serial = bytes.slice(0, 16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

function serialFrom(bytes: Uint8Array): string {
  return encodeHex(serialBytes(bytes));
}

function randomSerial(): string {
  return serialFrom(crypto.getRandomValues(new Uint8Array(16)));
}

async function exportSpki(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", key));
}

/**
 * A fresh mesh key: the WebCrypto pair (private key not extractable) and a leaf signer for the
 * same key, built from its JWK, which is dropped.
 */
async function freshMeshKey(): Promise<{ meshKeys: CryptoKeyPair; signLeaf: P384Signer }> {
  const generated = await crypto.subtle.generateKey(P384, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", generated.privateKey);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, P384, false, ["sign"]);
  return {
    meshKeys: { privateKey, publicKey: generated.publicKey },
    signLeaf: p384Signer(jwk),
  };
}

/** The DER of `certificate` with its signature replaced by `sign(tbs)`. */
function resign(
  certificate: x509.X509Certificate,
  sign: (tbs: Uint8Array) => Uint8Array,
): x509.X509Certificate {
  const asn = AsnConvert.parse(certificate.rawData, Certificate);
  const tbs = new Uint8Array(AsnConvert.serialize(asn.tbsCertificate));
  asn.signatureValue = sign(tbs).slice().buffer;
  return new x509.X509Certificate(AsnConvert.serialize(asn));
}

async function caExtensions(publicKey: CryptoKey, issuerKey: CryptoKey, pathLength?: number) {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuerKey),
  ];
}

/**
 * The root certificate for a root key: self-signed, fixed validity, serial from the SPKI hash.
 * With a {@link DerivedP384Key} the signature is deterministic and the certificate byte-stable.
 */
export async function createRootCertificate(
  rootKey: DerivedP384Key | CryptoKeyPair,
): Promise<x509.X509Certificate> {
  const keys = "keyPair" in rootKey ? rootKey.keyPair : rootKey;
  const spki = await exportSpki(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialFrom(await sha256(spki)),
    subject: ROOT_CA_NAME,
    issuer: ROOT_CA_NAME,
    notBefore: ROOT_NOT_BEFORE,
    notAfter: ROOT_NOT_AFTER,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING,
    extensions: await caExtensions(keys.publicKey, keys.publicKey),
  });
  return "keyPair" in rootKey ? resign(cert, (tbs) => rootKey.signDeterministic(tbs)) : cert;
}

/**
 * The SPKI DER of a pod's P-256 key. Bytes are checked to be an uncompressed P-256 point on the
 * curve (`readEcdsaPublicKey`, which checks the curve equation itself: Deno's WebCrypto import
 * does not), so a point that is not on the curve is refused before anything is signed.
 */
async function leafSpki(publicKey: CryptoKey | Uint8Array): Promise<Uint8Array> {
  if (publicKey instanceof Uint8Array) {
    if (isP256Spki(publicKey)) return publicKey;
    // Anything else, and a point off the curve, goes through the general parser, which names
    // what is wrong with it.
    const info = readEcdsaPublicKey(publicKey);
    if ("error" in info) throw new ParseError("publicKey", info.error);
    if (info.curve !== "P-256") {
      throw new ParseError("publicKey", `expected a P-256 key, got ${info.curve}`);
    }
    return publicKey;
  }
  const algorithm = publicKey.algorithm as EcKeyAlgorithm;
  if (
    publicKey.type !== "public" ||
    (algorithm.name !== "ECDSA" && algorithm.name !== "ECDH") ||
    algorithm.namedCurve !== "P-256"
  ) {
    throw new ParseError("publicKey", "expected a P-256 public key");
  }
  if (!publicKey.extractable) throw new ParseError("publicKey", "public key must be extractable");
  return await exportSpki(publicKey);
}

/**
 * The DER of a P-256 SubjectPublicKeyInfo up to its point: SEQUENCE (89 bytes), AlgorithmIdentifier
 * { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes) without unused bits. DER has exactly this
 * one encoding of such a key.
 */
const P256_SPKI_PREFIX = decodeHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

/**
 * Whether `spki` is the DER of a P-256 key whose uncompressed point is on the curve: the bytes
 * before the point compared with the one encoding DER allows, then the curve equation
 * (`assertOnCurve`); the general SPKI parser (element objects, OID strings) is not needed for
 * the key every pod sends.
 */
function isP256Spki(spki: Uint8Array): boolean {
  if (spki.length !== P256_SPKI_PREFIX.length + P256_POINT_LENGTH) return false;
  for (let i = 0; i < P256_SPKI_PREFIX.length; i++) {
    if (spki[i] !== P256_SPKI_PREFIX[i]) return false;
  }
  try {
    assertOnCurve(spki.subarray(P256_SPKI_PREFIX.length), "P-256", "publicKey");
    return true;
  } catch {
    return false;
  }
}

/** Root CA, mesh CA and intermediate of one manifest generation; issues leaf certificates. */
export class CertificateAuthority {
  /** The root CA certificate (stable for the same root key). */
  readonly root: x509.X509Certificate;
  /** The self-signed mesh CA certificate of this manifest generation. */
  readonly meshCa: x509.X509Certificate;
  /** The mesh key's certificate signed by the root. */
  readonly intermediate: x509.X509Certificate;
  readonly #rootKeys: CryptoKeyPair;
  readonly #rootKey: DerivedP384Key | CryptoKeyPair;
  /** Signs leaves with the mesh key, in this thread (`seed/p384_signer.ts`). */
  readonly #signLeaf: P384Signer;
  /** What every leaf shares (issuer, authority key identifier), encoded once per mesh key. */
  readonly #leafTemplate: LeafTemplate;
  /** PEM of the root CA, mesh CA and intermediate, encoded once (served with every leaf). */
  readonly #pems: { readonly root: string; readonly meshCa: string; readonly intermediate: string };

  private constructor(
    rootKey: DerivedP384Key | CryptoKeyPair,
    root: x509.X509Certificate,
    signLeaf: P384Signer,
    meshCa: x509.X509Certificate,
    intermediate: x509.X509Certificate,
    leafAuthorityKeyId: x509.AuthorityKeyIdentifierExtension,
  ) {
    this.#rootKey = rootKey;
    this.#rootKeys = "keyPair" in rootKey ? rootKey.keyPair : rootKey;
    this.root = root;
    this.#signLeaf = signLeaf;
    this.meshCa = meshCa;
    this.intermediate = intermediate;
    this.#leafTemplate = leafTemplate(
      new Uint8Array(meshCa.rawData),
      new Uint8Array(leafAuthorityKeyId.rawData),
    );
    this.#pems = {
      root: root.toString("pem") + "\n",
      meshCa: meshCa.toString("pem") + "\n",
      intermediate: intermediate.toString("pem") + "\n",
    };
  }

  /**
   * A CA with the given root key and a fresh mesh key (one per manifest).
   *
   * @param options.now issuance time of mesh CA and intermediate; default the current time
   */
  static async create(options: {
    readonly rootKey: DerivedP384Key | CryptoKeyPair;
    readonly now?: Date;
  }): Promise<CertificateAuthority> {
    const now = options.now ?? new Date();
    const root = await createRootCertificate(options.rootKey);
    const rootKeys = "keyPair" in options.rootKey ? options.rootKey.keyPair : options.rootKey;
    const { meshKeys, signLeaf } = await freshMeshKey();
    const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
    const notAfter = new Date(now.getTime() + MESH_CA_VALIDITY_MS);
    const meshCa = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: MESH_CA_NAME,
      issuer: MESH_CA_NAME,
      notBefore,
      notAfter,
      publicKey: meshKeys.publicKey,
      signingKey: meshKeys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: await caExtensions(meshKeys.publicKey, meshKeys.publicKey, 0),
    });
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: MESH_CA_NAME,
      issuer: ROOT_CA_NAME,
      notBefore,
      notAfter,
      publicKey: meshKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: await caExtensions(meshKeys.publicKey, rootKeys.publicKey, 0),
    });
    return new CertificateAuthority(
      options.rootKey,
      root,
      signLeaf,
      meshCa,
      intermediate,
      await x509.AuthorityKeyIdentifierExtension.create(meshKeys.publicKey),
    );
  }

  /**
   * The CA of the manifest that `transition` made active: root key from the seed, mesh key
   * derived from the seed and `transition`; root, mesh CA and intermediate certificates are
   * byte-identical wherever the same seed and transition are known.
   */
  static async forTransition(
    engine: SeedEngine,
    transition: Uint8Array,
  ): Promise<CertificateAuthority> {
    const rootKey = await engine.derivedRootCaKey();
    const meshKey = await engine.derivedMeshCaKey(transition);
    const root = await createRootCertificate(rootKey);
    const meshKeys = meshKey.keyPair;
    const serial = serialFrom(await sha256(await exportSpki(meshKeys.publicKey)));
    const meshCa = resign(
      await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: MESH_CA_NAME,
        issuer: MESH_CA_NAME,
        notBefore: ROOT_NOT_BEFORE,
        notAfter: ROOT_NOT_AFTER,
        publicKey: meshKeys.publicKey,
        signingKey: meshKeys.privateKey,
        signingAlgorithm: SIGNING,
        extensions: await caExtensions(meshKeys.publicKey, meshKeys.publicKey, 0),
      }),
      (tbs) => meshKey.signDeterministic(tbs),
    );
    const intermediate = resign(
      await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: MESH_CA_NAME,
        issuer: ROOT_CA_NAME,
        notBefore: ROOT_NOT_BEFORE,
        notAfter: ROOT_NOT_AFTER,
        publicKey: meshKeys.publicKey,
        signingKey: rootKey.keyPair.privateKey,
        signingAlgorithm: SIGNING,
        extensions: await caExtensions(meshKeys.publicKey, rootKey.keyPair.publicKey, 0),
      }),
      (tbs) => rootKey.signDeterministic(tbs),
    );
    return new CertificateAuthority(
      rootKey,
      root,
      meshKey.sign,
      meshCa,
      intermediate,
      await x509.AuthorityKeyIdentifierExtension.create(meshKeys.publicKey),
    );
  }

  /** A CA whose root key is derived from `engine` (byte-stable root certificate). */
  static async fromSeed(engine: SeedEngine, now?: Date): Promise<CertificateAuthority> {
    return CertificateAuthority.create({ rootKey: await engine.derivedRootCaKey(), now });
  }

  /** A CA with the same root and a fresh mesh key: call on every manifest update. */
  rotateMeshCa(now?: Date): Promise<CertificateAuthority> {
    return CertificateAuthority.create({ rootKey: this.#rootKey, now });
  }

  /** PEM of the root CA certificate (`coordinator-root-ca.pem`). */
  get rootPem(): string {
    return this.#pems.root;
  }

  /** PEM of the mesh CA certificate (`mesh-ca.pem`). */
  get meshCaPem(): string {
    return this.#pems.meshCa;
  }

  /** PEM of the intermediate certificate. */
  get intermediatePem(): string {
    return this.#pems.intermediate;
  }

  /** The root public key. */
  get rootPublicKey(): CryptoKey {
    return this.#rootKeys.publicKey;
  }

  /**
   * Issues a leaf certificate for a pod's P-256 key, signed by the mesh key.
   *
   * @throws {ParseError} naming `publicKey` when it is not a P-256 key, `sans` when empty, or
   *   `notAfter` when it is not after `now`
   */
  async issueLeaf(request: LeafRequest): Promise<IssuedLeaf> {
    const now = request.now ?? new Date();
    const notAfter = request.notAfter ?? new Date(now.getTime() + LEAF_VALIDITY_MS);
    if (notAfter.getTime() <= now.getTime()) {
      throw new ParseError("notAfter", "must be after the issuance time");
    }
    if (request.sans.length === 0) throw new ParseError("sans", "at least one SAN is required");
    const spki = await leafSpki(request.publicKey);
    const claims = request.claims;
    const tbs = encodeLeafTbs(this.#leafTemplate, {
      serial: serialBytes(crypto.getRandomValues(new Uint8Array(16))),
      notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
      notAfter,
      commonName: request.commonName ?? DEFAULT_COMMON_NAME,
      spki,
      // SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1): the uncompressed point,
      // the last 65 bytes of a P-256 SPKI that `leafSpki` checked.
      subjectKeyIdentifier: sha1(spki.subarray(spki.length - P256_POINT_LENGTH)),
      sans: request.sans,
      claims: claims === undefined ? undefined : {
        oid: claimsExtensionOidDer(claims.platform),
        value: claimsExtensionWriter(claims),
      },
    });
    const der = encodeSignedCertificate(tbs, this.#signLeaf(tbs));
    return new IssuedLeafDer(der, this.intermediatePem);
  }
}

/**
 * An issued leaf; its PEM, its chain and the parsed {@link x509.X509Certificate} are built only
 * when asked for (the mesh API serialises the answer from the DER, `coordinator/mesh_answer.ts`).
 */
class IssuedLeafDer implements IssuedLeaf {
  #certificate?: x509.X509Certificate;
  #pem?: string;
  readonly #intermediatePem: string;

  constructor(readonly der: Uint8Array, intermediatePem: string) {
    this.#intermediatePem = intermediatePem;
  }

  get pem(): string {
    this.#pem ??= encodePem("CERTIFICATE", this.der);
    return this.#pem;
  }

  get chainPem(): string {
    return this.pem + this.#intermediatePem;
  }

  get certificate(): x509.X509Certificate {
    this.#certificate ??= new x509.X509Certificate(this.der as Uint8Array<ArrayBuffer>);
    return this.#certificate;
  }
}

/**
 * X.509 certificates: parsing (DER or PEM) into a {@link Certificate} that keeps the exact signed
 * bytes, the raw names and every extension.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { constantTimeEqual, decodePem, encodeHex, sha256 } from "../util/bytes/mod.ts";
import {
  children,
  type DerElement,
  expectTag,
  readOid,
  readSignedDer,
  readSingle,
  readSmallInteger,
  readTime,
  readUnsignedInteger,
  Tag,
} from "./der.ts";
import { parsePublicKeyInfo, type PublicKeyInfo } from "./public_key.ts";
import { formatName } from "./name.ts";

/** Extension OIDs contrast interprets. */
export const ExtensionOid = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  crlNumber: "2.5.29.20",
  crlReason: "2.5.29.21",
  deltaCrlIndicator: "2.5.29.27",
  issuingDistributionPoint: "2.5.29.28",
  certificateIssuer: "2.5.29.29",
  crlDistributionPoints: "2.5.29.31",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** Key usage bits (RFC 5280 §4.2.1.3), numbered as in the standard. */
export const KeyUsageBit = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

/**
 * One extension of a certificate or CRL.
 *
 * @example List the critical extensions
 * ```ts
 * import type { Certificate, X509Extension } from "./mod.ts";
 *
 * function criticalOids(cert: Certificate): string[] {
 *   return cert.extensions.filter((e: X509Extension) => e.critical).map((e) => e.oid);
 * }
 * ```
 */
export interface X509Extension {
  /** Dotted OID. */
  readonly oid: string;
  /** Whether a relying party that does not understand it must reject the certificate. */
  readonly critical: boolean;
  /** The raw `extnValue` contents (the DER inside the OCTET STRING). */
  readonly value: Uint8Array;
}

/**
 * The basicConstraints extension.
 *
 * @example Is it a CA certificate?
 * ```ts
 * import type { BasicConstraints, Certificate } from "./mod.ts";
 *
 * function isCa(cert: Certificate): boolean {
 *   const bc: BasicConstraints | undefined = cert.basicConstraints;
 *   return bc?.ca ?? false;
 * }
 * ```
 */
export interface BasicConstraints {
  /** Whether the subject is a CA. */
  readonly ca: boolean;
  /** Maximum number of intermediate CAs that may follow, when limited. */
  readonly pathLength?: number;
}

/**
 * The parts of a signed X.509 structure (certificate or CRL) that signature checks need.
 *
 * @example Anything signed: a certificate or a CRL
 * ```ts
 * import type { SignedParts } from "./mod.ts";
 *
 * function signedLength(item: SignedParts): number {
 *   return item.tbs.length; // the exact bytes the signature covers
 * }
 * ```
 */
export interface SignedParts {
  /** The exact DER bytes the signature covers (`tbsCertificate` / `tbsCertList`). */
  readonly tbs: Uint8Array;
  /** The outer `signatureAlgorithm` AlgorithmIdentifier element. */
  readonly signatureAlgorithm: DerElement;
  /** The `signature` AlgorithmIdentifier inside the signed part; must equal the outer one. */
  readonly innerSignatureAlgorithm: DerElement;
  /** The signature value (contents of the BIT STRING). */
  readonly signature: Uint8Array;
}

/**
 * A parsed X.509 certificate. Immutable; the fingerprint is computed once per object.
 *
 * @example Read a certificate's validity and subject
 * ```ts
 * import { Certificate } from "./mod.ts";
 *
 * function validNow(der: Uint8Array): boolean {
 *   const cert = new Certificate(der, "certificate");
 *   const now = new Date();
 *   console.log(cert.subject, cert.serialNumber);
 *   return cert.notBefore <= now && now <= cert.notAfter;
 * }
 * ```
 */
export class Certificate implements SignedParts {
  /** The whole certificate, DER. */
  readonly der: Uint8Array;
  /** The exact signed bytes (`tbsCertificate`). */
  readonly tbs: Uint8Array;
  /** Outer signature AlgorithmIdentifier. */
  readonly signatureAlgorithm: DerElement;
  /** Inner (signed) signature AlgorithmIdentifier. */
  readonly innerSignatureAlgorithm: DerElement;
  /** Signature value. */
  readonly signature: Uint8Array;
  /** X.509 version number as encoded (0 = v1, 2 = v3). */
  readonly version: number;
  /** Serial number as lower-case hex without leading zeros (`"0"` for zero). */
  readonly serialNumber: string;
  /** Raw DER of the issuer Name (compared byte-wise when chaining). */
  readonly issuerDer: Uint8Array;
  /** Raw DER of the subject Name. */
  readonly subjectDer: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** Start of the validity window. */
  readonly notBefore: Date;
  /** End of the validity window (inclusive). */
  readonly notAfter: Date;
  /** Every extension in certificate order. */
  readonly extensions: readonly X509Extension[];
  /** The field name this certificate was parsed as (used in error messages). */
  readonly field: string;
  #fingerprint?: Promise<string>;
  #fingerprintHex?: string;
  #spkiFingerprint?: Promise<string>;
  #publicKey?: PublicKeyInfo;
  #subject?: string;
  #issuer?: string;

  /** Use {@link parseCertificate}. */
  constructor(der: Uint8Array, field: string) {
    this.der = der;
    this.field = field;
    const signed = readSignedDer(der, field, "Certificate", "tbsCertificate");
    const tbsEl = signed.tbs;
    this.tbs = tbsEl.raw;
    this.signatureAlgorithm = signed.signatureAlgorithm;
    this.signature = signed.signature;

    const tbs = children(tbsEl, `${field}.tbsCertificate`);
    let i = 0;
    let version = 0;
    if (tbs[0]?.tag === 0xa0) {
      version = readSmallInteger(
        readSingle(tbs[0].value, Tag.integer, `${field}.version`),
        `${field}.version`,
      );
      if (version > 2) throw new ParseError(`${field}.version`, `unknown version ${version}`);
      i = 1;
    }
    this.version = version;
    const need = (name: string): DerElement => {
      const el = tbs[i++];
      if (!el) throw new ParseError(`${field}.${name}`, "missing from tbsCertificate");
      return el;
    };
    this.serialNumber = serialHex(
      readUnsignedInteger(need("serialNumber"), `${field}.serialNumber`),
    );
    this.innerSignatureAlgorithm = need("signature");
    const issuer = need("issuer");
    expectTag(issuer, Tag.sequence, `${field}.issuer`);
    this.issuerDer = issuer.raw;
    const validity = need("validity");
    expectTag(validity, Tag.sequence, `${field}.validity`);
    const times = children(validity, `${field}.validity`);
    if (times.length !== 2) {
      throw new ParseError(`${field}.validity`, "needs notBefore and notAfter");
    }
    this.notBefore = readTime(times[0]!, `${field}.validity.notBefore`);
    this.notAfter = readTime(times[1]!, `${field}.validity.notAfter`);
    const subject = need("subject");
    expectTag(subject, Tag.sequence, `${field}.subject`);
    this.subjectDer = subject.raw;
    const spki = need("subjectPublicKeyInfo");
    expectTag(spki, Tag.sequence, `${field}.subjectPublicKeyInfo`);
    this.spki = spki.raw;
    let extensions: X509Extension[] = [];
    for (; i < tbs.length; i++) {
      const el = tbs[i]!;
      if (el.tag === 0x81 || el.tag === 0x82) continue; // issuer/subject unique IDs
      if (el.tag !== 0xa3) {
        throw new ParseError(
          `${field}.tbsCertificate`,
          `unexpected element 0x${el.tag.toString(16)}`,
        );
      }
      if (version !== 2) throw new ParseError(`${field}.extensions`, "extensions need version 3");
      extensions = parseExtensions(el.value, `${field}.extensions`);
    }
    this.extensions = extensions;
  }

  /** The subject as a string, e.g. `OU=Engineering, …, CN=ARK-Milan` (for messages). */
  get subject(): string {
    this.#subject ??= nameText(this.subjectDer);
    return this.#subject;
  }

  /** The issuer as a string (for messages). */
  get issuer(): string {
    this.#issuer ??= nameText(this.issuerDer);
    return this.#issuer;
  }

  /**
   * The decoded subject public key.
   *
   * @throws {import("../util/errors/mod.ts").VerificationError} for unsupported key types
   */
  get publicKey(): PublicKeyInfo {
    this.#publicKey ??= parsePublicKeyInfo(this.spki, `${this.field}.subjectPublicKeyInfo`);
    return this.#publicKey;
  }

  /** The raw `extnValue` of extension `oid`, or undefined when absent. */
  extension(oid: string): Uint8Array | undefined {
    return this.extensions.find((e) => e.oid === oid)?.value;
  }

  /** Whether subject and issuer names are byte-identical (self-issued). */
  get selfIssued(): boolean {
    return constantTimeEqual(this.subjectDer, this.issuerDer);
  }

  /**
   * The basicConstraints extension, or undefined when absent.
   *
   * @throws {ParseError} when it is malformed
   */
  get basicConstraints(): BasicConstraints | undefined {
    const value = this.extension(ExtensionOid.basicConstraints);
    return value === undefined
      ? undefined
      : parseBasicConstraints(value, `${this.field}.basicConstraints`);
  }

  /**
   * The set key-usage bits (see {@link KeyUsageBit}), or undefined when the extension is absent.
   *
   * @throws {ParseError} when it is malformed
   */
  get keyUsage(): ReadonlySet<number> | undefined {
    const value = this.extension(ExtensionOid.keyUsage);
    return value === undefined ? undefined : parseKeyUsage(value, `${this.field}.keyUsage`);
  }

  /** The subjectKeyIdentifier, or undefined when absent or malformed. */
  get subjectKeyIdentifier(): Uint8Array | undefined {
    const value = this.extension(ExtensionOid.subjectKeyIdentifier);
    if (value === undefined) return undefined;
    try {
      return readSingle(value, Tag.octetString, "subjectKeyIdentifier").value;
    } catch {
      return undefined;
    }
  }

  /** The keyIdentifier of the authorityKeyIdentifier, or undefined when absent or malformed. */
  get authorityKeyIdentifier(): Uint8Array | undefined {
    const value = this.extension(ExtensionOid.authorityKeyIdentifier);
    if (value === undefined) return undefined;
    try {
      const seq = readSingle(value, Tag.sequence, "authorityKeyIdentifier");
      return children(seq, "authorityKeyIdentifier").find((c) => c.tag === 0x80)?.value;
    } catch {
      return undefined;
    }
  }

  /** SHA-256 of the DER, lower-case hex (computed once). */
  fingerprint(): Promise<string> {
    this.#fingerprint ??= sha256(this.der).then((digest) => {
      const hex = encodeHex(digest);
      this.#fingerprintHex = hex;
      return hex;
    });
    return this.#fingerprint;
  }

  /**
   * The fingerprint {@link fingerprint} computed, once it has; undefined before (nothing is
   * hashed here). Lets a cache lookup build its key without waiting.
   */
  knownFingerprint(): string | undefined {
    return this.#fingerprintHex;
  }

  /** SHA-256 of the SubjectPublicKeyInfo DER, lower-case hex (computed once). */
  spkiFingerprint(): Promise<string> {
    this.#spkiFingerprint ??= sha256(this.spki).then(encodeHex);
    return this.#spkiFingerprint;
  }
}

/** A distinguished name as text (RFC 4514 style), or a placeholder when it cannot be decoded. */
export function nameText(der: Uint8Array): string {
  try {
    return formatName(der);
  } catch {
    return `<undecodable name ${encodeHex(der.subarray(0, 12))}…>`;
  }
}

/** Lower-case hex of a serial number's magnitude without leading zeros (`"0"` for zero). */
export function serialHex(magnitude: Uint8Array): string {
  return normaliseSerial(encodeHex(magnitude));
}

/** Normalises a hex serial number: lower case, no `:` separators, no leading zeros. */
export function normaliseSerial(hex: string): string {
  const plain = hex.replaceAll(":", "").toLowerCase().replace(/^0+/, "");
  return plain === "" ? "0" : plain;
}

/**
 * Parses the contents of an `[3] Extensions` / `crlExtensions` wrapper: a SEQUENCE of Extension.
 *
 * @throws {ParseError} naming `field` on malformed or duplicate extensions
 */
export function parseExtensions(wrapped: Uint8Array, field: string): X509Extension[] {
  const seq = readSingle(wrapped, Tag.sequence, field);
  return parseExtensionList(seq, field);
}

/** Parses a SEQUENCE OF Extension element. */
export function parseExtensionList(seq: DerElement, field: string): X509Extension[] {
  expectTag(seq, Tag.sequence, field);
  const out: X509Extension[] = [];
  // A set, not a search of `out`: the list is whoever made the certificate's (a quote's PCK
  // chain), and a search made 40 000 extensions cost 9 s (quadratic).
  const seen = new Set<string>();
  for (const [n, ext] of children(seq, field).entries()) {
    const f = `${field}[${n}]`;
    expectTag(ext, Tag.sequence, f);
    const parts = children(ext, f);
    const oid = readOid(parts[0] ?? missing(f), `${f}.extnID`);
    let critical = false;
    let at = 1;
    if (parts[1]?.tag === Tag.boolean) {
      if (parts[1].value.length !== 1 || parts[1].value[0] !== 0xff) {
        throw new ParseError(`${f}.critical`, "must be DER TRUE when present");
      }
      critical = true;
      at = 2;
    }
    const value = parts[at] ?? missing(`${f}.extnValue`);
    expectTag(value, Tag.octetString, `${f}.extnValue`);
    if (parts.length !== at + 1) throw new ParseError(f, "extra elements in Extension");
    if (seen.has(oid)) throw new ParseError(f, `duplicate extension ${oid}`);
    seen.add(oid);
    out.push({ oid, critical, value: value.value });
  }
  return out;
}

function missing(field: string): never {
  throw new ParseError(field, "missing");
}

/**
 * Parses a basicConstraints extension value.
 *
 * @throws {ParseError} naming `field` when malformed
 */
function parseBasicConstraints(value: Uint8Array, field: string): BasicConstraints {
  const seq = readSingle(value, Tag.sequence, field);
  const parts = children(seq, field);
  let ca = false;
  let at = 0;
  if (parts[0]?.tag === Tag.boolean) {
    if (parts[0].value.length !== 1) throw new ParseError(`${field}.cA`, "bad BOOLEAN");
    ca = parts[0].value[0] !== 0;
    at = 1;
  }
  let pathLength: number | undefined;
  if (parts[at] !== undefined) {
    pathLength = readSmallInteger(parts[at]!, `${field}.pathLenConstraint`);
    at++;
  }
  if (at !== parts.length) throw new ParseError(field, "extra elements");
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

/**
 * Parses a keyUsage extension value into the set of bits that are 1.
 *
 * @throws {ParseError} naming `field` when malformed
 */
function parseKeyUsage(value: Uint8Array, field: string): ReadonlySet<number> {
  const el = readSingle(value, Tag.bitString, field);
  if (el.value.length < 1 || el.value[0]! > 7) throw new ParseError(field, "bad BIT STRING");
  const bits = new Set<number>();
  const bytes = el.value.subarray(1);
  for (let i = 0; i < bytes.length * 8; i++) {
    if (bytes[i >> 3]! & (0x80 >> (i & 7))) bits.add(i);
  }
  return bits;
}

function looksLikePem(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  return head.trimStart().startsWith("-----BEGIN");
}

/**
 * Parses one certificate from DER bytes or PEM (text, or bytes holding PEM text).
 *
 * @example
 * ```ts
 * import { parseCertificate } from "./mod.ts";
 *
 * function subjectOf(pem: string): string {
 *   return parseCertificate(pem, "certificate").subject;
 * }
 * ```
 *
 * @param field names the certificate in errors, e.g. `vcek` or `pckChain[0]`
 * @throws {ParseError} naming `field` when it is not exactly one well-formed certificate
 */
export function parseCertificate(input: Uint8Array | string, field: string): Certificate {
  if (typeof input === "string" || looksLikePem(input)) {
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    const blocks = decodePem(text, "CERTIFICATE", field);
    if (blocks.length !== 1) {
      throw new ParseError(field, `expected one certificate, found ${blocks.length}`);
    }
    return new Certificate(blocks[0]!.der, field);
  }
  return new Certificate(input, field);
}

/**
 * Parses every CERTIFICATE block of a PEM text (e.g. an issuer-chain header), in order. The
 * certificates are named `field[0]`, `field[1]`, ….
 *
 * @throws {ParseError} naming `field` when there is no certificate or one is malformed
 *
 * @example Parse an issuer chain from a PEM header value
 * ```ts
 * import { parseCertificates } from "./mod.ts";
 *
 * function chainSubjects(pem: string): string[] {
 *   return parseCertificates(pem, "TCB-Info-Issuer-Chain").map((c) => c.subject);
 * }
 * ```
 */
export function parseCertificates(pemText: string, field: string): Certificate[] {
  return decodePem(pemText, "CERTIFICATE", field).map((b, i) =>
    new Certificate(b.der, `${field}[${i}]`)
  );
}

/**
 * SHA-256 of the certificate's DER, lower-case hex.
 *
 * @example Pin a certificate by its SHA-256
 * ```ts
 * import { certificateFingerprint, parseCertificate } from "./mod.ts";
 *
 * async function isPinned(der: Uint8Array, pinned: string): Promise<boolean> {
 *   return (await certificateFingerprint(parseCertificate(der, "root"))) === pinned;
 * }
 * ```
 */
export function certificateFingerprint(cert: Certificate): Promise<string> {
  return cert.fingerprint();
}

/** Normalises a fingerprint written as hex with optional `:` separators to lower-case hex. */
export function normaliseFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(":", "").trim().toLowerCase();
}

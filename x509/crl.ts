/**
 * Certificate revocation lists (RFC 5280 §5): parsing that keeps the exact signed bytes,
 * verification against the issuing CA (signature, key usage, thisUpdate/nextUpdate at `now`),
 * and serial-number lookup.
 *
 * @module
 */
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { constantTimeEqual, decodePem, encodeHex, sha256 } from "../util/bytes/mod.ts";
import {
  type Certificate,
  ExtensionOid,
  KeyUsageBit,
  nameText,
  normaliseSerial,
  parseExtensionList,
  parseExtensions,
  serialHex,
  type SignedParts,
  type X509Extension,
} from "./certificate.ts";
import {
  children,
  type DerElement,
  expectTag,
  readSignedDer,
  readSingle,
  readSmallInteger,
  readTime,
  readUnsignedInteger,
  Tag,
} from "./der.ts";
import { verifySignedParts } from "./signature.ts";

/**
 * One revoked certificate listed in a CRL.
 *
 * @example When was a certificate revoked?
 * ```ts
 * import type { Crl, RevokedEntry } from "./mod.ts";
 *
 * function revokedAt(crl: Crl, serialHex: string): Date | undefined {
 *   const entry: RevokedEntry | undefined = crl.revoked.get(serialHex);
 *   return entry?.revocationDate;
 * }
 * ```
 */
export interface RevokedEntry {
  /** Serial number, normalised hex (see {@link normaliseSerial}). */
  readonly serialNumber: string;
  /** When it was revoked. */
  readonly revocationDate: Date;
  /** Entry extensions (reason code, …). */
  readonly extensions: readonly X509Extension[];
}

/** CRL extensions whose meaning contrast handles; other critical ones make a CRL unusable. */
const UNDERSTOOD_CRL_EXTENSIONS: ReadonlySet<string> = new Set([
  ExtensionOid.crlNumber,
  ExtensionOid.authorityKeyIdentifier,
]);

/** CRL entry extensions contrast understands. */
const UNDERSTOOD_ENTRY_EXTENSIONS: ReadonlySet<string> = new Set([ExtensionOid.crlReason]);

/**
 * A parsed certificate revocation list.
 *
 * @example How fresh is a CRL?
 * ```ts
 * import { Crl } from "./mod.ts";
 *
 * function nextUpdate(der: Uint8Array): Date | undefined {
 *   const crl = new Crl(der, "crl");
 *   console.log(crl.issuer, crl.thisUpdate, crl.revoked.size, "revoked");
 *   return crl.nextUpdate;
 * }
 * ```
 */
export class Crl implements SignedParts {
  /** The whole CRL, DER. */
  readonly der: Uint8Array;
  /** The exact signed bytes (`tbsCertList`). */
  readonly tbs: Uint8Array;
  /** Outer signature AlgorithmIdentifier. */
  readonly signatureAlgorithm: DerElement;
  /** Signed signature AlgorithmIdentifier. */
  readonly innerSignatureAlgorithm: DerElement;
  /** Signature value. */
  readonly signature: Uint8Array;
  /** Raw DER of the issuer Name. */
  readonly issuerDer: Uint8Array;
  /** Issue time. */
  readonly thisUpdate: Date;
  /** Time by which the next CRL will be issued; absent CRLs are rejected by {@link verifyCrl}. */
  readonly nextUpdate?: Date;
  /** Revoked certificates by normalised serial. */
  readonly revoked: ReadonlyMap<string, RevokedEntry>;
  /** CRL extensions. */
  readonly extensions: readonly X509Extension[];
  /**
   * The cRLNumber extension (RFC 5280 §5.2.3: grows with every CRL the issuer publishes), or
   * undefined when the CRL has none. What rollback checks compare first (see
   * `collateral/revocation_marks.ts`).
   */
  readonly crlNumber?: bigint;
  /** Field name this CRL was parsed as. */
  readonly field: string;
  #fingerprint?: Promise<string>;
  #fingerprintHex?: string;

  /** Use {@link parseCrl}. */
  constructor(der: Uint8Array, field: string) {
    this.der = der;
    this.field = field;
    const signed = readSignedDer(der, field, "CertificateList", "tbsCertList");
    const tbsEl = signed.tbs;
    this.tbs = tbsEl.raw;
    this.signatureAlgorithm = signed.signatureAlgorithm;
    this.signature = signed.signature;

    const tbs = children(tbsEl, `${field}.tbsCertList`);
    let i = 0;
    if (tbs[0]?.tag === Tag.integer) {
      const version = readSmallInteger(tbs[0], `${field}.version`);
      if (version !== 1) throw new ParseError(`${field}.version`, `unknown version ${version}`);
      i = 1;
    }
    const need = (name: string): DerElement => {
      const el = tbs[i++];
      if (!el) throw new ParseError(`${field}.${name}`, "missing from tbsCertList");
      return el;
    };
    this.innerSignatureAlgorithm = need("signature");
    const issuer = need("issuer");
    expectTag(issuer, Tag.sequence, `${field}.issuer`);
    this.issuerDer = issuer.raw;
    this.thisUpdate = readTime(need("thisUpdate"), `${field}.thisUpdate`);
    if (tbs[i]?.tag === Tag.utcTime || tbs[i]?.tag === Tag.generalizedTime) {
      this.nextUpdate = readTime(tbs[i++]!, `${field}.nextUpdate`);
    }
    const revoked = new Map<string, RevokedEntry>();
    if (tbs[i]?.tag === Tag.sequence) {
      const list = tbs[i++]!;
      for (const [n, entry] of children(list, `${field}.revokedCertificates`).entries()) {
        const f = `${field}.revokedCertificates[${n}]`;
        expectTag(entry, Tag.sequence, f);
        const e = children(entry, f);
        if (e.length < 2 || e.length > 3) throw new ParseError(f, "entry needs 2 or 3 elements");
        const serialNumber = serialHex(readUnsignedInteger(e[0]!, `${f}.userCertificate`));
        const revocationDate = readTime(e[1]!, `${f}.revocationDate`);
        const extensions = e[2] ? parseExtensionList(e[2], `${f}.crlEntryExtensions`) : [];
        revoked.set(serialNumber, { serialNumber, revocationDate, extensions });
      }
    }
    this.revoked = revoked;
    let extensions: X509Extension[] = [];
    if (tbs[i]?.tag === 0xa0) {
      extensions = parseExtensions(tbs[i++]!.value, `${field}.crlExtensions`);
    }
    this.extensions = extensions;
    const number = extensions.find((e) => e.oid === ExtensionOid.crlNumber);
    if (number !== undefined) this.crlNumber = readCrlNumber(number.value, field);
    if (i !== tbs.length) {
      throw new ParseError(`${field}.tbsCertList`, "unexpected trailing element");
    }
  }

  /** The issuer as a string, e.g. `CN=Intel SGX PCK Platform CA, O=Intel Corporation, …`. */
  get issuer(): string {
    return nameText(this.issuerDer);
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
}

/**
 * The value of a cRLNumber extension: a non-negative INTEGER of at most 20 octets (RFC 5280
 * §5.2.3).
 *
 * @throws {ParseError} naming `<field>.crlNumber` when it is anything else
 */
function readCrlNumber(extnValue: Uint8Array, field: string): bigint {
  const f = `${field}.crlNumber`;
  const bytes = readUnsignedInteger(readSingle(extnValue, Tag.integer, f), f);
  if (bytes.length > 20) throw new ParseError(f, `${bytes.length} octets, more than 20`);
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * Parses a CRL from DER bytes, or from PEM (`X509 CRL`) text or bytes.
 *
 * @throws {ParseError} naming `field` when it is not a well-formed CRL
 *
 * @example Parse a PEM CRL and look up a serial number
 * ```ts
 * import { parseCrl } from "./mod.ts";
 *
 * function revoked(pem: string, serialHex: string): boolean {
 *   return parseCrl(pem, "crl").revoked.has(serialHex);
 * }
 * ```
 */
export function parseCrl(input: Uint8Array | string, field: string): Crl {
  let der: Uint8Array;
  if (typeof input === "string") {
    der = decodePem(input, "X509 CRL", field)[0]!.der;
  } else if (new TextDecoder().decode(input.subarray(0, 32)).trimStart().startsWith("-----")) {
    der = decodePem(new TextDecoder().decode(input), "X509 CRL", field)[0]!.der;
  } else {
    der = input;
  }
  return new Crl(der, field);
}

/**
 * Checks that `crl` is a current CRL of `issuer`: issuer name matches the CA's subject, the CA may
 * sign CRLs (key usage, where present), the signature verifies with the CA's key, no unsupported
 * critical extension, and `thisUpdate ≤ now ≤ nextUpdate` (a CRL without nextUpdate is rejected).
 *
 * @throws {VerificationError} naming `field` and saying which check failed
 *
 * @example Check a CRL is current and signed by its CA
 * ```ts
 * import { type Certificate, parseCrl, verifyCrl } from "./mod.ts";
 *
 * async function currentCrl(der: Uint8Array, ca: Certificate) {
 *   const crl = parseCrl(der, "crl");
 *   await verifyCrl(crl, ca, new Date(), "crl"); // throws VerificationError
 *   return crl;
 * }
 * ```
 */
export async function verifyCrl(
  crl: Crl,
  issuer: Certificate,
  now: Date,
  field: string,
): Promise<void> {
  checkCrlExceptSignature(crl, issuer, now, field);
  await verifySignedParts(crl, issuer.publicKey, field, () => `"${issuer.subject}"`);
}

/**
 * Every check of {@link verifyCrl} except the signature: for callers that hold proof (a cache
 * entry) that this exact CRL's signature verified with this exact issuer key. Everything else
 * depends on `now` or is cheap, so it always runs.
 *
 * @throws {VerificationError} naming `field` and saying which check failed
 */
export function checkCrlExceptSignature(
  crl: Crl,
  issuer: Certificate,
  now: Date,
  field: string,
): void {
  if (!constantTimeEqual(crl.issuerDer, issuer.subjectDer)) {
    throw new VerificationError(
      `${field}.issuer`,
      `CRL issued by "${crl.issuer}", not by "${issuer.subject}"`,
    );
  }
  const usage = issuer.keyUsage;
  if (usage !== undefined && !usage.has(KeyUsageBit.cRLSign)) {
    throw new VerificationError(field, `"${issuer.subject}" lacks the cRLSign key usage`);
  }
  for (const ext of crl.extensions) {
    if (ext.critical && !UNDERSTOOD_CRL_EXTENSIONS.has(ext.oid)) {
      throw new VerificationError(`${field}.crlExtensions`, `unsupported critical ${ext.oid}`);
    }
  }
  for (const entry of crl.revoked.values()) {
    for (const ext of entry.extensions) {
      if (ext.critical && !UNDERSTOOD_ENTRY_EXTENSIONS.has(ext.oid)) {
        throw new VerificationError(
          `${field}.revokedCertificates`,
          `unsupported critical entry extension ${ext.oid} (serial ${entry.serialNumber})`,
        );
      }
    }
  }
  if (now < crl.thisUpdate) {
    throw new VerificationError(
      `${field}.thisUpdate`,
      `CRL issued ${crl.thisUpdate.toISOString()}, after now (${now.toISOString()})`,
    );
  }
  if (crl.nextUpdate === undefined) {
    throw new VerificationError(`${field}.nextUpdate`, "CRL has no nextUpdate: cannot be current");
  }
  if (now > crl.nextUpdate) {
    throw new VerificationError(
      `${field}.nextUpdate`,
      `CRL is stale: nextUpdate ${crl.nextUpdate.toISOString()} is before now (${now.toISOString()})`,
    );
  }
}

/** Whether `crl` lists the certificate with serial `serialHex` (any hex form, `:` allowed). */
export function isRevoked(crl: Crl, serialHex: string): boolean {
  return crl.revoked.has(normaliseSerial(serialHex));
}

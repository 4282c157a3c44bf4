/**
 * DER of a mesh leaf certificate, built directly with the project's one DER module
 * (`x509/der.ts`) from a template computed once per mesh CA: the parts every leaf shares
 * (version, signature algorithm, issuer name, the fixed extensions, the authority key identifier)
 * are encoded once; per leaf only serial, validity, subject, key, SANs, subject key identifier
 * and claims are encoded, and the certificate is signed once and never re-parsed. This replaces
 * `@peculiar/x509`'s generator on the Coordinator's hot path (its ASN.1 object model and the
 * re-parse of the finished certificate cost more CPU than the signature; issue 18).
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { SubjectAltName } from "../../manifest/sans.ts";
import { isIPv4 } from "../../manifest/sans.ts";
import { children, encodeElement, encodeOid, readSingle, Tag } from "../../x509/der.ts";

/** `[0] EXPLICIT Version v3`. */
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02);
/** AlgorithmIdentifier ecdsa-with-SHA384 (no parameters, RFC 5758). */
const ECDSA_WITH_SHA384 = encodeElement(Tag.sequence, encodeOid("1.2.840.10045.4.3.3"));
const TRUE = Uint8Array.of(Tag.boolean, 0x01, 0xff);

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return encodeElement(
    Tag.sequence,
    encodeOid(oid),
    ...(critical ? [TRUE] : []),
    encodeElement(Tag.octetString, value),
  );
}

/** basicConstraints (critical): not a CA. */
const LEAF_BASIC_CONSTRAINTS = extension("2.5.29.19", true, encodeElement(Tag.sequence));
/** keyUsage (critical): digitalSignature. */
const LEAF_KEY_USAGE = extension("2.5.29.15", true, Uint8Array.of(Tag.bitString, 2, 7, 0x80));
/** extKeyUsage: serverAuth, clientAuth. */
const LEAF_EXTENDED_KEY_USAGE = extension(
  "2.5.29.37",
  false,
  encodeElement(Tag.sequence, encodeOid("1.3.6.1.5.5.7.3.1"), encodeOid("1.3.6.1.5.5.7.3.2")),
);
const OID_COMMON_NAME = encodeOid("2.5.4.3");
const utf8 = new TextEncoder();

/** What every leaf of one mesh CA shares, encoded once. */
export interface LeafTemplate {
  /** DER of the issuer Name (the mesh CA's subject, byte for byte). */
  readonly issuer: Uint8Array;
  /** DER of the authority key identifier extension (the mesh key's identifier). */
  readonly authorityKeyIdentifier: Uint8Array;
}

/**
 * The template for leaves under `meshCaDer`: its subject (as issuer) and the DER of the authority
 * key identifier extension.
 *
 * @throws {ParseError} when `meshCaDer` is not a certificate
 */
export function leafTemplate(
  meshCaDer: Uint8Array,
  authorityKeyIdentifier: Uint8Array,
): LeafTemplate {
  const certificate = readSingle(meshCaDer, Tag.sequence, "meshCa");
  const tbs = children(certificate, "meshCa")[0]!;
  // version [0], serial, signature, issuer, validity, subject
  const subject = children(tbs, "meshCa.tbsCertificate")[5];
  if (subject?.tag !== Tag.sequence) throw new ParseError("meshCa.subject", "missing");
  return { issuer: subject.raw, authorityKeyIdentifier };
}

/** One leaf's own fields. */
interface LeafFields {
  /** Positive serial number bytes (first bit clear, not all zero). */
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject common name (stored as UTF8String). */
  readonly commonName: string;
  /** The pod's SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** The subject key identifier (SHA-1 of the public key bits, RFC 5280 4.2.1.2 method 1). */
  readonly subjectKeyIdentifier: Uint8Array;
  readonly sans: readonly SubjectAltName[];
  /** The attestation claims extension (OID and DER value), if any. */
  readonly claims?: { readonly oid: string; readonly value: Uint8Array };
}

/** DER of the TBSCertificate of a leaf. */
export function encodeLeafTbs(template: LeafTemplate, leaf: LeafFields): Uint8Array {
  const extensions = [
    LEAF_BASIC_CONSTRAINTS,
    LEAF_KEY_USAGE,
    LEAF_EXTENDED_KEY_USAGE,
    extension("2.5.29.17", false, encodeGeneralNames(leaf.sans)),
    extension("2.5.29.14", false, encodeElement(Tag.octetString, leaf.subjectKeyIdentifier)),
    template.authorityKeyIdentifier,
    ...(leaf.claims ? [extension(leaf.claims.oid, false, leaf.claims.value)] : []),
  ];
  return encodeElement(
    Tag.sequence,
    VERSION_V3,
    encodeElement(Tag.integer, leaf.serial),
    ECDSA_WITH_SHA384,
    template.issuer,
    encodeElement(Tag.sequence, encodeTime(leaf.notBefore), encodeTime(leaf.notAfter)),
    encodeName(leaf.commonName),
    leaf.spki,
    encodeElement(0xa3, encodeElement(Tag.sequence, ...extensions)),
  );
}

/** DER of the Certificate: `tbs`, ecdsa-with-SHA384, and the P1363 (r ‖ s) `signature`. */
export function encodeSignedCertificate(tbs: Uint8Array, signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const ecdsaSigValue = encodeElement(
    Tag.sequence,
    encodeUnsigned(signature.subarray(0, half)),
    encodeUnsigned(signature.subarray(half)),
  );
  return encodeElement(
    Tag.sequence,
    tbs,
    ECDSA_WITH_SHA384,
    encodeElement(Tag.bitString, Uint8Array.of(0), ecdsaSigValue),
  );
}

/** Minimal DER INTEGER of the unsigned big-endian `bytes`. */
function encodeUnsigned(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return trimmed[0]! & 0x80
    ? encodeElement(Tag.integer, Uint8Array.of(0), trimmed)
    : encodeElement(Tag.integer, trimmed);
}

function encodeName(commonName: string): Uint8Array {
  const attribute = encodeElement(
    Tag.sequence,
    OID_COMMON_NAME,
    encodeElement(Tag.utf8String, utf8.encode(commonName)),
  );
  return encodeElement(Tag.sequence, encodeElement(Tag.set, attribute));
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5); whole seconds. */
export function encodeTime(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? encodeElement(Tag.utcTime, utf8.encode(digits.slice(2)))
    : encodeElement(Tag.generalizedTime, utf8.encode(digits));
}

/** GeneralNames of the SANs: dNSName [2], uniformResourceIdentifier [6], iPAddress [7]. */
function encodeGeneralNames(sans: readonly SubjectAltName[]): Uint8Array {
  return encodeElement(
    Tag.sequence,
    ...sans.map((san) =>
      san.kind === "ip"
        ? encodeElement(0x87, ipAddressBytes(san.value))
        : encodeElement(san.kind === "uri" ? 0x86 : 0x82, utf8.encode(san.value))
    ),
  );
}

/**
 * The 4 or 16 address bytes of an IPv4 or IPv6 literal (RFC 4291 text forms, optional trailing
 * IPv4).
 *
 * @throws {ParseError} naming `sans` when `text` is not an IP literal
 */
export function ipAddressBytes(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split(".").map(Number));
  const invalid = () => new ParseError("sans", `not an IP address: ${JSON.stringify(text)}`);
  let groups = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) throw invalid();
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = text.slice(lastColon + 1);
    if (!isIPv4(v4)) throw invalid();
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    groups = text.slice(0, lastColon + 1);
    if (groups.endsWith(":") && !groups.endsWith("::")) groups = groups.slice(0, -1);
  }
  const halves = groups.split("::");
  if (halves.length > 2) throw invalid();
  const parse = (h: string) =>
    h === "" ? [] : h.split(":").map((g) => {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) throw invalid();
      return parseInt(g, 16);
    });
  const left = parse(halves[0]!);
  const right = [...(halves.length === 2 ? parse(halves[1]!) : []), ...tail];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw invalid();
  const words = [...left, ...new Array<number>(missing).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Ed25519 release keys in the PEM forms `openssl` writes: the private key as an unencrypted
 * PKCS#8 `PRIVATE KEY` (RFC 8410, `openssl genpkey -algorithm ed25519`), the public key as a
 * `PUBLIC KEY` (SubjectPublicKeyInfo, `openssl pkey -pubout`). Parsing is pure and fails closed
 * with a {@link ParseError} naming the file and what is wrong; no message holds key material.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import { concatBytes, decodeHex, decodePem, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { readElement, readOid } from "../../x509/der.ts";

/** id-Ed25519 (RFC 8410). */
const ED25519_OID = "1.3.101.112";

/** Names of the key algorithms a wrong key file is most likely to hold. */
const ALGORITHM_NAMES: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.1": "RSA",
  "1.2.840.10045.2.1": "EC",
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
  "1.3.101.113": "Ed448",
};

/** The SubjectPublicKeyInfo DER of an Ed25519 key, up to the 32 key bytes. */
const SPKI_PREFIX = decodeHex("302a300506032b6570032100", "SPKI_PREFIX");

/** The PKCS#8 (version 1) DER of an Ed25519 private key, up to the 32 seed bytes. */
const PKCS8_PREFIX = decodeHex("302e020100300506032b657004220420", "PKCS8_PREFIX");

/** An Ed25519 private key read from a PKCS#8 PEM file. */
export interface Ed25519PrivateKey {
  /** The key as PKCS#8 version 1 DER (what WebCrypto imports), whatever version the file had. */
  readonly pkcs8: Uint8Array;
  /** The public key the file also holds (PKCS#8 version 2), to check against the seed's. */
  readonly publicKey?: Uint8Array;
}

/** The one PEM block of `text`, or the reason there is none. */
function onePemBlock(text: string, field: string): { label: string; der: Uint8Array } {
  if (!text.includes("-----BEGIN ")) throw new ParseError(field, "not a PEM file (no BEGIN line)");
  if (/^Proc-Type:.*ENCRYPTED/m.test(text)) {
    throw new ParseError(field, "an encrypted PEM key (Proc-Type ENCRYPTED)");
  }
  let blocks;
  try {
    blocks = decodePem(text, undefined, field);
  } catch (cause) {
    throw new ParseError(field, "not a PEM file (no complete BEGIN/END block)", { cause });
  }
  if (blocks.length !== 1) {
    throw new ParseError(field, `${blocks.length} PEM blocks, expected exactly one key`);
  }
  return blocks[0]!;
}

/** The algorithm OID of an AlgorithmIdentifier's content; Ed25519 has no parameters. */
function ed25519Algorithm(content: Uint8Array, field: string): void {
  const oid = readElement(content, 0, `${field}.algorithm`);
  const id = readOid(oid, `${field}.algorithm`);
  if (id !== ED25519_OID) {
    const name = ALGORITHM_NAMES[id];
    throw new ParseError(
      field,
      `holds a key of algorithm ${name ? `${name} (${id})` : id}, not Ed25519 (${ED25519_OID})`,
    );
  }
  if (oid.end !== content.length) {
    throw new ParseError(`${field}.algorithm`, "Ed25519 takes no parameters (RFC 8410)");
  }
}

/**
 * The Ed25519 private key of `text`, an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
 * version 1 or 2) read from `file`.
 *
 * @throws {ParseError} naming `file` when it is not PEM, is encrypted, is not PKCS#8 (another
 *   label, or DER that is not a PrivateKeyInfo) or holds another algorithm's key
 *
 * @example Read the key `openssl genpkey -algorithm ed25519` writes
 * ```ts
 * import { parseEd25519PrivateKeyPem } from "./ed25519_pem.ts";
 *
 * const pem = "-----BEGIN PRIVATE KEY-----\n" +
 *   "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n" +
 *   "-----END PRIVATE KEY-----\n";
 * console.log(parseEd25519PrivateKeyPem(pem, "release.key.pem").pkcs8.length); // 48
 * ```
 */
export function parseEd25519PrivateKeyPem(text: string, file: string): Ed25519PrivateKey {
  const block = onePemBlock(text, file);
  if (block.label === "ENCRYPTED PRIVATE KEY") {
    throw new ParseError(file, "an encrypted PKCS#8 key (BEGIN ENCRYPTED PRIVATE KEY)");
  }
  if (block.label !== "PRIVATE KEY") {
    throw new ParseError(
      file,
      `a PEM block labelled ${block.label}, not a PKCS#8 private key (BEGIN PRIVATE KEY)`,
    );
  }
  const field = `${file}: PrivateKeyInfo`;
  const info = readElement(block.der, 0, field);
  if (info.tag !== 0x30 || info.end !== block.der.length) {
    throw new ParseError(field, "not one DER SEQUENCE");
  }
  const version = readElement(info.value, 0, `${field}.version`);
  if (version.tag !== 0x02 || version.value.length !== 1 || version.value[0]! > 1) {
    throw new ParseError(`${field}.version`, "not PKCS#8 version 1 or 2");
  }
  const algorithm = readElement(info.value, version.end, `${field}.privateKeyAlgorithm`);
  if (algorithm.tag !== 0x30) {
    throw new ParseError(`${field}.privateKeyAlgorithm`, "not an AlgorithmIdentifier");
  }
  ed25519Algorithm(algorithm.value, file);
  const privateKey = readElement(info.value, algorithm.end, `${field}.privateKey`);
  if (privateKey.tag !== 0x04) throw new ParseError(`${field}.privateKey`, "not an OCTET STRING");
  const seed = readElement(privateKey.value, 0, `${field}.privateKey`);
  if (
    seed.tag !== 0x04 || seed.value.length !== 32 || seed.end !== privateKey.value.length
  ) {
    throw new ParseError(`${field}.privateKey`, "not a 32-byte Ed25519 CurvePrivateKey");
  }
  let at = privateKey.end;
  let publicKey: Uint8Array | undefined;
  if (at < info.value.length && info.value[at] === 0xa0) {
    at = readElement(info.value, at, `${field}.attributes`).end;
  }
  if (at < info.value.length && info.value[at] === 0x81 && version.value[0] === 1) {
    const bits = readElement(info.value, at, `${field}.publicKey`);
    if (bits.value.length !== 33 || bits.value[0] !== 0) {
      throw new ParseError(`${field}.publicKey`, "not a 32-byte Ed25519 public key");
    }
    publicKey = bits.value.slice(1);
    at = bits.end;
  }
  if (at !== info.value.length) throw new ParseError(field, "unexpected data after the key");
  return { pkcs8: concatBytes(PKCS8_PREFIX, seed.value), publicKey };
}

/**
 * The 32 bytes of the Ed25519 public key of `text`, a `-----BEGIN PUBLIC KEY-----` PEM
 * (SubjectPublicKeyInfo, what `openssl pkey -pubout` writes) read from `file`.
 *
 * @throws {ParseError} naming `file` when it is not PEM, is a private key or another label, or
 *   holds another algorithm's key
 *
 * @example Read a published release key
 * ```ts
 * import { parseEd25519PublicKeyPem } from "./ed25519_pem.ts";
 *
 * const pem = "-----BEGIN PUBLIC KEY-----\n" +
 *   "MCowBQYDK2VwAyEAYjExud4owX5luQK34k9hY76bXZ17dO0H9eLadhV253o=\n" +
 *   "-----END PUBLIC KEY-----\n";
 * console.log(parseEd25519PublicKeyPem(pem, "release.pub.pem").length); // 32
 * ```
 */
export function parseEd25519PublicKeyPem(text: string, file: string): Uint8Array {
  const block = onePemBlock(text, file);
  if (block.label.endsWith("PRIVATE KEY")) {
    throw new ParseError(
      file,
      "a private key: give the public key (openssl pkey -in KEY -pubout -out release.pub.pem)",
    );
  }
  if (block.label !== "PUBLIC KEY") {
    throw new ParseError(file, `a PEM block labelled ${block.label}, not a PUBLIC KEY`);
  }
  const field = `${file}: SubjectPublicKeyInfo`;
  const info = readElement(block.der, 0, field);
  if (info.tag !== 0x30 || info.end !== block.der.length) {
    throw new ParseError(field, "not one DER SEQUENCE");
  }
  const algorithm = readElement(info.value, 0, `${field}.algorithm`);
  if (algorithm.tag !== 0x30) {
    throw new ParseError(`${field}.algorithm`, "not an AlgorithmIdentifier");
  }
  ed25519Algorithm(algorithm.value, file);
  const bits = readElement(info.value, algorithm.end, `${field}.subjectPublicKey`);
  if (
    bits.tag !== 0x03 || bits.value.length !== 33 || bits.value[0] !== 0 ||
    bits.end !== info.value.length
  ) {
    throw new ParseError(`${field}.subjectPublicKey`, "not a 32-byte Ed25519 public key");
  }
  return bits.value.slice(1);
}

/**
 * The fingerprint of an Ed25519 public key: the hex SHA-256 of its SubjectPublicKeyInfo DER,
 * what `openssl pkey -pubin -in release.pub.pem -outform DER | sha256sum` prints.
 *
 * @example Name the key a release is signed with
 * ```ts
 * import { publicKeyFingerprint } from "./ed25519_pem.ts";
 *
 * console.log((await publicKeyFingerprint(new Uint8Array(32))).length); // 64
 * ```
 */
export async function publicKeyFingerprint(publicKey: Uint8Array): Promise<string> {
  return encodeHex(await sha256(concatBytes(SPKI_PREFIX, publicKey)));
}

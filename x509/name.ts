/**
 * Distinguished names as text for messages (`C=US, O=Intel Corporation, CN=…`): RDNs in their
 * encoded order joined by `", "`, multi-valued RDNs by `"+"`, well-known attribute types by their
 * short names, other types by dotted OID, string values escaped as in RFC 4514 and values of
 * other types as `#` and the hex of their DER. The same text `@peculiar/x509`'s `Name` prints
 * (`tests/x509/name_test.ts` compares them), without loading that library.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { children, expectTag, readElement, readOid, Tag } from "./der.ts";

const SHORT_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "T",
  "2.5.4.42": "G",
  "2.5.4.43": "I",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "E",
};

/** Tags of the ASN.1 string types a name value may have, and how each is decoded. */
const STRING_DECODERS: ReadonlyMap<number, (bytes: Uint8Array) => string> = new Map([
  [Tag.utf8String, (b: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(b)],
  [Tag.printableString, latin1],
  [Tag.ia5String, latin1],
  [0x14, latin1], // TeletexString
  [0x1e, (b: Uint8Array) => new TextDecoder("utf-16be", { fatal: true }).decode(b)], // BMPString
  [0x1c, utf32be], // UniversalString
]);

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function utf32be(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    s += String.fromCodePoint(
      ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0,
    );
  }
  return s;
}

/** RFC 4514 escaping of an attribute value. */
function escapeValue(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, "\\$1")
    .replace(/^([ #])/, "\\$1")
    .replace(/( )$/, "\\$1")
    .replace(/[\r\n\t]/, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);
}

/**
 * The text of the DER-encoded `Name` in `der`.
 *
 * @throws {import("../util/errors/mod.ts").ParseError} when `der` is not a Name
 */
export function formatName(der: Uint8Array): string {
  const name = readElement(der, 0, "name");
  expectTag(name, Tag.sequence, "name");
  return children(name, "name").map((rdn, i) => {
    expectTag(rdn, Tag.set, `name[${i}]`);
    return children(rdn, `name[${i}]`).map((attribute, j) => {
      const field = `name[${i}][${j}]`;
      expectTag(attribute, Tag.sequence, field);
      const [type, value] = children(attribute, field);
      if (type === undefined || value === undefined) {
        throw new ParseError(field, "an attribute needs a type and a value");
      }
      const oid = readOid(type, `${field}.type`);
      const decode = STRING_DECODERS.get(value.tag);
      const text = decode ? escapeValue(decode(value.value)) : `#${encodeHex(value.raw)}`;
      return `${SHORT_NAMES[oid] ?? oid}=${text}`;
    }).join("+");
  }).join(", ");
}

import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import type { AttestationClaims } from "../../evidence/types.ts";
import {
  claimsExtensionOid,
  decodeClaimsExtension,
  encodeClaimsExtension,
  OID_SNP_CLAIMS,
  OID_TDX_CLAIMS,
} from "../../protocol/claims_extension.ts";
import { encodeElement, encodeSmallInteger, Tag } from "../../x509/der.ts";

const derSequence = (items: Uint8Array[]) => encodeElement(Tag.sequence, ...items);
const derUnsigned = (n: number) => encodeSmallInteger(n);
const derOctetString = (bytes: Uint8Array) => encodeElement(Tag.octetString, bytes);
const derUtf8 = (text: string) => encodeElement(Tag.utf8String, new TextEncoder().encode(text));

const CLAIMS: AttestationClaims = {
  platform: "tdx",
  reportData: new Uint8Array(64).fill(1),
  hostData: new Uint8Array(48).fill(2),
  measurement: new Uint8Array(48).fill(3),
  referenceValueIndex: 300,
  details: { b: "2", a: "1", "ü": "ß".repeat(200) },
};

function encodeWith(items: Uint8Array[]): Uint8Array {
  return derSequence(items);
}

function baseItems(): Uint8Array[] {
  return [
    derUnsigned(1),
    derOctetString(CLAIMS.hostData),
    derOctetString(CLAIMS.measurement),
    derOctetString(CLAIMS.reportData),
    derUnsigned(0),
    derSequence([]),
  ];
}

Deno.test("claims extension round-trips, details sorted by name, long lengths encoded", () => {
  const der = encodeClaimsExtension(CLAIMS);
  assert.deepEqual(decodeClaimsExtension(OID_TDX_CLAIMS, der), CLAIMS);
  assert.equal(claimsExtensionOid("snp"), OID_SNP_CLAIMS);
  assert.equal(claimsExtensionOid("tdx"), OID_TDX_CLAIMS);
  assert.equal(decodeClaimsExtension(OID_SNP_CLAIMS, der).platform, "snp");
});

Deno.test("rejects an unknown OID, a wrong version, trailing bytes and truncation", () => {
  const der = encodeClaimsExtension(CLAIMS);
  assert.throws(
    () => decodeClaimsExtension("1.2.3", der),
    (e) => e instanceof ParseError && e.field === "extension",
  );
  const v2 = baseItems();
  v2[0] = derUnsigned(2);
  assert.throws(
    () => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(v2)),
    (e) => e instanceof ParseError && e.field === "claims.version",
  );
  const trailing = new Uint8Array([...der, 0]);
  assert.throws(
    () => decodeClaimsExtension(OID_SNP_CLAIMS, trailing),
    (e) => e instanceof ParseError && /trailing/.test(e.message),
  );
  for (const cut of [1, 10, der.length - 1]) {
    assert.throws(() => decodeClaimsExtension(OID_SNP_CLAIMS, der.slice(0, cut)), ParseError);
  }
  const extra = [...baseItems(), derUnsigned(5)];
  assert.throws(
    () => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(extra)),
    (e) => e instanceof ParseError && /trailing/.test(e.message),
  );
});

Deno.test("rejects a wrong tag naming the field", () => {
  const items = baseItems();
  items[2] = derUtf8("not bytes");
  assert.throws(
    () => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(items)),
    (e) => e instanceof ParseError && e.field === "claims.ContrastAttestationClaims.measurement",
  );
});

Deno.test("rejects unsorted or duplicate detail names", () => {
  for (const pairs of [[["b", "1"], ["a", "2"]], [["a", "1"], ["a", "2"]]]) {
    const items = baseItems();
    items[5] = derSequence(pairs.map(([n, v]) => derSequence([derUtf8(n!), derUtf8(v!)])));
    assert.throws(
      () => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(items)),
      (e) => e instanceof ParseError && e.field === "claims.details",
    );
  }
});

Deno.test("rejects a negative or non-minimal index and details that are not UTF-8", () => {
  const negative = baseItems();
  negative[4] = encodeElement(Tag.integer, Uint8Array.of(0xff));
  assert.throws(
    () => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(negative)),
    (e) =>
      e instanceof ParseError && e.field === "claims.ContrastAttestationClaims.referenceValueIndex",
  );
  const padded = baseItems();
  padded[4] = encodeElement(Tag.integer, Uint8Array.of(0, 1));
  assert.throws(() => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(padded)), /shortest/);
  const notUtf8 = baseItems();
  notUtf8[5] = derSequence([
    derSequence([encodeElement(Tag.utf8String, Uint8Array.of(0xff)), derUtf8("v")]),
  ]);
  assert.throws(
    () => decodeClaimsExtension(OID_SNP_CLAIMS, encodeWith(notUtf8)),
    (e) => e instanceof ParseError && /UTF-8/.test(e.message),
  );
  assert.throws(
    () => encodeClaimsExtension({ ...CLAIMS, referenceValueIndex: -1 }),
    (e) => e instanceof ParseError && e.field === "referenceValueIndex",
  );
});

/** The claims extension as nested `encodeElement` calls: the encoding before the one-array writer. */
function nestedEncoding(claims: AttestationClaims): Uint8Array {
  const names = Object.keys(claims.details).sort();
  return derSequence([
    derUnsigned(1),
    derOctetString(claims.hostData),
    derOctetString(claims.measurement),
    derOctetString(claims.reportData),
    derUnsigned(claims.referenceValueIndex),
    derSequence(names.map((n) => derSequence([derUtf8(n), derUtf8(claims.details[n]!)]))),
  ]);
}

Deno.test("claims extension: the one-array writer gives the nested encoding's bytes on random details", () => {
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  // ASCII, 2- and 3-byte UTF-8, surrogate pairs and lone surrogates (encoded as U+FFFD).
  const alphabet = [
    "a",
    "Z",
    "0",
    "=",
    " ",
    "ü",
    "ß",
    "€",
    "中",
    "😀",
    "\ud800",
    "\udfff",
    "\u0000",
  ];
  const text = (max: number) =>
    Array.from({ length: next(max) }, () => alphabet[next(alphabet.length)]).join("");
  for (let round = 0; round < 300; round++) {
    const details: Record<string, string> = {};
    const count = next(20);
    // Lengths around the DER length-field boundaries (127/128, 255/256 bytes) come up too.
    for (let i = 0; i < count; i++) details[`${text(6)}${i}`] = text(round % 3 === 0 ? 200 : 40);
    const claims: AttestationClaims = {
      platform: round % 2 ? "snp" : "tdx",
      reportData: new Uint8Array(64).fill(round & 0xff),
      hostData: new Uint8Array(round % 2 ? 32 : 48).fill(7),
      measurement: new Uint8Array(48).fill(9),
      referenceValueIndex: next(100_000),
      details,
    };
    assert.deepEqual(encodeClaimsExtension(claims), nestedEncoding(claims));
  }
});

import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import type { AttestationClaims } from "../../../evidence/types.ts";
import {
  claimsExtensionOid,
  decodeClaimsExtension,
  encodeClaimsExtension,
  OID_SNP_CLAIMS,
  OID_TDX_CLAIMS,
} from "../../../coordinator/ca/claims_extension.ts";
import {
  derOctetString,
  DerReader,
  derSequence,
  derUnsigned,
  derUtf8,
} from "../../../coordinator/ca/der.ts";

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

Deno.test("DER reader rejects non-minimal lengths and integers, negative integers and bad UTF-8", () => {
  // 0x81 0x05: long form for a length < 128.
  assert.throws(
    () => new DerReader(new Uint8Array([0x04, 0x81, 0x05, 1, 2, 3, 4, 5]), "t").octetString("x"),
    /non-minimal length/,
  );
  assert.throws(
    () => new DerReader(new Uint8Array([0x02, 0x02, 0x00, 0x01]), "t").unsigned("x"),
    /non-minimal integer/,
  );
  assert.throws(
    () => new DerReader(new Uint8Array([0x02, 0x01, 0xff]), "t").unsigned("x"),
    /not non-negative/,
  );
  assert.throws(
    () => new DerReader(new Uint8Array([0x02, 0x00]), "t").unsigned("x"),
    /not non-negative/,
  );
  assert.throws(
    () => new DerReader(new Uint8Array([0x0c, 0x01, 0xff]), "t").utf8("x"),
    (e) => e instanceof ParseError && /UTF-8/.test(e.message),
  );
  assert.throws(
    () => new DerReader(new Uint8Array([0x04, 0x85, 1, 1, 1, 1, 1]), "t").octetString("x"),
    /bad length/,
  );
  assert.equal(new DerReader(derUnsigned(128), "t").unsigned("x"), 128);
  assert.equal(new DerReader(derUnsigned(0), "t").unsigned("x"), 0);
  assert.throws(() => derUnsigned(-1), ParseError);
});

import { strict as assert } from "node:assert";
import { decodeHex, encodeHex } from "../../../util/bytes/mod.ts";
import { ValidationError } from "../../../util/errors/mod.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import type { TdxReferenceValue } from "../../../tdx/reference_values.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";
import {
  checkDefaultTdAttributes,
  TD_ATTRIBUTE_BITS,
} from "../../../tdx/validate/td_attributes.ts";
import { validateTdxQuote } from "../../../tdx/validate/validate_quote.ts";
import { verifyTdxQuote } from "../../../tdx/verify/verify_quote.ts";
import { conformanceTest, readConformance, readConformanceManifest } from "../../conformance.ts";

const FIELD = "ReferenceValues.tdx[0].TdAttributes";

/** 8 little-endian bytes with the given bits set. */
function attributes(...bits: number[]): Uint8Array {
  const out = new Uint8Array(8);
  for (const bit of bits) out[bit >> 3]! |= 1 << (bit & 7);
  return out;
}

function rejects(attrs: Uint8Array, reason: RegExp): void {
  assert.throws(
    () => checkDefaultTdAttributes(attrs, FIELD),
    (e: unknown) =>
      e instanceof ValidationError && e.field === FIELD && reason.test(e.message) &&
      e.actual === encodeHex(attrs),
  );
}

const SEPT = TD_ATTRIBUTE_BITS.SEPT_VE_DISABLE;

Deno.test("bit positions follow Intel's TDX module ABI (quote byte order, little-endian)", () => {
  assert.equal(TD_ATTRIBUTE_BITS.DEBUG, 0);
  assert.equal(TD_ATTRIBUTE_BITS.SEPT_VE_DISABLE, 28);
  assert.equal(TD_ATTRIBUTE_BITS.MIGRATABLE, 29);
  assert.equal(TD_ATTRIBUTE_BITS.PKS, 30);
  assert.equal(TD_ATTRIBUTE_BITS.PERFMON, 63);
  // The real vectors' "0000001000000000" is SEPT_VE_DISABLE alone.
  assert.deepEqual(attributes(SEPT), decodeHex("0000001000000000"));
});

Deno.test("the default accepts SEPT_VE_DISABLE alone and with the benign feature bits", () => {
  checkDefaultTdAttributes(attributes(SEPT), FIELD);
  const b = TD_ATTRIBUTE_BITS;
  checkDefaultTdAttributes(attributes(SEPT, b.PKS, b.KL, b.LASS, b.PERFMON), FIELD);
});

Deno.test("rejects attributes without SEPT_VE_DISABLE (the host could inject #VE on EPT faults)", () => {
  rejects(attributes(), /SEPT_VE_DISABLE/);
  rejects(attributes(TD_ATTRIBUTE_BITS.PKS), /SEPT_VE_DISABLE/);
});

Deno.test("rejects DEBUG even with SEPT_VE_DISABLE set", () => {
  rejects(attributes(SEPT, TD_ATTRIBUTE_BITS.DEBUG), /DEBUG/);
});

Deno.test("rejects every other TD-under-debug bit (profiling the TD from outside)", () => {
  for (const bit of [1, 2, 3, 4, 5, 6, 7]) {
    rejects(attributes(SEPT, bit), new RegExp(`bit ${bit}\\b`));
  }
  rejects(attributes(SEPT, TD_ATTRIBUTE_BITS.PERF_PROF), /PERF_PROF/);
});

Deno.test("rejects a migratable TD (its state can be exported by a migration TD)", () => {
  rejects(attributes(SEPT, TD_ATTRIBUTE_BITS.MIGRATABLE), /MIGRATABLE/);
});

Deno.test("rejects ICSSD, TPA and reserved bits the default does not know to be safe", () => {
  rejects(attributes(SEPT, TD_ATTRIBUTE_BITS.ICSSD), /ICSSD/);
  rejects(attributes(SEPT, TD_ATTRIBUTE_BITS.TPA), /TPA/);
  for (const bit of [8, 20, 32, 45, 61]) {
    rejects(attributes(SEPT, bit), new RegExp(`bit ${bit}\\b`));
  }
});

Deno.test("rejects attributes that are not 8 bytes", () => {
  assert.throws(() => checkDefaultTdAttributes(new Uint8Array(7), FIELD), ValidationError);
});

const authority = await SimulatedTdxAuthority.generate();
const NOW = new Date();
const reportData = new Uint8Array(64).fill(9);
const collateral = await authority.collateral({ now: NOW });
const anchors = [await authority.rootFingerprint()];
const REF: TdxReferenceValue = {
  Platform: "Simulated-TDX",
  MrTd: new Uint8Array(48).fill(0x11),
  MinTCBEvaluationDataNumber: 0,
  AllowedTcbStatuses: ["UpToDate"],
  SimulatedRootSHA256: anchors[0],
};

async function verified(tdAttributes?: Uint8Array) {
  const quote = await authority.createQuote({
    reportData,
    ...(tdAttributes ? { tdAttributes } : {}),
  });
  return await verifyTdxQuote(quote, { now: NOW, trustAnchors: anchors, collateral });
}

Deno.test("the simulated authority's quotes set SEPT_VE_DISABLE and pass the default", async () => {
  const v = await verified();
  assert.deepEqual(v.quote.body.tdAttributes, attributes(SEPT));
  validateTdxQuote(v, REF, { reportData });
});

Deno.test("validateTdxQuote applies the default to an entry without TdAttributes, naming the path", async () => {
  const v = await verified(attributes());
  assert.throws(
    () => validateTdxQuote(v, REF, { reportData, path: "ReferenceValues.tdx[3]" }),
    (e: unknown) =>
      e instanceof ValidationError && e.field === "ReferenceValues.tdx[3].TdAttributes" &&
      /SEPT_VE_DISABLE/.test(e.message),
  );
  const migratable = await verified(attributes(SEPT, TD_ATTRIBUTE_BITS.MIGRATABLE));
  assert.throws(() => validateTdxQuote(migratable, REF, { reportData }), /MIGRATABLE/);
  // An entry that names the attributes exactly decides by equality instead.
  validateTdxQuote(v, { ...REF, TdAttributes: attributes() }, { reportData });
});

conformanceTest(
  "real vectors: the default accepts those with SEPT_VE_DISABLE and rejects v4-gotdx-spr-50806f, which does not set it",
  async () => {
    const manifest = await readConformanceManifest();
    const vectors = manifest.tdx as {
      name: string;
      expected: { td_attributes_decoded: { sept_ve_disable: number; debug: number } };
    }[];
    let rejected = 0;
    for (const v of vectors) {
      const body = parseTdxQuote(await readConformance(`tdx/${v.name}/quote.bin`)).body;
      const decoded = v.expected.td_attributes_decoded;
      if (decoded.sept_ve_disable === 1 && decoded.debug === 0) {
        checkDefaultTdAttributes(body.tdAttributes, FIELD);
      } else {
        rejected++;
        rejects(body.tdAttributes, /SEPT_VE_DISABLE/);
      }
    }
    // v4-gotdx-spr-50806f (TD attributes 0000004000000000: PKS only) is a real quote, yet the
    // default must refuse it: without SEPT_VE_DISABLE its host may inject #VE on EPT violations.
    const gotdx = vectors.find((v) => v.name === "v4-gotdx-spr-50806f");
    assert.equal(gotdx?.expected.td_attributes_decoded.sept_ve_disable, 0);
    assert.equal(rejected, 1);
  },
);

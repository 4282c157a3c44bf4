import { strict as assert } from "node:assert";
import { decodeHex } from "../../../util/bytes/mod.ts";
import { ValidationError } from "../../../util/errors/mod.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";
import { verifyTdxQuote } from "../../../tdx/verify/verify_quote.ts";
import {
  mrConfigIdForDigest,
  tdDebugEnabled,
  validateTdxQuote,
} from "../../../tdx/validate/validate_quote.ts";
import type { TdxReferenceValue } from "../../../tdx/reference_values.ts";

const authority = await SimulatedTdxAuthority.generate();
const NOW = new Date();
const reportData = new Uint8Array(64).fill(3);
const collateral = await authority.collateral({ now: NOW });
const anchors = [await authority.rootFingerprint()];

async function verified(options: Parameters<typeof authority.createQuote>[0]) {
  return await verifyTdxQuote(await authority.createQuote(options), {
    now: NOW,
    trustAnchors: anchors,
    collateral,
  });
}

const REF: TdxReferenceValue = {
  Platform: "Simulated-TDX",
  MrTd: new Uint8Array(48).fill(0x11),
  MinTCBEvaluationDataNumber: 0,
  AllowedTcbStatuses: ["UpToDate"],
  SimulatedRootSHA256: anchors[0],
};

Deno.test("MRCONFIGID of a SHA-256 initdata digest is the digest and 16 zero bytes", () => {
  const d = new Uint8Array(32).fill(0xab);
  const id = mrConfigIdForDigest(d);
  assert.equal(id.length, 48);
  assert.deepEqual(id.subarray(0, 32), d);
  assert.ok(id.subarray(32).every((b) => b === 0));
  assert.deepEqual(mrConfigIdForDigest(new Uint8Array(48).fill(1)), new Uint8Array(48).fill(1));
  assert.throws(() => mrConfigIdForDigest(new Uint8Array(20)), ValidationError);
});

Deno.test("accepts the policy hash in MRCONFIGID and rejects another, with expected and actual", async () => {
  const digest = new Uint8Array(32).fill(0x5a);
  const v = await verified({ reportData, mrConfigId: mrConfigIdForDigest(digest) });
  validateTdxQuote(v, REF, { reportData, mrConfigId: mrConfigIdForDigest(digest) });
  assert.throws(
    () =>
      validateTdxQuote(v, REF, { reportData, mrConfigId: mrConfigIdForDigest(new Uint8Array(32)) }),
    (e: unknown) =>
      e instanceof ValidationError && e.field === "quote.body.mrConfigId" &&
      e.actual === "5a".repeat(32) + "00".repeat(16),
  );
});

Deno.test("a debug TD passes only when the reference value names those attributes exactly", async () => {
  const debugAttributes = decodeHex("0100001000000000");
  assert.ok(tdDebugEnabled(debugAttributes));
  const v = await verified({ reportData, tdAttributes: debugAttributes });
  assert.throws(() => validateTdxQuote(v, REF, { reportData }), ValidationError);
  validateTdxQuote(v, { ...REF, TdAttributes: debugAttributes }, { reportData });
});

Deno.test("rejects expected report data that is not 64 bytes", async () => {
  const v = await verified({ reportData });
  assert.throws(
    () => validateTdxQuote(v, REF, { reportData: new Uint8Array(32) }),
    (e: unknown) => e instanceof ValidationError && e.field === "reportData",
  );
});

Deno.test("an allowed non-UpToDate status passes, a TcbNotSupported one does not by default", async () => {
  const outOfDate = await verifyTdxQuote(await authority.createQuote({ reportData }), {
    now: NOW,
    trustAnchors: anchors,
    collateral: await authority.collateral({ now: NOW, tcbStatus: "OutOfDate" }),
  });
  assert.throws(() => validateTdxQuote(outOfDate, REF, { reportData }), ValidationError);
  validateTdxQuote(outOfDate, { ...REF, AllowedTcbStatuses: ["UpToDate", "OutOfDate"] }, {
    reportData,
  });
  const unsupported = await verified({
    reportData,
    teeTcbSvn: Uint8Array.of(4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  });
  assert.equal(unsupported.tcb.status, "TcbNotSupported");
  assert.throws(
    () => validateTdxQuote(unsupported, REF, { reportData }),
    (e: unknown) => e instanceof ValidationError && /TcbNotSupported/.test(e.actual ?? ""),
  );
});

Deno.test("a Revoked TCB is refused even when the reference value lists Revoked", async () => {
  const revoked = await verifyTdxQuote(await authority.createQuote({ reportData }), {
    now: NOW,
    trustAnchors: anchors,
    collateral: await authority.collateral({ now: NOW, tcbStatus: "Revoked" }),
  });
  assert.equal(revoked.tcb.status, "Revoked");
  assert.throws(
    () =>
      validateTdxQuote(revoked, { ...REF, AllowedTcbStatuses: ["UpToDate", "Revoked"] }, {
        reportData,
      }),
    (e: unknown) => e instanceof ValidationError && /Revoked/.test(e.actual ?? ""),
  );
});

Deno.test("a TcbNotSupported quote is refused even when the reference value lists it", async () => {
  const unsupported = await verified({
    reportData,
    teeTcbSvn: Uint8Array.of(4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  });
  assert.equal(unsupported.tcb.status, "TcbNotSupported");
  assert.throws(
    () =>
      validateTdxQuote(unsupported, {
        ...REF,
        AllowedTcbStatuses: ["UpToDate", "TcbNotSupported"],
      }, { reportData }),
    (e: unknown) => e instanceof ValidationError && /TcbNotSupported/.test(e.actual ?? ""),
  );
});

Deno.test("Contrast's platform fields are checked against the PCK's SGX extension", async (t) => {
  const v = await verified({ reportData });
  // The simulated PCK is a Platform CA certificate: SGX type 1, a platform instance ID, and a
  // configuration saying dynamic platform and SMT enabled.
  const piid = v.pck.platformInstanceId!;
  assert.equal(v.pck.sgxType, 1);
  const rejects = (ref: Partial<TdxReferenceValue>, field: string, pck = v.pck) =>
    assert.throws(
      () => validateTdxQuote({ ...v, pck }, { ...REF, ...ref }, { reportData }),
      (e: unknown) => e instanceof ValidationError && e.field === `ReferenceValues.tdx.${field}`,
    );
  const accepts = (ref: Partial<TdxReferenceValue>, pck = v.pck) =>
    validateTdxQuote({ ...v, pck }, { ...REF, ...ref }, { reportData });

  await t.step("AllowedPIIDs: the PCK's platform instance ID must be listed", () => {
    accepts({ AllowedPIIDs: [new Uint8Array(16), piid] });
    rejects({ AllowedPIIDs: [new Uint8Array(16).fill(7)] }, "AllowedPIIDs");
    rejects({ AllowedPIIDs: [piid] }, "AllowedPIIDs", { ...v.pck, platformInstanceId: undefined });
    accepts({ AllowedPIIDs: [] }); // empty: any
  });
  await t.step("MemoryIntegrity: SGX type 2 (scalable with integrity) is required", () => {
    rejects({ MemoryIntegrity: true }, "MemoryIntegrity");
    rejects({ MemoryIntegrity: true }, "MemoryIntegrity", { ...v.pck, sgxType: 0 });
    accepts({ MemoryIntegrity: true }, { ...v.pck, sgxType: 2 });
    accepts({ MemoryIntegrity: false });
  });
  await t.step("SMTDisabled: the platform configuration must say SMT is off", () => {
    rejects({ SMTDisabled: true }, "SMTDisabled");
    rejects({ SMTDisabled: true }, "SMTDisabled", { ...v.pck, configuration: undefined });
    accepts({ SMTDisabled: true }, {
      ...v.pck,
      configuration: { ...v.pck.configuration, smtEnabled: false },
    });
  });
  await t.step("StaticPlatform: the platform configuration must say not dynamic", () => {
    rejects({ StaticPlatform: true }, "StaticPlatform");
    rejects({ StaticPlatform: true }, "StaticPlatform", { ...v.pck, configuration: undefined });
    accepts({ StaticPlatform: true }, {
      ...v.pck,
      configuration: { ...v.pck.configuration, dynamicPlatform: false },
    });
  });
});

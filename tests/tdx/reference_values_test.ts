import { strict as assert } from "node:assert";
import { IssueList } from "../../util/json/mod.ts";
import {
  defaultTdxReferenceValues,
  readTdxReferenceValue,
  readTdxReferenceValuesDocument,
} from "../../tdx/reference_values.ts";
import { InvalidDocumentError, ValidationError } from "../../util/errors/mod.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { AMD_ARK_SHA256, INTEL_SGX_ROOT_CA_SHA256 } from "../../evidence/vendor_roots.ts";
import { verifyTdxQuote } from "../../tdx/verify/verify_quote.ts";
import { validateTdxQuote } from "../../tdx/validate/validate_quote.ts";

const MRTD = "91".repeat(48);
const RTMRS = ["a0", "a1", "a2", "a3"].map((b) => b.repeat(48));

function read(value: unknown) {
  const issues = new IssueList();
  const ref = readTdxReferenceValue(value, "ReferenceValues.tdx[0]", issues);
  return { ref, issues: issues.issues };
}

Deno.test("reads a full TDX reference value with Contrast's field names", () => {
  const { ref, issues } = read({
    Platform: "Metal-QEMU-TDX",
    MrTd: MRTD,
    MrSeam: "5b".repeat(48),
    Rtmrs: ["00".repeat(48), "01".repeat(48), "02".repeat(48), "03".repeat(48)],
    Xfam: "e702060000000000",
    TdAttributes: "0000001000000000",
    MinTCBEvaluationDataNumber: 17,
    AllowedTcbStatuses: ["UpToDate", "SWHardeningNeeded"],
  });
  assert.deepEqual(issues, []);
  assert.equal(ref!.Rtmrs![3]![0], 3);
  assert.equal(ref!.MinTCBEvaluationDataNumber, 17);
  assert.deepEqual(ref!.AllowedTcbStatuses, ["UpToDate", "SWHardeningNeeded"]);
});

Deno.test("defaults to UpToDate only and evaluation number 0", () => {
  const { ref } = read({ Platform: "Metal-QEMU-TDX", MrTd: MRTD, Rtmrs: RTMRS });
  assert.deepEqual(ref!.AllowedTcbStatuses, ["UpToDate"]);
  assert.equal(ref!.MinTCBEvaluationDataNumber, 0);
});

Deno.test("rejects a simulated platform without its root fingerprint", () => {
  const { ref, issues } = read({ Platform: "Simulated-TDX", MrTd: MRTD });
  assert.equal(ref, undefined);
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].SimulatedRootSHA256");
});

Deno.test("rejects a simulated root fingerprint on a real platform", () => {
  const { ref, issues } = read({
    Platform: "Metal-QEMU-TDX",
    MrTd: MRTD,
    Rtmrs: RTMRS,
    SimulatedRootSHA256: "aa".repeat(32),
  });
  assert.equal(ref, undefined);
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].SimulatedRootSHA256");
});

Deno.test("refuses a simulated root that is a vendor's real root (Intel's or any AMD ARK)", () => {
  const vendorRoots = [
    [INTEL_SGX_ROOT_CA_SHA256.toUpperCase(), "Intel SGX Root CA"],
    ...Object.entries(AMD_ARK_SHA256).map(([product, sha]) => [sha, `AMD ARK-${product}`]),
  ];
  for (const [sha, name] of vendorRoots) {
    const { ref, issues } = read({
      Platform: "Simulated-TDX",
      MrTd: MRTD,
      SimulatedRootSHA256: sha,
    });
    assert.equal(ref, undefined, name);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].SimulatedRootSHA256");
    assert.match(
      issues[0]!.reason,
      new RegExp(`is the fingerprint of ${name}, a real vendor root`),
    );
  }
});

Deno.test("accepts a simulated platform that names its root", () => {
  const { ref } = read({
    Platform: "Simulated-TDX",
    MrTd: MRTD,
    SimulatedRootSHA256: "AA".repeat(32),
  });
  assert.equal(ref!.SimulatedRootSHA256, "aa".repeat(32));
});

Deno.test("reports every problem with its JSON path", () => {
  const { ref, issues } = read({
    Platform: "Metal-QEMU-TDX",
    MrTd: "00",
    Rtmrs: ["00".repeat(48)],
    AllowedTcbStatuses: ["Great"],
    Extra: 1,
  });
  assert.equal(ref, undefined);
  const paths = issues.map((i) => i.path);
  assert.ok(paths.includes("ReferenceValues.tdx[0].MrTd"));
  assert.ok(paths.includes("ReferenceValues.tdx[0].Rtmrs"));
  assert.ok(paths.includes("ReferenceValues.tdx[0].AllowedTcbStatuses[0]"));
  assert.ok(paths.includes("ReferenceValues.tdx[0].Extra"));
});

Deno.test("rejects a missing MrTd", () => {
  const { issues } = read({ Platform: "Metal-QEMU-TDX" });
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].MrTd");
});

Deno.test("rejects a misspelled simulated platform", () => {
  const { issues } = read({ Platform: "simulated-tdx", MrTd: MRTD, Rtmrs: RTMRS });
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].Platform");
});

Deno.test("rejects Revoked among the allowed TCB statuses", () => {
  const { ref, issues } = read({
    Platform: "Metal-QEMU-TDX",
    MrTd: MRTD,
    Rtmrs: RTMRS,
    AllowedTcbStatuses: ["UpToDate", "Revoked"],
  });
  assert.equal(ref, undefined);
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].AllowedTcbStatuses[1]");
  assert.match(issues[0]!.reason, /Revoked/);
});

Deno.test("rejects TcbNotSupported among the allowed TCB statuses", () => {
  const { ref, issues } = read({
    Platform: "Metal-QEMU-TDX",
    MrTd: MRTD,
    Rtmrs: RTMRS,
    AllowedTcbStatuses: ["TcbNotSupported"],
  });
  assert.equal(ref, undefined);
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].AllowedTcbStatuses[0]");
});

Deno.test("rejects a real-platform entry without Rtmrs: it would accept any kernel, initrd and command line", () => {
  const { ref, issues } = read({ Platform: "Metal-QEMU-TDX", MrTd: MRTD });
  assert.equal(ref, undefined);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.path, "ReferenceValues.tdx[0].Rtmrs");
  assert.match(issues[0]!.reason, /required/);
});

Deno.test("rejects a real-platform entry with Rtmrs null", () => {
  const { ref, issues } = read({ Platform: "Metal-QEMU-TDX", MrTd: MRTD, Rtmrs: null });
  assert.equal(ref, undefined);
  assert.ok(issues.some((i) => i.path === "ReferenceValues.tdx[0].Rtmrs"));
});

Deno.test("rejects a missing MrTd on a simulated platform too", () => {
  const { ref, issues } = read({ Platform: "Simulated-TDX", SimulatedRootSHA256: "aa".repeat(32) });
  assert.equal(ref, undefined);
  assert.deepEqual(issues.map((i) => i.path), ["ReferenceValues.tdx[0].MrTd"]);
});

Deno.test("a simulated entry may leave Rtmrs out (the simulated authority measures no real kernel)", () => {
  const { ref, issues } = read({
    Platform: "Simulated-TDX",
    MrTd: MRTD,
    SimulatedRootSHA256: "aa".repeat(32),
  });
  assert.deepEqual(issues, []);
  assert.equal(ref!.Rtmrs, undefined);
});

Deno.test("the default TDX reference values accept any MRTD but refuse a DEBUG TD and a TD without SEPT_VE_DISABLE", async () => {
  const authority = await SimulatedTdxAuthority.generate();
  const collateral = await authority.collateral({ now: new Date() });
  const reportData = new Uint8Array(64).fill(3);
  const [defaults] = defaultTdxReferenceValues();
  assert.equal(defaults!.MrTd, undefined);
  assert.deepEqual(defaults!.AllowedTcbStatuses, ["UpToDate"]);
  const check = async (bits: number[]) => {
    const tdAttributes = new Uint8Array(8);
    for (const bit of bits) tdAttributes[bit >> 3]! |= 1 << (bit & 7);
    const quote = await authority.createQuote({ reportData, tdAttributes, mrTd: randomMrTd() });
    const verified = await verifyTdxQuote(quote, {
      now: new Date(),
      trustAnchors: [await authority.rootFingerprint()],
      collateral,
    });
    return () => validateTdxQuote(verified, defaults!, { reportData });
  };
  (await check([28]))();
  assert.throws(
    await check([0, 28]),
    (e: unknown) => e instanceof ValidationError && /DEBUG/.test(e.message),
  );
  assert.throws(
    await check([]),
    (e: unknown) => e instanceof ValidationError && /SEPT_VE_DISABLE/.test(e.message),
  );
});

function randomMrTd(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(48));
}

Deno.test("a reference-values document may be a manifest, {tdx: [...]}, a list or one entry", () => {
  const entry = { Platform: "Metal-QEMU-TDX", MrTd: MRTD, Rtmrs: RTMRS };
  for (
    const document of [
      { ReferenceValues: { tdx: [entry] } },
      { tdx: [entry] },
      [entry],
      entry,
    ]
  ) {
    const refs = readTdxReferenceValuesDocument(document, new IssueList());
    assert.equal(refs.length, 1);
    assert.equal(refs[0]!.Platform, "Metal-QEMU-TDX");
  }
  assert.throws(
    () => readTdxReferenceValuesDocument({ tdx: [] }, new IssueList()),
    (e: unknown) => e instanceof InvalidDocumentError && e.issues[0]!.path === "tdx",
  );
  assert.throws(
    () => readTdxReferenceValuesDocument({ tdx: [{ Platform: "x" }] }, new IssueList()),
    (e: unknown) => e instanceof InvalidDocumentError && e.issues[0]!.path === "tdx[0].MrTd",
  );
});

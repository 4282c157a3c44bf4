import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { IssueList } from "../../util/json/mod.ts";
import {
  readSnpReferenceValue,
  readSnpReferenceValuesDocument,
} from "../../snp/reference_values.ts";
import { TEST_REFERENCE_VALUES } from "../policy/fixtures.ts";
import { AMD_ARK_SHA256, INTEL_SGX_ROOT_CA_SHA256 } from "../../evidence/vendor_roots.ts";

const PATH = "ReferenceValues.snp[0]";

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  // The shared fixture, with the fields these tests read back set to values of their own.
  return {
    ...TEST_REFERENCE_VALUES.snp[0],
    GuestPolicy: { SMT: true, ABIMajor: 1, ABIMinor: 55 },
    PlatformInfo: { SMTEnabled: true, AliasCheckComplete: true },
    TrustedIDKeyDigests: null,
    ...overrides,
  };
}

function read(value: unknown) {
  const issues = new IssueList();
  const result = readSnpReferenceValue(value, PATH, issues);
  return { result, issues: issues.issues.map((i) => `${i.path}: ${i.reason}`) };
}

Deno.test("reads a complete SNP reference value with Contrast's field names", () => {
  const { result, issues } = read(entry({ AllowedChipIDs: ["AA".repeat(64)], VMPL: 0 }));
  assert.deepEqual(issues, []);
  assert.equal(result!.ProductName, "Genoa");
  assert.equal(result!.TrustedMeasurement, "ab".repeat(48));
  assert.equal(result!.MinimumTCB.SNPVersion, 14);
  assert.equal(result!.GuestPolicy.SMT, true);
  assert.equal(result!.GuestPolicy.Debug, false);
  assert.equal(result!.GuestPolicy.ABIMinor, 55);
  assert.equal(result!.PlatformInfo!.AliasCheckComplete, true);
  assert.equal(result!.PlatformInfo!.TSMEEnabled, false);
  assert.deepEqual(result!.AllowedChipIDs, ["aa".repeat(64)]);
  assert.deepEqual(result!.TrustedIDKeyDigests, []);
  assert.equal(result!.VMPL, 0);
});

Deno.test("names the JSON path of an out-of-range TCB component", () => {
  const { result, issues } = read(entry({
    MinimumTCB: { BootloaderVersion: 7, TEEVersion: 0, SNPVersion: 300, MicrocodeVersion: 72 },
  }));
  assert.equal(result, undefined);
  assert.deepEqual(issues, [
    "ReferenceValues.snp[0].MinimumTCB.SNPVersion: expected an integer 0–255, got 300",
  ]);
});

Deno.test("reports every problem at once: unknown fields, bad hex, wrong product", () => {
  const { result, issues } = read(entry({
    ProductName: "Rome",
    TrustedMeasurement: "abc",
    Extra: 1,
    GuestPolicy: { Debug: "no", Unknown: true },
    AllowedChipIDs: ["00"],
  }));
  assert.equal(result, undefined);
  assert.deepEqual(
    issues.sort(),
    [
      'ReferenceValues.snp[0].ProductName: expected one of Milan, Genoa, Turin, got "Rome"',
      "ReferenceValues.snp[0].TrustedMeasurement: expected a hex string",
      "ReferenceValues.snp[0].GuestPolicy.Debug: expected a boolean, got string",
      "ReferenceValues.snp[0].GuestPolicy.Unknown: unknown field",
      "ReferenceValues.snp[0].AllowedChipIDs[0]: expected 64 bytes (128 hex digits), got 1 bytes",
      "ReferenceValues.snp[0].Extra: unknown field",
    ].sort(),
  );
});

Deno.test("requires the measurement and the minimum TCB", () => {
  const value = entry();
  delete value.TrustedMeasurement;
  delete value.MinimumTCB;
  const { issues } = read(value);
  assert.deepEqual(issues, [
    "ReferenceValues.snp[0].TrustedMeasurement: required field is missing",
    "ReferenceValues.snp[0].MinimumTCB: required field is missing",
  ]);
});

Deno.test("requires FMCVersion for Turin and rejects it for Milan and Genoa", () => {
  const turin = read(entry({ ProductName: "Turin" }));
  assert.deepEqual(turin.issues, [
    "ReferenceValues.snp[0].MinimumTCB.FMCVersion: required field is missing",
  ]);
  const genoa = read(entry({
    MinimumTCB: {
      BootloaderVersion: 7,
      TEEVersion: 0,
      SNPVersion: 14,
      MicrocodeVersion: 72,
      FMCVersion: 1,
    },
  }));
  assert.match(genoa.issues[0]!, /MinimumTCB\.FMCVersion: only Turin has an FMC/);
  const genoaNull = read(entry({
    MinimumTCB: {
      BootloaderVersion: 7,
      TEEVersion: 0,
      SNPVersion: 14,
      MicrocodeVersion: 72,
      FMCVersion: null,
    },
  }));
  assert.deepEqual(genoaNull.issues, []);
});

Deno.test("a simulated platform must name its root fingerprint", () => {
  const { result, issues } = read(entry({ Platform: "Simulated-SNP" }));
  assert.equal(result, undefined);
  assert.match(issues[0]!, /^ReferenceValues\.snp\[0\]\.SimulatedRootSHA256: required/);
  const ok = read(entry({ Platform: "Simulated-SNP", SimulatedRootSHA256: "CD".repeat(32) }));
  assert.deepEqual(ok.issues, []);
  assert.equal(ok.result!.SimulatedRootSHA256, "cd".repeat(32));
});

Deno.test("a simulated platform must not name a vendor's real root (any AMD ARK, Intel's)", () => {
  const vendorRoots = [
    ...Object.entries(AMD_ARK_SHA256).map(([product, sha]) => [sha, `AMD ARK-${product}`]),
    [INTEL_SGX_ROOT_CA_SHA256, "Intel SGX Root CA"],
  ];
  for (const [sha, name] of vendorRoots) {
    const { result, issues } = read(entry({ Platform: "Simulated-SNP", SimulatedRootSHA256: sha }));
    assert.equal(result, undefined, name);
    assert.equal(issues.length, 1);
    assert.match(
      issues[0]!,
      new RegExp(
        `^ReferenceValues\\.snp\\[0\\]\\.SimulatedRootSHA256: is the fingerprint of ${name}, a real vendor root`,
      ),
    );
  }
});

Deno.test("a real platform must not name a simulated root", () => {
  const { result, issues } = read(entry({ SimulatedRootSHA256: "cd".repeat(32) }));
  assert.equal(result, undefined);
  assert.match(issues[0]!, /SimulatedRootSHA256: only allowed for Platform "Simulated-SNP"/);
});

Deno.test("rejects a VMPL outside 0–3", () => {
  assert.deepEqual(read(entry({ VMPL: 4 })).issues, [
    "ReferenceValues.snp[0].VMPL: expected an integer 0–3, got 4",
  ]);
});

Deno.test("reads manifests, {snp: [...]} objects, arrays and single entries", () => {
  const forms = [
    { ReferenceValues: { snp: [entry()] } },
    { snp: [entry()] },
    [entry()],
    entry(),
  ];
  for (const form of forms) {
    assert.equal(readSnpReferenceValuesDocument(form, new IssueList()).length, 1);
  }
});

Deno.test("a reference-values document with problems throws them all with paths", () => {
  assert.throws(
    () =>
      readSnpReferenceValuesDocument(
        { ReferenceValues: { snp: [entry({ ProductName: 3 })] } },
        new IssueList(),
      ),
    (e: unknown) =>
      e instanceof InvalidDocumentError &&
      e.issues[0]!.path === "ReferenceValues.snp[0].ProductName",
  );
  assert.throws(
    () => readSnpReferenceValuesDocument({ snp: [] }, new IssueList()),
    InvalidDocumentError,
  );
});

Deno.test("an entry without VMPL requires VMPL 0 (contrast's guests), never any VMPL", () => {
  const { result, issues } = read(entry());
  assert.deepEqual(issues, []);
  assert.equal(result!.VMPL, 0);
  assert.equal(read(entry({ VMPL: 2 })).result!.VMPL, 2);
});

Deno.test("rejects a VMPL that is null or not an integer", () => {
  assert.deepEqual(read(entry({ VMPL: null })).issues, [
    "ReferenceValues.snp[0].VMPL: expected an integer 0–3, got null",
  ]);
  assert.equal(read(entry({ VMPL: "0" })).result, undefined);
});

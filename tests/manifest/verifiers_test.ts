import assert from "node:assert/strict";
import { decodeHex } from "../../util/bytes/mod.ts";
import { InvalidDocumentError, ValidationError, VerificationError } from "../../util/errors/mod.ts";
import { type Manifest, parseManifest } from "../../manifest/manifest.ts";
import { expectedHostData, matchPolicy } from "../../manifest/policy_match.ts";
import { ManifestVerifiers, verifyEvidenceAgainstManifest } from "../../manifest/verifiers.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import {
  StaticTdxCollateral,
  type TdxCollateralSource,
} from "../../tdx/verify/collateral_bundle.ts";
import { sharedAuthority } from "../snp/simulated_fixture.ts";

const COORDINATOR = "c0".repeat(32);
const WEB = "7e".repeat(32);
const NOW = new Date();
const REPORT_DATA = new Uint8Array(64).fill(0x5a);

const snpAuthority = await sharedAuthority("Milan");
const tdxAuthority = await SimulatedTdxAuthority.generate();
const tdxRoot = await tdxAuthority.rootFingerprint();
const MRTD = new Uint8Array(48).fill(0x77);
const MEASUREMENT = new Uint8Array(48).fill(0x33);
const snpRef = () =>
  JSON.parse(JSON.stringify(snpAuthority.referenceValue({ TrustedMeasurement: "33".repeat(48) })));

function manifestJson(referenceValues: Record<string, unknown>): Record<string, unknown> {
  return {
    Policies: {
      [COORDINATOR]: { SANs: ["coordinator"], WorkloadSecretID: "", Role: "coordinator" },
      [WEB]: { SANs: ["web"], WorkloadSecretID: "web", Role: "" },
    },
    ReferenceValues: referenceValues,
    WorkloadOwnerPubKeys: [],
    SeedshareOwnerPubKeys: [],
  };
}

function parse(value: unknown): Manifest {
  return parseManifest(new TextEncoder().encode(JSON.stringify(value)));
}

function rejectsAt(value: unknown, path: string) {
  assert.throws(
    () => parse(value),
    (e) => e instanceof InvalidDocumentError && e.issues.some((i) => i.path === path),
  );
}

const tdxRef = { Platform: "Simulated-TDX", MrTd: "77".repeat(48), SimulatedRootSHA256: tdxRoot };

const manifest = parse(manifestJson({ snp: [snpRef()], tdx: [tdxRef] }));
const untouchableTdx: TdxCollateralSource = {
  collateralFor: () => Promise.reject(new Error("Intel PCS must not be asked for simulated TDX")),
};
const deps = {
  tdxCollateral: untouchableTdx,
  simulatedTdxCollateral: new StaticTdxCollateral(await tdxAuthority.collateral({ now: NOW })),
};

Deno.test("parseManifest reads SNP and TDX entries with the platform readers", () => {
  assert.equal(manifest.ReferenceValues.snp.length, 1);
  assert.equal(manifest.ReferenceValues.snp[0]!.SimulatedRootSHA256, snpAuthority.rootFingerprint);
  assert.equal(manifest.ReferenceValues.tdx[0]!.Platform, "Simulated-TDX");
});

Deno.test("reference-value errors carry their full JSON path through parseManifest", () => {
  const rv = snpRef();
  rv.MinimumTCB.SNPVersion = 300;
  assert.throws(
    () => parse(manifestJson({ snp: [rv] })),
    (e) =>
      e instanceof InvalidDocumentError &&
      e.issues.some((i) =>
        i.path === "ReferenceValues.snp[0].MinimumTCB.SNPVersion" && /300/.test(i.reason)
      ),
  );
});

Deno.test("a simulated platform without SimulatedRootSHA256 is rejected, for SNP and TDX", () => {
  const snp = snpRef();
  delete snp.SimulatedRootSHA256;
  rejectsAt(manifestJson({ snp: [snp] }), "ReferenceValues.snp[0].SimulatedRootSHA256");
  const { SimulatedRootSHA256: _, ...tdx } = tdxRef;
  rejectsAt(manifestJson({ tdx: [tdx] }), "ReferenceValues.tdx[0].SimulatedRootSHA256");
});

Deno.test("genuine SNP evidence carrying a manifest policy digest verifies and names the policy", async () => {
  const { report, aux } = await snpAuthority.createReport({
    reportData: REPORT_DATA,
    measurement: MEASUREMENT,
    hostData: decodeHex(WEB),
  });
  const result = await verifyEvidenceAgainstManifest(
    manifest,
    { platform: "snp", report, aux },
    { reportData: REPORT_DATA, now: NOW },
    deps,
  );
  assert.equal(result.policy.digest, WEB);
  assert.equal(result.policy.entry.WorkloadSecretID, "web");
  assert.deepEqual(result.claims.hostData, decodeHex(WEB));
});

Deno.test("genuine SNP evidence with a HOST_DATA that is no manifest policy is rejected", async () => {
  const { report, aux } = await snpAuthority.createReport({
    reportData: REPORT_DATA,
    measurement: MEASUREMENT,
    hostData: new Uint8Array(32).fill(0x99),
  });
  await assert.rejects(
    verifyEvidenceAgainstManifest(manifest, { platform: "snp", report, aux }, {
      reportData: REPORT_DATA,
      now: NOW,
    }, deps),
    (e) => e instanceof ValidationError && e.field === "hostData",
  );
});

Deno.test("SNP evidence with a flipped signed byte is rejected before policy matching", async () => {
  const { report, aux } = await snpAuthority.createReport({
    reportData: REPORT_DATA,
    measurement: MEASUREMENT,
    hostData: decodeHex(WEB),
  });
  const tampered = report.slice();
  tampered[0xc0]! ^= 1; // inside HOST_DATA, covered by the signature
  await assert.rejects(
    verifyEvidenceAgainstManifest(manifest, { platform: "snp", report: tampered, aux }, {
      reportData: REPORT_DATA,
      now: NOW,
    }, deps),
    VerificationError,
  );
});

Deno.test("TDX evidence: MRCONFIGID = digest ‖ 16 zero bytes matches (simulated collateral, PCS untouched); nonzero tail is rejected", async () => {
  const verifiers = new ManifestVerifiers(deps).forManifest(manifest);
  assert.deepEqual(verifiers.platforms.sort(), ["snp", "tdx"]);
  const good = await tdxAuthority.createQuote({
    reportData: REPORT_DATA,
    mrTd: MRTD,
    mrConfigId: expectedHostData("tdx", decodeHex(COORDINATOR)),
  });
  const result = await verifiers.verify({ platform: "tdx", report: good }, {
    reportData: REPORT_DATA,
    now: NOW,
  });
  assert.equal(result.policy.digest, COORDINATOR);
  assert.equal(result.policy.entry.Role, "coordinator");
  const tail = expectedHostData("tdx", decodeHex(COORDINATOR));
  tail[47] = 1;
  const bad = await tdxAuthority.createQuote({
    reportData: REPORT_DATA,
    mrTd: MRTD,
    mrConfigId: tail,
  });
  await assert.rejects(
    verifiers.verify({ platform: "tdx", report: bad }, { reportData: REPORT_DATA, now: NOW }),
    (e) => e instanceof ValidationError && e.field === "hostData",
  );
});

Deno.test("evidence of a platform the manifest has no reference values for is rejected", async () => {
  const snpOnly = parse(manifestJson({ snp: [snpRef()] }));
  const quote = await tdxAuthority.createQuote({
    reportData: REPORT_DATA,
    mrTd: MRTD,
    mrConfigId: expectedHostData("tdx", decodeHex(WEB)),
  });
  await assert.rejects(
    verifyEvidenceAgainstManifest(snpOnly, { platform: "tdx", report: quote }, {
      reportData: REPORT_DATA,
      now: NOW,
    }, deps),
    (e) => e instanceof ValidationError && e.field === "ReferenceValues.tdx",
  );
});

Deno.test("matchPolicy: SNP needs 32 bytes equal to a digest, TDX 48 bytes with a zero tail", () => {
  const policies = { Policies: manifest.Policies };
  assert.equal(matchPolicy(policies, { platform: "snp", hostData: decodeHex(WEB) }).digest, WEB);
  assert.throws(
    () =>
      matchPolicy(policies, { platform: "snp", hostData: expectedHostData("tdx", decodeHex(WEB)) }),
    (e) => e instanceof ValidationError && e.field === "hostData" && /length/.test(e.message),
  );
  assert.throws(
    () => matchPolicy(policies, { platform: "tdx", hostData: decodeHex(WEB) }),
    (e) => e instanceof ValidationError && e.field === "hostData",
  );
  const flipped = decodeHex(WEB);
  flipped[31]! ^= 1;
  assert.throws(
    () => matchPolicy(policies, { platform: "snp", hostData: flipped }),
    (e) => e instanceof ValidationError && e.actual !== undefined,
  );
  assert.equal(
    matchPolicy(policies, {
      platform: "tdx",
      hostData: expectedHostData("tdx", decodeHex(COORDINATOR)),
    })
      .entry.Role,
    "coordinator",
  );
});

import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { ValidationError } from "../../util/errors/mod.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { verifyEvidenceAgainstManifest } from "../../manifest/verifiers.ts";
import { defaultSnpReferenceValues } from "../../snp/reference_values.ts";
import { StaticTdxCollateral } from "../../tdx/verify/collateral_bundle.ts";
import { readTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { conformanceFile, conformanceTest, readConformance } from "../conformance.ts";
import { readVectorFiles, snpVectors } from "../snp/vectors.ts";

/** SNP report offsets (AMD SEV-SNP ABI, table "ATTESTATION_REPORT structure"). */
const REPORT_DATA = { at: 0x50, length: 64 };
const MEASUREMENT = { at: 0x90, length: 48 };
const HOST_DATA = { at: 0xc0, length: 32 };

function slice(report: Uint8Array, f: { at: number; length: number }): Uint8Array {
  return report.slice(f.at, f.at + f.length);
}

function manifestFor(product: string, measurement: string, policies: string[], vmpl: number) {
  const base = defaultSnpReferenceValues().find((r) => r.ProductName === product)!;
  const json = {
    Policies: Object.fromEntries(
      policies.map((d, i) => [d, { SANs: ["coordinator"], Role: i === 0 ? "coordinator" : "" }]),
    ),
    ReferenceValues: {
      snp: [{ ...base, Platform: "Metal-QEMU-SNP", TrustedMeasurement: measurement, VMPL: vmpl }],
    },
  };
  return parseManifest(new TextEncoder().encode(JSON.stringify(json)));
}

conformanceTest(
  "real SNP evidence verifies against a manifest naming its HOST_DATA and measurement",
  async () => {
    for (const v of await snpVectors()) {
      if (v.name === "milan-v2-gosevguest-debug") continue;
      const files = await readVectorFiles(v);
      const hostData = encodeHex(slice(files.report, HOST_DATA));
      const measurement = encodeHex(slice(files.report, MEASUREMENT));
      const other = hostData === "ee".repeat(32) ? "dd".repeat(32) : "ee".repeat(32);
      const deps = {
        snp: {
          // The vectors ship no AMD CRL: skipped explicitly (the default requires it).
          requireRevocationCheck: false,
          certificates: {
            vek: files.vek,
            intermediate: new TextEncoder().encode(files.intermediatePem),
            ark: new TextEncoder().encode(files.arkPem),
          },
        },
      };
      const evidence = { platform: "snp" as const, report: files.report };
      const options = {
        reportData: slice(files.report, REPORT_DATA),
        now: new Date(v.suggested_fixed_now),
      };
      const result = await verifyEvidenceAgainstManifest(
        manifestFor(v.product, measurement, [other, hostData], v.expected.vmpl as number),
        evidence,
        options,
        deps,
      );
      assert.equal(result.policy.digest, hostData, v.name);
      assert.equal(result.policy.entry.Role, "", v.name);
      // The same genuine evidence, but its HOST_DATA is not a policy of this manifest.
      await assert.rejects(
        verifyEvidenceAgainstManifest(
          manifestFor(v.product, measurement, [other], v.expected.vmpl as number),
          evidence,
          options,
          deps,
        ),
        (e) => e instanceof ValidationError && e.field === "hostData",
        v.name,
      );
      // The manifest's measurement differs from the report's: rejected by the SNP verifier.
      await assert.rejects(
        verifyEvidenceAgainstManifest(
          manifestFor(v.product, "00".repeat(47) + "01", [hostData], v.expected.vmpl as number),
          evidence,
          options,
          deps,
        ),
        ValidationError,
        v.name,
      );
    }
  },
);

const TDX_DIR = "tdx/v4-phala-b0c06f-uptodate";
const TDX_NOW = new Date("2025-06-19T11:32:27Z");
const TDX_REPORT_DATA = decodeHex(
  "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
);
const TDX_REFERENCE = {
  Platform: "Metal-QEMU-TDX",
  MrTd:
    "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
  // The vector's RTMR0..3 (MANIFEST.json): a real-platform entry must name them.
  Rtmrs: [
    "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
    "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378",
    "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132",
    "00".repeat(48),
  ],
  MinTCBEvaluationDataNumber: 17,
};

function tdxManifest(policies: string[]) {
  const json = {
    Policies: Object.fromEntries(
      policies.map((d, i) => [d, { SANs: ["x"], Role: i === 0 ? "coordinator" : "" }]),
    ),
    ReferenceValues: { tdx: [TDX_REFERENCE] },
  };
  return parseManifest(new TextEncoder().encode(JSON.stringify(json)));
}

conformanceTest(
  "real TDX quote: MRCONFIGID (all zero) = digest 00…00 ‖ 16 zero bytes matches that policy only",
  async () => {
    const deps = {
      tdxCollateral: new StaticTdxCollateral(
        await readTdxCollateralDir(conformanceFile(TDX_DIR).pathname),
      ),
    };
    const evidence = {
      platform: "tdx" as const,
      report: await readConformance(`${TDX_DIR}/quote.bin`),
    };
    const options = { reportData: TDX_REPORT_DATA, now: TDX_NOW };
    const zero = "00".repeat(32);
    const result = await verifyEvidenceAgainstManifest(
      tdxManifest(["ab".repeat(32), zero]),
      evidence,
      options,
      deps,
    );
    assert.equal(result.policy.digest, zero);
    assert.equal(result.claims.hostData.length, 48);
    await assert.rejects(
      verifyEvidenceAgainstManifest(tdxManifest(["ab".repeat(32)]), evidence, options, deps),
      (e) => e instanceof ValidationError && e.field === "hostData",
    );
  },
);

import assert from "node:assert/strict";
import { UnavailableError } from "../../util/errors/mod.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { verifyEvidenceAgainstManifest } from "../../manifest/verifiers.ts";
import type { SnpCollateralSource } from "../../snp/kds/source.ts";
import { defaultSnpReferenceValues } from "../../snp/reference_values.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import { conformanceTest } from "../conformance.ts";
import { readVectorFiles, snpVectors } from "../snp/vectors.ts";

/** AMD KDS as an attacker who controls the network makes it look: unreachable. */
const unreachableKds: SnpCollateralSource = {
  vcek: () => Promise.reject(new UnavailableError("vcek", "KDS unreachable")),
  certChain: () => Promise.reject(new UnavailableError("certChain", "KDS unreachable")),
  crl: () => Promise.reject(new UnavailableError("crl", "KDS unreachable")),
};

async function genoaVector() {
  const vector = (await snpVectors()).find((v) => v.name === "genoa-v3-azure")!;
  const files = await readVectorFiles(vector);
  const report = files.report;
  const hostData = encodeHex(report.slice(0xc0, 0xe0));
  const base = defaultSnpReferenceValues().find((r) => r.ProductName === vector.product)!;
  const manifest = parseManifest(
    new TextEncoder().encode(JSON.stringify({
      Policies: { [hostData]: { SANs: ["coordinator"], Role: "coordinator" } },
      ReferenceValues: {
        snp: [{
          ...base,
          Platform: "Metal-QEMU-SNP",
          TrustedMeasurement: encodeHex(report.slice(0x90, 0xc0)),
        }],
      },
    })),
  );
  const certificates = {
    vek: files.vek,
    intermediate: new TextEncoder().encode(files.intermediatePem),
    ark: new TextEncoder().encode(files.arkPem),
  };
  return {
    manifest,
    certificates,
    evidence: { platform: "snp" as const, report },
    options: { reportData: report.slice(0x50, 0x90), now: new Date(vector.suggested_fixed_now) },
  };
}

conformanceTest(
  "with AMD KDS configured, real SNP evidence is refused when the AMD CRL cannot be had",
  async () => {
    const v = await genoaVector();
    await assert.rejects(
      verifyEvidenceAgainstManifest(v.manifest, v.evidence, v.options, {
        snpCollateral: unreachableKds,
        snp: { certificates: v.certificates },
      }),
      (e: unknown) => e instanceof UnavailableError && e.field === "crl",
    );
  },
);

conformanceTest(
  "skipping the AMD CRL is an explicit choice of the caller",
  async () => {
    const v = await genoaVector();
    const result = await verifyEvidenceAgainstManifest(v.manifest, v.evidence, v.options, {
      snpCollateral: unreachableKds,
      snp: { certificates: v.certificates, requireRevocationCheck: false },
    });
    assert.equal(result.policy.entry.Role, "coordinator");
  },
);

/**
 * `attestationCaveats`: what `contrast verify` says about verified evidence besides the match: a
 * simulated root (no real TEE) and a guest that permits debugging (the host reads its memory),
 * from claims the real SNP and TDX verifiers return.
 *
 * @module
 */
import assert from "node:assert/strict";
import { attestationCaveats } from "../../cli/attestation_caveats.ts";
import { runSnpEvidenceVerify } from "../../cli/commands/evidence_snp.ts";
import { readTdxReferenceValuesFile } from "../../cli/commands/evidence_tdx.ts";
import { AMD_ARK_SHA256 } from "../../evidence/vendor_roots.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { TdxEvidenceVerifier } from "../../tdx/verifier.ts";
import { collateralSourceForDir } from "../../tdx/pcs/collateral_dir.ts";
import { decodeHex } from "../../util/bytes/mod.ts";
import { conformanceTest } from "../conformance.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { sharedAuthority } from "../snp/simulated_fixture.ts";
import { vectorPath } from "../snp/vectors.ts";
import { simulatedSnpReference } from "../helpers/simulated_snp_reference.ts";

const quiet = { out: () => {} };

Deno.test("caveats of simulated SNP evidence: the named root, DEBUG as the policy has it", () =>
  withTempDir(async (dir) => {
    const authority = await sharedAuthority("Milan");
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      JSON.stringify([
        simulatedSnpReference("Milan", authority.rootFingerprint, { SMT: true, Debug: true }),
      ]),
    );
    for (const debug of [false, true]) {
      const { report, aux } = await authority.createReport({ policy: { smt: true, debug } });
      await Deno.writeFile(`${dir}/report.bin`, report);
      await Deno.writeFile(`${dir}/aux.bin`, aux);
      const verified = await runSnpEvidenceVerify({
        report: `${dir}/report.bin`,
        aux: `${dir}/aux.bin`,
        referenceValues: `${dir}/rv.json`,
        offline: true,
        now: "2026-06-01T00:00:00Z",
      }, quiet);
      assert.deepEqual(attestationCaveats(verified.claims), {
        rootSha256: authority.rootFingerprint,
        simulatedRoot: true,
        debug,
      });
    }
  }));

conformanceTest("caveats of a real SNP report: AMD's root, no DEBUG", async () => {
  const verified = await runSnpEvidenceVerify({
    report: vectorPath("milan-v2-virtee", "report.bin"),
    vcek: vectorPath("milan-v2-virtee", "vcek.der"),
    ask: vectorPath("milan-v2-virtee", "ask.pem"),
    ark: vectorPath("milan-v2-virtee", "ark.pem"),
    offline: true,
    skipRevocation: true,
    now: "2023-04-04T19:23:43Z",
  }, quiet);
  assert.deepEqual(attestationCaveats(verified.claims), {
    rootSha256: AMD_ARK_SHA256.Milan,
    simulatedRoot: false,
    debug: false,
  });
});

Deno.test("caveats of simulated TDX evidence: the named root, TD_ATTRIBUTES.DEBUG", () =>
  withTempDir(async (dir) => {
    const authority = await SimulatedTdxAuthority.generate();
    await authority.writeCollateralDir(`${dir}/c`);
    const root = await authority.rootFingerprint();
    const reportData = new Uint8Array(64).fill(3);
    // SEPT_VE_DISABLE, with and without DEBUG (bit 0); the reference value names them exactly.
    for (
      const [attributes, debug] of [["0000001000000000", false], [
        "0100001000000000",
        true,
      ]] as const
    ) {
      await Deno.writeTextFile(
        `${dir}/rv.json`,
        JSON.stringify([{
          Platform: "Simulated-TDX",
          MrTd: "11".repeat(48),
          TdAttributes: attributes,
          SimulatedRootSHA256: root,
        }]),
      );
      const verifier = new TdxEvidenceVerifier({
        referenceValues: await readTdxReferenceValuesFile(`${dir}/rv.json`),
        collateral: await collateralSourceForDir(`${dir}/c`),
      });
      const quote = await authority.createQuote({
        reportData,
        tdAttributes: decodeHex(attributes),
      });
      const claims = await verifier.verify({ platform: "tdx", report: quote }, {
        reportData,
        now: new Date(),
      });
      assert.deepEqual(attestationCaveats(claims), {
        rootSha256: root,
        simulatedRoot: true,
        debug,
      });
    }
  }));

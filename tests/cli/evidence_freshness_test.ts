/**
 * `contrast evidence verify` without `--report-data` checks no freshness: any old report or quote
 * of a genuine, matching guest, replayed, passes. The verdict must say so, in text and JSON, so
 * an auditor does not take exit 0 for "this evidence is fresh".
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { runSnpEvidenceVerify } from "../../cli/commands/evidence_snp.ts";
import { runTdxEvidenceVerify } from "../../cli/commands/evidence_tdx.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { sharedAuthority } from "../snp/simulated_fixture.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { simulatedTdxReference } from "../helpers/simulated_tdx_reference.ts";
import { simulatedSnpReference } from "../helpers/simulated_snp_reference.ts";

Deno.test("evidence verify (SNP) says whether report data and host data were checked", () =>
  withTempDir(async (dir) => {
    const authority = await sharedAuthority("Milan");
    const reportData = new Uint8Array(64).fill(7);
    const { report, aux } = await authority.createReport({ reportData });
    await Deno.writeFile(`${dir}/report.bin`, report);
    await Deno.writeFile(`${dir}/aux.bin`, aux);
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      JSON.stringify([simulatedSnpReference("Milan", authority.rootFingerprint)]),
    );
    const run = async (extra: { reportData?: string; json?: boolean }) => {
      const lines: string[] = [];
      await runSnpEvidenceVerify({
        report: `${dir}/report.bin`,
        aux: `${dir}/aux.bin`,
        referenceValues: `${dir}/rv.json`,
        offline: true,
        now: "2026-06-01T00:00:00Z",
        ...extra,
      }, { out: (line) => lines.push(line) });
      return lines.join("\n");
    };
    const unchecked = JSON.parse(await run({ json: true }));
    assert.equal(unchecked.ok, true);
    assert.equal(unchecked.result.reportDataChecked, false);
    assert.equal(unchecked.result.hostDataChecked, false);
    assert.match(await run({}), /report data .*NOT checked: no --report-data/);

    const checked = JSON.parse(await run({ json: true, reportData: encodeHex(reportData) }));
    assert.equal(checked.result.reportDataChecked, true);
    const text = await run({ reportData: encodeHex(reportData) });
    assert.match(text, /report data .*\(matches --report-data\)/);
    assert.doesNotMatch(text, /NOT checked: no --report-data/);
  }));

Deno.test("evidence verify (TDX) says in text whether report data was checked", () =>
  withTempDir(async (dir) => {
    const authority = await SimulatedTdxAuthority.generate();
    const reportData = new Uint8Array(64).fill(5);
    await Deno.writeFile(`${dir}/q.bin`, await authority.createQuote({ reportData }));
    await authority.writeCollateralDir(`${dir}/c`);
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      JSON.stringify([await simulatedTdxReference(authority)]),
    );
    const options = {
      quote: `${dir}/q.bin`,
      collateralDir: `${dir}/c`,
      referenceValues: `${dir}/rv.json`,
    };
    const unchecked = await runTdxEvidenceVerify(options);
    assert.equal(unchecked.exitCode, ExitCode.Ok, unchecked.stderr);
    assert.match(unchecked.stdout, /report data: NOT checked \(no --report-data\)/);
    const json = await runTdxEvidenceVerify({ ...options, json: true });
    assert.equal(JSON.parse(json.stdout).result.reportDataChecked, false);
    const checked = await runTdxEvidenceVerify({ ...options, reportData: encodeHex(reportData) });
    assert.equal(checked.exitCode, ExitCode.Ok, checked.stderr);
    assert.match(checked.stdout, /report data: matches --report-data/);
  }));

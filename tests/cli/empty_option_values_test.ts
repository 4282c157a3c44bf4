/**
 * An empty option value (`--report-data=`, or `--report-data "$NONCE"` with `NONCE` unset) is a
 * usage error (exit 2) naming the option, never a silently skipped check or a silently used
 * default: in `evidence verify` for both platforms (the plain and the commander path) and for
 * every other command through the program's option check.
 */
import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { refuseEmptyOptionValues } from "../../cli/options.ts";
import { runTdxEvidenceVerify } from "../../cli/commands/evidence_tdx.ts";
import { runSnpEvidenceVerify } from "../../cli/commands/evidence_snp.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { runContrast } from "../helpers/contrast_cli.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { simulatedTdxReference } from "../helpers/simulated_tdx_reference.ts";

Deno.test("refuseEmptyOptionValues names the option of an empty or blank value, repeatable ones too", () => {
  refuseEmptyOptionValues({ reportData: "00", json: true, insecureRegistry: ["a:5000"], n: 0 });
  for (
    const [options, flag] of [
      [{ reportData: "" }, "--report-data"],
      [{ referenceValues: "  " }, "--reference-values"],
      [{ insecureRegistry: ["a:5000", ""] }, "--insecure-registry"],
    ] as const
  ) {
    assert.throws(
      () => refuseEmptyOptionValues(options),
      (e) => e instanceof ParseError && e.field === flag && /empty value/.test(e.message),
    );
  }
});

/** A simulated TDX quote carrying report data 05…05 and its collateral, in `dir`. */
async function simulatedQuote(dir: string): Promise<{ quote: string; collateralDir: string }> {
  const authority = await SimulatedTdxAuthority.generate();
  await Deno.writeFile(
    `${dir}/q.bin`,
    await authority.createQuote({ reportData: new Uint8Array(64).fill(5) }),
  );
  await authority.writeCollateralDir(`${dir}/c`);
  await Deno.writeTextFile(
    `${dir}/refs.json`,
    JSON.stringify([await simulatedTdxReference(authority)]),
  );
  return { quote: `${dir}/q.bin`, collateralDir: `${dir}/c` };
}

Deno.test("evidence verify --platform tdx refuses an empty --report-data, --reference-values, --allow-tcb-status", () =>
  withTempDir(async (dir) => {
    const simulated = await simulatedQuote(dir);
    const refs = `${dir}/refs.json`;
    // The quote verifies with the report data it carries: only the empty values below fail.
    const ok = await runTdxEvidenceVerify({
      ...simulated,
      referenceValues: refs,
      reportData: "05".repeat(64),
      json: true,
    });
    assert.equal(ok.exitCode, ExitCode.Ok, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).result.reportDataChecked, true);
    for (
      const [options, flag] of [
        [{ referenceValues: refs, reportData: "" }, "--report-data"],
        // Would have dropped to the built-in defaults and let --allow-tcb-status through.
        [{ referenceValues: "", allowTcbStatus: "UpToDate,OutOfDate" }, "--reference-values"],
        [{ referenceValues: refs, allowTcbStatus: "" }, "--allow-tcb-status"],
        [{ referenceValues: refs, collateralDir: "" }, "--collateral-dir"],
      ] as const
    ) {
      const r = await runTdxEvidenceVerify({ ...simulated, ...options, json: true });
      assert.equal(r.exitCode, ExitCode.BadInput, `${flag}: ${r.stdout}`);
      const out = JSON.parse(r.stdout);
      assert.equal(out.ok, false);
      assert.equal(out.outcome, "bad-input");
      assert.equal(out.error.field, flag);
      assert.match(r.stderr, new RegExp(`${flag}: empty value`));
    }
  }));

Deno.test("evidence verify --platform snp refuses empty option values before reading anything", async () => {
  for (const flag of ["reportData", "hostData", "referenceValues", "vcek", "aux"] as const) {
    const printed: string[] = [];
    await assert.rejects(
      runSnpEvidenceVerify({ report: "/nonexistent/report.bin", [flag]: "" }, {
        out: (line) => printed.push(line),
      }),
      (e) => e instanceof ParseError && e.field.startsWith("--") && /empty value/.test(e.message),
    );
    assert.deepEqual(printed, []);
  }
});

Deno.test("the CLI exits 2 on an empty option value, in the plain and the commander path", () =>
  withTempDir(async (dir) => {
    const simulated = await simulatedQuote(dir);
    const tdx = [
      "evidence",
      "verify",
      "--platform",
      "tdx",
      "--quote",
      simulated.quote,
      "--collateral-dir",
      simulated.collateralDir,
      "--reference-values",
      `${dir}/refs.json`,
      "--json",
    ];
    for (const empty of [["--report-data="], ["--report-data", ""]]) {
      const r = await runContrast(...tdx, ...empty);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(JSON.parse(r.stdout).error.field, "--report-data");
    }
    // A repeated option is left to commander (the last value counts): the program's check refuses.
    const commander = await runContrast(...tdx, "--report-data", "05".repeat(64), "--report-data=");
    assert.equal(commander.code, 2, commander.stdout + commander.stderr);
    assert.equal(JSON.parse(commander.stdout).error.field, "--report-data");
    // Every other command goes through commander and the same check.
    const runtime = await runContrast("runtime", "--platform", "Simulated-SNP", "--handler", "");
    assert.equal(runtime.code, 2, runtime.stdout + runtime.stderr);
    assert.match(runtime.stderr, /--handler: empty value/);
    assert.equal(runtime.stdout, "");
  }));

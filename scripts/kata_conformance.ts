/**
 * Prints the agreement of contrast's policies with Kata's genpolicy captures (real agent requests
 * with their expected verdicts, `../shared/conformance/kata-genpolicy`), lists every disagreement
 * with its explanation, and fails on an unexplained disagreement or a stale explanation (a case
 * generate refuses counts as denying all its requests). Skips, saying so, when the captures are absent.
 *
 * Usage: deno run -A scripts/kata_conformance.ts [--verbose]
 *
 * @module
 */
import { CompiledRules } from "../rego/evaluator.ts";
import { loadDefaultSettings } from "../policy/settings.ts";
import {
  agreement,
  CaptureImageResolver,
  CAPTURES_DIR,
  capturesAvailable,
  loadCaptureCases,
  loadDifferences,
  runConformance,
} from "../testing/kata_captures/captures.ts";

if (!capturesAvailable()) {
  console.log(`kata-genpolicy conformance: skipped, ${CAPTURES_DIR.pathname} not found`);
  Deno.exit(0);
}
const verbose = Deno.args.includes("--verbose");
const rulesText = await Deno.readTextFile(new URL("../rego/rules.rego", import.meta.url));
const report = await runConformance(
  await loadCaptureCases(),
  await CompiledRules.load(),
  rulesText,
  await loadDefaultSettings(),
  await CaptureImageResolver.load(),
  await loadDifferences(),
);
const a = agreement(report);
const pct = (n: number, d: number) => (d === 0 ? "n/a" : `${(100 * n / d).toFixed(1)}%`);
if (verbose) {
  for (const o of report.outcomes) {
    const mark = o.actual === o.expected ? "ok  " : "DIFF";
    console.log(
      `${mark} ${o.case} #${o.index} ${o.kind} expected=${o.expected} got=${o.actual}: ${o.description}`,
    );
    for (const m of o.mismatches ?? []) console.log(`       ${m.slice(0, 400)}`);
  }
}
for (const e of report.explained) {
  console.log(`explained  ${e.case}: ${e.description} (${e.why.category}: ${e.why.reason})`);
}
for (const u of report.unexplained) {
  console.log(
    `UNEXPLAINED ${u.case} #${u.index}: ${u.description} (expected ${
      u.expected ? "allow" : "deny"
    }, contrast ${u.actual ? "allows" : "denies"})`,
  );
}
for (const s of report.stale) console.log(`STALE explanation ${s.case}: ${s.description}`);
for (const f of report.generateFailures) console.log(`generate refused ${f.case}: ${f.reason}`);
console.log(
  `kata-genpolicy conformance: ${a.agreeing}/${a.requests} requests agree (${
    pct(a.agreeing, a.requests)
  }), ` +
    `${a.agreeingCases}/${a.cases} cases agree fully (${pct(a.agreeingCases, a.cases)}); ` +
    `${report.explained.length} explained, ${report.unexplained.length} unexplained differences`,
);
const failed = report.unexplained.length + report.stale.length;
Deno.exit(failed === 0 ? 0 : 1);

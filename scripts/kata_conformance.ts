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
  loadRecordedWith,
  runConformance,
} from "../testing/kata_captures/captures.ts";

if (!capturesAvailable()) {
  console.log(`kata-genpolicy conformance: skipped, ${CAPTURES_DIR.pathname} not found`);
  Deno.exit(0);
}
const verbose = Deno.args.includes("--verbose");
const rulesText = await Deno.readTextFile(new URL("../rego/rules.rego", import.meta.url));
const cases = await loadCaptureCases();
const compiled = await CompiledRules.load();
const defaults = await loadDefaultSettings();
const resolver = await CaptureImageResolver.load();
const report = await runConformance(
  cases,
  compiled,
  rulesText,
  defaults,
  resolver,
  await loadDifferences(),
  await loadRecordedWith(),
);
const a = agreement(report);
// For comparison: every case with contrast's default settings (guest pull, namespace default).
const withDefaults = agreement(
  await runConformance(cases, compiled, rulesText, defaults, resolver, []),
);
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
    `${report.explained.length} explained, ${report.unexplained.length} unexplained differences ` +
    `(each case generated with the settings it was recorded with, recorded_with.json; with ` +
    `contrast's defaults for every case: ${withDefaults.agreeing}/${withDefaults.requests}, ${
      pct(withDefaults.agreeing, withDefaults.requests)
    })`,
);
const failed = report.unexplained.length + report.stale.length;
Deno.exit(failed === 0 ? 0 : 1);

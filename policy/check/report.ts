/**
 * Rendering of check results: a text report for people and a JSON report for CI.
 *
 * @module
 */
import type { PodReport } from "./checker.ts";

/** A pod (or policy file) that could not be checked at all, and why. */
export interface Unchecked {
  readonly pod: string;
  readonly origin: string;
  readonly field: string;
  readonly reason: string;
}

/** The result of a whole `contrast policy check` run. */
export interface CheckRun {
  readonly pods: readonly PodReport[];
  /** Pods that could not be checked (no policy, other rules): each fails the run. */
  readonly unchecked: readonly Unchecked[];
  /** Whether mutants were evaluated. */
  readonly mutate: boolean;
  /** Requests (legitimate or tampered) whose evaluation aborted, over all pods (each fails). */
  readonly aborted: number;
  /** True when every pod was checked and is ok. */
  readonly ok: boolean;
}

/** Builds a {@link CheckRun} from pod reports and pods that could not be checked. */
export function summarise(
  pods: readonly PodReport[],
  mutate: boolean,
  unchecked: readonly Unchecked[] = [],
): CheckRun {
  const aborted = pods.reduce((n, p) => n + p.aborts.length, 0);
  return {
    pods,
    unchecked,
    mutate,
    aborted,
    ok: unchecked.length === 0 && aborted === 0 && pods.every((p) => p.ok),
  };
}

/** The run as JSON (stable field names; tampered requests included for weaknesses). */
export function renderJson(run: CheckRun): string {
  return JSON.stringify(run, null, 2);
}

/** The run as text, one block per pod, then a summary line. */
export function renderText(run: CheckRun): string {
  const lines: string[] = [];
  for (const u of run.unchecked) lines.push(`FAIL ${u.pod} (${u.origin}): ${u.field}: ${u.reason}`);
  for (const pod of run.pods) {
    lines.push(
      `${pod.ok ? "ok  " : "FAIL"} ${pod.pod} (${pod.origin}) as ${pod.podName}, ` +
        `policy ${pod.policyDigest.slice(0, 16)}…`,
    );
    const legitimateAborts = pod.aborts.filter((a) => a.mutant === undefined).length;
    const allowed = pod.requests - pod.denied.length - legitimateAborts;
    lines.push(`     ${allowed}/${pod.requests} legitimate requests allowed`);
    for (const a of pod.aborts) {
      const what = a.mutant === undefined ? "legitimate request" : `tampered "${a.mutant}"`;
      const where = a.container === undefined ? "" : ` (container ${a.container})`;
      lines.push(`     ABORTED: ${a.step}${where}: ${what} (${a.type}): ${a.error}`);
    }
    for (const d of pod.denied) {
      lines.push(`     denied #${d.index}: ${d.label}`);
      for (const m of d.mismatches ?? []) {
        lines.push(
          `         ${m.field}: request has ${JSON.stringify(m.got)}, policy expects ${
            JSON.stringify(m.expected)
          }`,
        );
      }
    }
    if (run.mutate) {
      const mutantAborts = pod.aborts.length - legitimateAborts;
      const ngAborts = pod.aborts.filter((a) => a.expectation === "non-guarantee").length;
      const denied = pod.mutants - pod.weaknesses.length - pod.nonGuarantees.length - mutantAborts;
      const expected = pod.mutants - pod.nonGuarantees.length - ngAborts;
      lines.push(`     ${denied}/${expected} tampered requests denied`);
      for (const w of pod.weaknesses) {
        lines.push(`     WEAKNESS: ${w.step}: "${w.mutant}" (field ${w.field}) was allowed`);
      }
      const ng = new Map<string, { allowed: number; denied: number }>();
      for (const n of pod.nonGuarantees) {
        const entry = ng.get(n.mutant) ?? { allowed: 0, denied: 0 };
        if (n.allowed) entry.allowed++;
        else entry.denied++;
        ng.set(n.mutant, entry);
      }
      for (const [name, c] of ng) {
        lines.push(
          `     documented limit "${name}": allowed ${c.allowed}, denied ${c.denied}`,
        );
      }
    }
  }
  if (run.pods.length > 0) {
    lines.push("limits of runtime policies (cannot be checked by any policy):");
    for (const note of run.pods[0].notes) lines.push(`  - ${note}`);
  }
  const denied = run.pods.reduce((n, p) => n + p.denied.length, 0);
  const weak = run.pods.reduce((n, p) => n + p.weaknesses.length, 0);
  lines.push(
    `${run.ok ? "PASS" : "FAIL"}: ${run.pods.length} pod(s), ${denied} legitimate request(s) ` +
      `denied${run.mutate ? `, ${weak} weakness(es)` : ""}, ${run.aborted} evaluation(s) ` +
      `aborted` +
      (run.unchecked.length > 0 ? `, ${run.unchecked.length} not checkable` : ""),
  );
  return lines.join("\n");
}

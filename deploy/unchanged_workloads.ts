/**
 * The pod-bearing workloads `contrast generate` leaves as they are (their `runtimeClassName` does
 * not start with contrast's prefix), and the warning that names each one, so a misspelt or missing
 * runtime class does not silently leave a pod without confidentiality.
 *
 * @module
 */

/**
 * A pod-bearing workload generate left as it was because its `runtimeClassName` does not start
 * with the settings' prefix (`contrast-cc`): it gets no policy and runs without confidentiality.
 */
export interface UnchangedWorkload {
  /** `file[doc]` of the workload (`app.yml[2]`, `app.yml[0].items[3]`). */
  readonly location: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Path of the pod spec's `runtimeClassName` (e.g. `spec.template.spec.runtimeClassName`). */
  readonly field: string;
  /** The value it has (any YAML scalar or node, as read), or undefined when it has none. */
  readonly runtimeClassName: unknown;
}

/**
 * The warning line (without a `warning: ` prefix) for `w`, naming file, document, kind,
 * namespace, name and the runtime class it has or that it has none.
 */
export function unchangedWorkloadWarning(w: UnchangedWorkload, prefix: string): string {
  const why = w.runtimeClassName === undefined
    ? `no ${w.field} (confidential pods need one starting with "${prefix}")`
    : `${w.field} is ${describe(w.runtimeClassName)}, which does not start with "${prefix}"`;
  return `${w.location}: ${w.kind} ${w.namespace}/${w.name} left unchanged, not confidential ` +
    `(no policy): ${why}`;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value !== null && typeof value === "object") return "a non-string value";
  return `${String(value)} (not a string)`;
}

/**
 * Why the requests of a load test failed, counted by reason: the HTTP status and the reason of a
 * Coordinator's answer (`503 storage did not answer in 5000 ms`, `429 …`), or the error's name and
 * message (`ConnectionReset: Connection reset by peer (os error 104)`), with addresses and ports
 * left out so the same failure from many clients counts once. An overload run then shows why its
 * requests failed, not only the first of them.
 *
 * @module
 */

/** How many requests failed for one reason. */
export interface FailureCount {
  /** The reason (`503 storage did not answer in 5000 ms`). */
  readonly reason: string;
  /** How many failed for it. */
  readonly count: number;
}

/** Longest reason kept; longer ones are cut (a stack or a body pasted into a message). */
const MAX_REASON_LENGTH = 160;

/**
 * The reason one request failed: `STATUS reason` for an answer with an HTTP status (the typed
 * errors of `atls/coordinator_answers.ts`), `Name: message` for any other error, addresses
 * (`127.1.0.4:41234`, `[::1]:8080`) replaced by `ADDR`.
 *
 * @example
 * ```ts
 * import { failureReason } from "./failure_reasons.ts";
 * const e = Object.assign(new Error("x"), { status: 503, reason: "storage did not answer" });
 * if (failureReason(e) !== "503 storage did not answer") throw new Error(failureReason(e));
 * ```
 */
export function failureReason(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    const { status, reason } = error as Error & { status?: unknown; reason?: unknown };
    const detail = typeof reason === "string" && reason !== "" ? reason : error.message;
    text = typeof status === "number" ? `${status} ${detail}` : `${error.name}: ${error.message}`;
  } else {
    text = String(error);
  }
  const cleaned = text
    .split("\n")[0]!
    .replace(/\[[0-9a-f:]+\](:\d+)?/gi, "ADDR")
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "ADDR")
    .trim();
  return cleaned.length > MAX_REASON_LENGTH ? `${cleaned.slice(0, MAX_REASON_LENGTH)}…` : cleaned;
}

/**
 * The failures counted by {@link failureReason}, most frequent first (ties by reason).
 *
 * @example
 * ```ts
 * import { countFailures } from "./failure_reasons.ts";
 * const counts = countFailures([new Error("a"), new Error("a"), new TypeError("b")]);
 * if (counts[0]!.count !== 2 || counts[0]!.reason !== "Error: a") throw new Error();
 * ```
 */
export function countFailures(errors: readonly unknown[]): FailureCount[] {
  const counts = new Map<string, number>();
  for (const error of errors) {
    const reason = failureReason(error);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

/**
 * The lines of a failure table: one per reason, its count right-aligned and its share of
 * `requests`, each line starting with `indent`; none when nothing failed.
 *
 * @example
 * ```ts
 * import { failureLines } from "./failure_reasons.ts";
 * const lines = failureLines([{ reason: "429 busy", count: 3 }], 10, "  ");
 * if (lines.at(-1) !== "      3   30.0 %  429 busy") throw new Error(lines.join("\n"));
 * ```
 */
export function failureLines(
  counts: readonly FailureCount[],
  requests: number,
  indent: string,
): string[] {
  if (counts.length === 0) return [];
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const width = Math.max(5, ...counts.map((c) => String(c.count).length));
  return [
    `${indent}failures by reason (${total} of ${requests}):`,
    ...counts.map((c) =>
      `${indent}${String(c.count).padStart(width)}  ${
        (100 * c.count / requests).toFixed(1).padStart(5)
      } %  ${c.reason}`
    ),
  ];
}

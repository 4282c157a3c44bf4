/**
 * Describing network failures for error messages.
 *
 * @module
 */

/** A network error with its causes (`fetch failed: … invalid peer certificate …`). */
export function describeFailure(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

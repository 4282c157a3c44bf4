/**
 * Compares two byte strings in time that depends only on their lengths, never on where they
 * differ. Use it for digests, MACs and every other secret-dependent comparison.
 *
 * @example Compare a digest with the expected one
 * ```ts
 * import { constantTimeEqual, sha256 } from "../../mod.ts";
 *
 * const expected = await sha256(new Uint8Array([1]));
 * console.log(constantTimeEqual(await sha256(new Uint8Array([1])), expected)); // true
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

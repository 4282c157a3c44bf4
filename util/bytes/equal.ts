/**
 * Compares two byte strings in time that depends only on their lengths, never on where they
 * differ. Use it for digests, MACs and every other secret-dependent comparison.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

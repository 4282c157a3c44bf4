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

/**
 * Whether `a` and `b` hold the same bytes, returning at the first difference (four bytes at a
 * time): for public data only (certificates, CRLs, auxblobs), never for secrets, which
 * {@link constantTimeEqual} compares.
 *
 * @example Is this the CRL verified before?
 * ```ts
 * import { bytesEqual } from "./equal.ts";
 *
 * console.log(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))); // true
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  const da = new DataView(a.buffer, a.byteOffset, n);
  const db = new DataView(b.buffer, b.byteOffset, n);
  let i = 0;
  for (; i + 4 <= n; i += 4) if (da.getUint32(i) !== db.getUint32(i)) return false;
  for (; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One new array holding `parts` one after the other.
 *
 * @example Join two arrays
 * ```ts
 * import { concatBytes } from "../../mod.ts";
 *
 * const joined = concatBytes(new Uint8Array([1]), new Uint8Array([2, 3]));
 * console.log(joined); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

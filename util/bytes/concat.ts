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
  return joinBytes(parts);
}

/**
 * One new array holding the arrays of `parts` one after the other: {@link concatBytes} for a list
 * (such as the chunks of a response body, which need not be spread into arguments).
 *
 * @example Join the chunks read from a stream
 * ```ts
 * import { joinBytes } from "./mod.ts";
 *
 * const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
 * console.log(joinBytes(chunks)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
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

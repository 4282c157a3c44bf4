/**
 * mulberry32: a small seeded pseudo-random number generator, so generated test inputs and
 * benchmark schedules are the same on every run and a failure reproduces from its seed. Not for
 * anything that needs secrecy (use `crypto.getRandomValues`).
 *
 * @module
 */

/**
 * A function giving the next number in [0, 1) of mulberry32's sequence for the 32-bit `seed`.
 *
 * @example The same seed, the same numbers
 * ```ts
 * import { mulberry32 } from "./mulberry32.ts";
 *
 * const a = mulberry32(7);
 * const b = mulberry32(7);
 * console.log(a() === b()); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

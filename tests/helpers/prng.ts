/**
 * A seeded pseudo-random number generator for generated-input tests, so every run checks the
 * same inputs and a failure reproduces from its seed. Not for anything that needs secrecy.
 *
 * @module
 */

/** mulberry32: returns a function giving the next number in [0, 1) of the sequence for `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

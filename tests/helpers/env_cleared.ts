/**
 * Tests of options read from the environment: the variables they set are put back afterwards.
 *
 * @module
 */

/**
 * Runs the synchronous `fn` with the environment variables `names` unset, then puts back what
 * they held before (unset ones stay unset), whether `fn` threw or not.
 */
export function withEnvCleared(names: readonly string[], fn: () => void): void {
  const saved = names.map((n) => Deno.env.get(n));
  try {
    for (const n of names) Deno.env.delete(n);
    fn();
  } finally {
    names.forEach((n, i) =>
      saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!)
    );
  }
}

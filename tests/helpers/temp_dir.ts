/**
 * Temporary directories for tests, removed with everything in them when the test is done.
 *
 * @module
 */

/**
 * Runs `fn` with a new temporary directory (made with `options`, e.g. a name prefix) and removes
 * it afterwards, whether `fn` threw or not.
 */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  options?: Deno.MakeTempOptions,
): Promise<T> {
  const dir = await Deno.makeTempDir(options);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

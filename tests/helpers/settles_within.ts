/**
 * A guard against hangs in tests: a call races a timer far beyond the deadline under test.
 *
 * @module
 */

/**
 * Races `call` against a guard that rejects with `still pending after <ms> ms`; the guard winning
 * means the call hung.
 */
export async function settlesWithin<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call, guard]);
  } finally {
    clearTimeout(timer);
  }
}

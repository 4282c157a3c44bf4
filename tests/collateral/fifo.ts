/**
 * FIFOs for tests of readers that must never open one: {@link withFifo} makes a FIFO and, should
 * a reader block on it after all (the bug under test), releases that reader after a while by
 * writing a few junk bytes, so the test fails on its assertions instead of hanging.
 *
 * @module
 */

/** Makes a FIFO at `path`, runs `fn`, and releases a reader still blocked on it after `ms`. */
export async function withFifo<T>(path: string, fn: () => Promise<T>, ms = 3000): Promise<T> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  if (!made.success) throw new Error(`mkfifo ${path} failed`);
  const timer = setTimeout(async () => {
    // Read-write: opening does not wait for a reader, and a reader waiting to open is released.
    const fifo = await Deno.open(path, { read: true, write: true });
    await fifo.write(new TextEncoder().encode("junk written to release a blocked reader"));
    fifo.close();
  }, ms);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
  }
}

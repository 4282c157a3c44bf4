/**
 * Accepts connections until the listener closes. A failed accept other than the close (e.g.
 * EMFILE: out of file descriptors) is reported and retried after a pause that starts at
 * {@link FIRST_BACKOFF_MS} and doubles up to {@link MAX_BACKOFF_MS}, back to the start after a
 * success: retrying at once would spin a core and flood the log while the cause lasts.
 *
 * @module
 */

/** The first pause after a failed accept, ms. */
export const FIRST_BACKOFF_MS = 100;
/** The longest pause between failed accepts, ms. */
export const MAX_BACKOFF_MS = 5_000;

/** What {@link acceptLoop} needs. */
interface AcceptLoopOptions<T> {
  /** Waits for the next connection. */
  readonly accept: () => Promise<T>;
  /** Whether `error` means the listener was closed (the loop ends). */
  readonly isClosed: (error: unknown) => boolean;
  /** Serves one connection (must not throw). */
  readonly onConnection: (connection: T) => void;
  /** Reports a failed accept and the pause before the next try. */
  readonly onError: (error: Error, backoffMs: number) => void;
  /** Pauses `ms` (resolves early when the listener closes). */
  readonly sleep: (ms: number) => Promise<void>;
}

/** Runs the accept loop; resolves once the listener is closed. */
export async function acceptLoop<T>(o: AcceptLoopOptions<T>): Promise<void> {
  let backoffMs = 0;
  for (;;) {
    let connection: T;
    try {
      connection = await o.accept();
    } catch (error) {
      if (o.isClosed(error)) return;
      backoffMs = Math.min(backoffMs === 0 ? FIRST_BACKOFF_MS : backoffMs * 2, MAX_BACKOFF_MS);
      o.onError(error as Error, backoffMs);
      await o.sleep(backoffMs);
      continue;
    }
    backoffMs = 0;
    o.onConnection(connection);
  }
}

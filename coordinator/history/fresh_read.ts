/**
 * Coalesced reads that stay fresh: a "single flight with generations". At most one read runs at
 * a time; callers arriving while it runs do not share it (it started before they asked, so it may
 * miss a record stored just before they asked) but wait for the NEXT read, which starts when the
 * running one ends and serves all of them. So every caller gets the answer of a read that started
 * after it asked, and N concurrent callers cause at most 2 reads.
 *
 * A read that fails rejects every caller it serves; the next read starts fresh (nothing is
 * cached). A read that does not end within `timeoutMs` is rejected (for all its callers) and
 * abandoned, so a hung storage does not hold back the next read.
 *
 * @module
 */

/** Options of a {@link FreshRead}. */
interface FreshReadOptions {
  /** Abandon a read after this long (milliseconds): its callers get `timeoutError()`. */
  readonly timeoutMs?: number;
  /** The error a timed-out read rejects with. */
  readonly timeoutError?: () => Error;
}

/**
 * Coalesces concurrent calls of `read` without serving anyone a read that started before it
 * asked.
 *
 * @example
 * ```ts
 * import { FreshRead } from "./fresh_read.ts";
 *
 * let reads = 0;
 * const latest = new FreshRead(() => Promise.resolve(++reads));
 * const answers = await Promise.all([latest.read(), latest.read(), latest.read()]);
 * // the first caller starts read 1; the two that arrived while it ran share read 2
 * console.assert(answers.join() === "1,2,2" && reads === 2);
 * ```
 */
export class FreshRead<T> {
  readonly #read: () => Promise<T>;
  readonly #options: FreshReadOptions;
  /** Whether a read is running. */
  #running = false;
  /** The callers waiting for the next read (they arrived while one was running). */
  #next?: PromiseWithResolvers<T>;

  /** `read` does the actual read; it is called at most once at a time. */
  constructor(read: () => Promise<T>, options: FreshReadOptions = {}) {
    this.#read = read;
    this.#options = options;
  }

  /** The answer of a read that starts now, or right after the running one ends. */
  read(): Promise<T> {
    if (!this.#running) return this.#start();
    this.#next ??= Promise.withResolvers<T>();
    return this.#next.promise;
  }

  #start(): Promise<T> {
    this.#running = true;
    const run = this.#bounded();
    const settle = () => {
      this.#running = false;
      const next = this.#next;
      this.#next = undefined;
      if (next !== undefined) next.resolve(this.#start());
    };
    run.then(settle, settle);
    return run;
  }

  /** One call of the read function, rejected after `timeoutMs`. */
  async #bounded(): Promise<T> {
    const { timeoutMs, timeoutError } = this.#options;
    const read = (async () => await this.#read())();
    if (timeoutMs === undefined) return await read;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(timeoutError?.() ?? new Error(`read did not end in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([read, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

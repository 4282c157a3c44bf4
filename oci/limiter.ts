/**
 * A counting semaphore that bounds how many operations (image pulls) run at once.
 *
 * @module
 */

/** Runs at most `limit` tasks at a time; further tasks wait in FIFO order. */
export class ConcurrencyLimiter {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * A limiter with `limit` slots.
   *
   * @param limit maximum number of tasks running at once (at least 1)
   */
  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  /** Runs `task` when a slot is free; the slot is released when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // hand the slot over directly
      else this.#running--;
    }
  }
}

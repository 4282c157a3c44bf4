/**
 * A port's budget of request-body bytes held at once. Each body's buffer is taken from it as the
 * buffer grows (so a declared length alone takes nothing) and given back once the request is
 * answered; a body that would go over the budget is refused (503, `body`) and its connection
 * closed. Without it each connection was bounded on its own only: 24 connections of one client
 * address holding 31 MiB of an unfinished `/manifest` body each grew a Coordinator from 101 to
 * 1,126 MiB resident before anything was authenticated (its pod is limited to 512 MiB).
 *
 * @module
 */
import { UnavailableError } from "../../util/errors/mod.ts";

/** The bytes of request bodies one port may hold at once. */
export class BodyBudget {
  /** The budget in bytes. */
  readonly capacity: number;
  #held = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes taken now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes `bytes` more for a growing body buffer.
   *
   * @throws {UnavailableError} naming `body` (503) when the budget does not hold them
   */
  take(bytes: number): void {
    if (this.#held + bytes > this.capacity) {
      throw new UnavailableError(
        "body",
        `request bodies of ${this.capacity} bytes in all are being received: retry later`,
      );
    }
    this.#held += bytes;
  }

  /** Gives back `bytes` taken before. */
  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

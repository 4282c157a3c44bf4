/**
 * A port's budget of request-body bytes held at once. Each body's buffer is taken from it as the
 * buffer grows (so a declared length alone takes nothing) and given back once the request is
 * answered; a body that would go over the budget is refused (503, `body`) and its connection
 * closed. A second budget of the same kind bounds the answers being sent (`answer`). Without it each connection was bounded on its own only: 24 connections of one client
 * address holding 31 MiB of an unfinished `/manifest` body each grew a Coordinator from 101 to
 * 1,126 MiB resident before anything was authenticated (its pod is limited to 512 MiB).
 *
 * @module
 */
import { UnavailableError } from "../../util/errors/mod.ts";

/** The bytes of request bodies (or of answers being sent) one port may hold at once. */
export class BodyBudget {
  /** The budget in bytes. */
  readonly capacity: number;
  readonly #field: string;
  readonly #what: string;
  #held = 0;

  /**
   * @param field named by a refusal (`body`, `answer`)
   * @param what what is counted, for the refusal's reason
   */
  constructor(capacity: number, field = "body", what = "request bodies") {
    this.capacity = capacity;
    this.#field = field;
    this.#what = what;
  }

  /** Bytes taken now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes `bytes` more for a growing body buffer.
   *
   * @throws {UnavailableError} naming its field (503) when the budget does not hold them
   */
  take(bytes: number): void {
    if (!this.tryTake(bytes)) {
      throw new UnavailableError(
        this.#field,
        `${this.#what} of ${this.capacity} bytes in all are in flight: retry later`,
      );
    }
  }

  /** Takes `bytes` more if the budget holds them; whether it did. */
  tryTake(bytes: number): boolean {
    if (this.#held + bytes > this.capacity) return false;
    this.#held += bytes;
    return true;
  }

  /** Gives back `bytes` taken before. */
  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

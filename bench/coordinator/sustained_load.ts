/**
 * Which load a machine sustains, from a sweep over concurrencies (exchanges in flight): the peak
 * throughput of the sweep, and the lowest concurrency that reaches a share of it (95 % by
 * default). Beyond that concurrency more requests in flight add only queueing (Little's law:
 * latency = in flight / throughput), so its latency is the one to state "at the load the machine
 * sustains"; a higher concurrency would report the same throughput with a longer queue, a lower
 * one would leave throughput unused.
 *
 * @module
 */

/** One level of a sweep as measured. */
interface LevelThroughput {
  /** Exchanges kept in flight. */
  readonly concurrency: number;
  /** Completed exchanges per second of load. */
  readonly attestationsPerSecond: number;
}

/** What {@link sustainedLevel} found. */
export interface SustainedLoad<L extends LevelThroughput> {
  /** The level with the highest throughput. */
  readonly peak: L;
  /** The lowest concurrency whose throughput reaches `share` of the peak. */
  readonly sustained: L;
  /** The share used. */
  readonly share: number;
}

/**
 * The peak and the lowest concurrency reaching `share` of it, over every level (none left out).
 *
 * @throws {RangeError} for no levels, a share outside (0, 1], or a throughput that is not a
 * finite non-negative number (a level that measured nothing must not be skipped silently)
 */
export function sustainedLevel<L extends LevelThroughput>(
  levels: readonly L[],
  share = 0.95,
): SustainedLoad<L> {
  if (levels.length === 0) throw new RangeError("sweep: no levels measured");
  if (!(share > 0 && share <= 1)) throw new RangeError(`sweep: share ${share} not in (0, 1]`);
  for (const l of levels) {
    if (!(Number.isFinite(l.attestationsPerSecond) && l.attestationsPerSecond >= 0)) {
      throw new RangeError(
        `sweep: throughput ${l.attestationsPerSecond} at ${l.concurrency} in flight`,
      );
    }
  }
  const peak = levels.reduce((best, l) =>
    l.attestationsPerSecond > best.attestationsPerSecond ? l : best
  );
  const reaching = levels.filter((l) =>
    l.attestationsPerSecond >= share * peak.attestationsPerSecond
  );
  const sustained = reaching.reduce((low, l) => l.concurrency < low.concurrency ? l : low);
  return { peak, sustained, share };
}

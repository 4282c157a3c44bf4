/**
 * An open-loop load generator (as wrk2 does it): requests start on a schedule fixed before the run
 * (Poisson arrivals or a fixed interval) at a target rate, whether or not earlier ones have
 * finished, and each latency is measured from the request's *scheduled* start, not from when the
 * generator got round to sending it. A closed loop (C clients, each sending its next request when
 * the last one is answered) measures at saturation the queue its own C clients form: by Little's
 * law the mean latency is C / throughput whatever the server does, and a stall of the server
 * delays the requests that would have been sent meanwhile instead of counting them late
 * ("coordinated omission"). An open loop below the peak rate measures the latency a client
 * arriving at that rate sees.
 *
 * The schedule, the latency and the rate are pure functions ({@link poissonSchedule},
 * {@link fixedSchedule}, {@link latencyFromScheduledStart}, {@link openLoopRate}); the runner
 * ({@link runOpenLoop}) takes its clock and sleep as arguments.
 *
 * @module
 */

/** How requests are spaced: exponential gaps (Poisson arrivals) or one fixed interval. */
export type ScheduleKind = "poisson" | "fixed";

function checkRateAndCount(perSecond: number, count: number): void {
  if (!(Number.isFinite(perSecond) && perSecond > 0)) {
    throw new RangeError(`open loop: rate ${perSecond}/s is not a positive number`);
  }
  if (!(Number.isInteger(count) && count >= 0)) {
    throw new RangeError(`open loop: count ${count} is not a whole number`);
  }
}

/**
 * Scheduled start times, ms after the run's start, of `count` requests arriving as a Poisson
 * process at `perSecond`: exponentially distributed gaps of mean 1000 / `perSecond` ms, drawn from
 * `random` (values in [0, 1)). The first request starts after the first gap.
 *
 * @throws {RangeError} for a rate that is not a positive finite number or a count that is not a
 *   whole number
 */
export function poissonSchedule(
  perSecond: number,
  count: number,
  random: () => number,
): number[] {
  checkRateAndCount(perSecond, count);
  const meanGapMs = 1000 / perSecond;
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    // 1 - u is in (0, 1]: the logarithm is finite.
    t += -Math.log(1 - random()) * meanGapMs;
    times.push(t);
  }
  return times;
}

/**
 * Scheduled start times, ms after the run's start, of `count` requests one every
 * 1000 / `perSecond` ms, the first at 0.
 *
 * @throws {RangeError} as {@link poissonSchedule}
 */
export function fixedSchedule(perSecond: number, count: number): number[] {
  checkRateAndCount(perSecond, count);
  const gapMs = 1000 / perSecond;
  return Array.from({ length: count }, (_, i) => i * gapMs);
}

/**
 * The latency of a request that was scheduled `scheduledMs` after a run started at `runStartMs`
 * and completed at `completedMs` (all on one clock): from the scheduled start, so a request the
 * generator sent late (its event loop busy, or the server slow to accept) counts its wait.
 *
 * @throws {RangeError} when the request completed before it was scheduled (a clock mix-up)
 */
export function latencyFromScheduledStart(
  runStartMs: number,
  scheduledMs: number,
  completedMs: number,
): number {
  const latency = completedMs - (runStartMs + scheduledMs);
  if (!(latency >= 0)) {
    throw new RangeError(
      `open loop: completed at ${completedMs} ms, before its scheduled start ` +
        `${runStartMs + scheduledMs} ms`,
    );
  }
  return latency;
}

/** The largest share of the closed loop's peak an open-loop step may offer. */
export const MAX_PEAK_SHARE = 4;

/**
 * The open loop's target rate: `share` of the peak throughput measured in the same run's closed
 * loop. Shares above 1 are allowed (up to {@link MAX_PEAK_SHARE}): an open loop keeps more
 * requests in flight than the closed loop's levels and may be served faster than their peak.
 *
 * @throws {RangeError} for a peak that is not a positive finite number or a share outside
 *   (0, {@link MAX_PEAK_SHARE}]
 */
export function openLoopRate(peakPerSecond: number, share: number): number {
  if (!(Number.isFinite(peakPerSecond) && peakPerSecond > 0)) {
    throw new RangeError(`open loop: peak ${peakPerSecond}/s is not a positive number`);
  }
  if (!(share > 0 && share <= MAX_PEAK_SHARE)) {
    throw new RangeError(`open loop: share ${share} of the peak is not in (0, ${MAX_PEAK_SHARE}]`);
  }
  return peakPerSecond * share;
}

/** The value at percentile `p` (0–100) of ascending `sorted` (nearest rank, lower). */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** What an open-loop run measured. */
interface OpenLoopResult {
  /** Latencies from the scheduled start of every request that succeeded, ms, ascending. */
  readonly latenciesMs: readonly number[];
  /** Why requests failed (none is dropped from the count). */
  readonly failures: readonly unknown[];
  /** From the run's start until the last request ended, ms. */
  readonly wallMs: number;
  /** The most requests in flight at once. */
  readonly maxInFlight: number;
  /** The largest delay between a request's scheduled start and its being sent, ms. */
  readonly maxSendLagMs: number;
  /** Every request's delay between its scheduled start and its being sent, ms, ascending. */
  readonly sendLagsMs: readonly number[];
  /** When the last request was sent, ms after the run's start (0 for none). */
  readonly lastSentMs: number;
  /** Latency of request i (schedule order), ms; `undefined` where it failed. */
  readonly latencyByIndexMs: readonly (number | undefined)[];
}

/** The clock and sleep an open loop runs on. */
export interface OpenLoopClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolves after about `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/**
 * Starts `task(i)` at `scheduleMs[i]` after the run's start for every i (ascending schedule),
 * without waiting for earlier tasks, and measures each from its scheduled start
 * ({@link latencyFromScheduledStart}). Settles every task.
 */
export async function runOpenLoop(
  scheduleMs: readonly number[],
  task: (index: number) => Promise<void>,
  clock: OpenLoopClock,
): Promise<OpenLoopResult> {
  const latencies: number[] = [];
  const failures: unknown[] = [];
  const running: Promise<void>[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let maxSendLagMs = 0;
  const sendLags: number[] = [];
  const byIndex: (number | undefined)[] = new Array(scheduleMs.length).fill(undefined);
  const start = clock.now();
  let lastSentMs = 0;
  for (const [i, scheduled] of scheduleMs.entries()) {
    const wait = start + scheduled - clock.now();
    if (wait > 0) await clock.sleep(wait);
    const lag = Math.max(0, clock.now() - (start + scheduled));
    sendLags.push(lag);
    lastSentMs = clock.now() - start;
    maxSendLagMs = Math.max(maxSendLagMs, lag);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    running.push(
      task(i).then(
        () => {
          const latency = latencyFromScheduledStart(start, scheduled, clock.now());
          latencies.push(latency);
          byIndex[i] = latency;
        },
        (reason) => {
          failures.push(reason);
        },
      ).finally(() => inFlight--),
    );
  }
  await Promise.all(running);
  return {
    latenciesMs: latencies.sort((a, b) => a - b),
    failures,
    wallMs: clock.now() - start,
    maxInFlight,
    maxSendLagMs,
    sendLagsMs: sendLags.sort((a, b) => a - b),
    lastSentMs,
    latencyByIndexMs: byIndex,
  };
}

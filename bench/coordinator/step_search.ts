/**
 * "The load the machine sustains", defined and found by a step search over open-loop rates: the
 * highest offered rate at which the Coordinator keeps up with the requests offered and their
 * latency stays bounded, every lower step having done so too, and the load generator was not the
 * bottleneck at any step up to it.
 *
 * - **Keeps up**: it served at least {@link StepCriteria.minServedShare} (95 %) of the rate the
 *   schedule really offered (requests / span of the realised schedule, so a Poisson schedule's
 *   chance gaps do not count against the server), from the run's start to the last answer, and
 *   none failed.
 * - **Latency bounded**: the median latency of the last third of the requests (schedule order) is
 *   at most {@link StepCriteria.growthFactor} (2) times that of the first third plus
 *   {@link StepCriteria.growthSlackMs} (20 ms): an open loop above capacity builds a queue that
 *   grows through the run, one below it does not.
 * - **Generator not the bottleneck** ({@link generatorBottleneck}): the generator's main thread
 *   (its event loop: TLS client, simulated evidence, the checks of every answer) was busy less
 *   than 85 % of the step, its CPUs less than 90 %, and it sent the requests at 95 % or more of the
 *   rate scheduled (the last one left at most ~5 % of the schedule's span late: a generator that
 *   cannot keep to its schedule offers less than it names, and the Coordinator would be blamed for
 *   not serving what was never sent). Latency is timed from the scheduled start, so a generator that sends late adds its
 *   delay to the Coordinator's latency (conservative: it never makes the Coordinator look
 *   faster); a step where the generator ran out of CPU or fell behind its schedule measures the
 *   generator, and the search stops there without counting it. How late single requests left
 *   (median and p99 of the send lag) is printed but not judged: on a shared machine it is mostly
 *   time the generator's thread waited for a CPU other processes held, which delays the
 *   Coordinator alike (both run-queue waits are printed), and one process plays every initializer, so when the Coordinator stalls
 *   (its GC, or its CPU taken by other work on a shared machine) the answers come back in a burst
 *   that this process works off in turn and the requests due meanwhile leave late, a queue real
 *   initializers, each on its own CPU, would not form. That lag is part of the measured latency
 *   and makes the figure worse, never better.
 *
 * All functions are pure.
 *
 * @module
 */
import { MAX_PEAK_SHARE } from "./open_loop.ts";

/** Thresholds of {@link judgeStep}. */
interface StepCriteria {
  /** Share of the offered rate that must be served (default 0.95). */
  readonly minServedShare: number;
  /** Allowed growth of the median latency from the first to the last third (default 2). */
  readonly growthFactor: number;
  /** Absolute slack on that growth, ms (default 20). */
  readonly growthSlackMs: number;
}

/** The criteria the load test uses. */
const DEFAULT_STEP_CRITERIA: StepCriteria = {
  minServedShare: 0.95,
  growthFactor: 2,
  growthSlackMs: 20,
};

/** What one open-loop step measured, as {@link judgeStep} needs it. */
export interface StepMeasurement {
  /** Requests / span of the realised schedule (first to last scheduled start), per second. */
  readonly scheduledPerSecond: number;
  /** Requests served / time from the run's start to the last answer, per second. */
  readonly achievedPerSecond: number;
  /** Requests that failed. */
  readonly failed: number;
  /** Latency of request i in schedule order, ms (`undefined` where it failed). */
  readonly latencyByIndexMs: readonly (number | undefined)[];
}

/** {@link judgeStep}'s verdict. */
interface StepVerdict {
  /** Served at least the required share of the offered rate, nothing failed. */
  readonly keepsUp: boolean;
  /** The latency did not grow through the step beyond the allowance. */
  readonly bounded: boolean;
  /** Median latency of the first and the last third, ms. */
  readonly firstThirdMedianMs: number;
  readonly lastThirdMedianMs: number;
  /** Why the step is not sustained (empty when it is). */
  readonly reasons: readonly string[];
}

function medianOf(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Whether the Coordinator kept up at one step and its latency stayed bounded.
 *
 * @throws {RangeError} for a step with fewer than 3 requests (no thirds to compare) or rates that
 *   are not positive finite numbers
 */
export function judgeStep(
  m: StepMeasurement,
  criteria: StepCriteria = DEFAULT_STEP_CRITERIA,
): StepVerdict {
  const n = m.latencyByIndexMs.length;
  if (n < 3) throw new RangeError(`step: ${n} requests, need at least 3`);
  if (!(Number.isFinite(m.scheduledPerSecond) && m.scheduledPerSecond > 0)) {
    throw new RangeError(`step: offered rate ${m.scheduledPerSecond}/s`);
  }
  if (!(Number.isFinite(m.achievedPerSecond) && m.achievedPerSecond >= 0)) {
    throw new RangeError(`step: served rate ${m.achievedPerSecond}/s`);
  }
  const reasons: string[] = [];
  const served = m.achievedPerSecond / m.scheduledPerSecond;
  const keepsUp = m.failed === 0 && served >= criteria.minServedShare;
  if (m.failed > 0) reasons.push(`${m.failed} failed`);
  if (served < criteria.minServedShare) {
    reasons.push(
      `served ${m.achievedPerSecond.toFixed(1)}/s of ${
        m.scheduledPerSecond.toFixed(1)
      }/s offered ` +
        // Rounded down, so a share just under the limit never prints as the limit.
        `(${(Math.floor(served * 1000) / 10).toFixed(1)} % < ${criteria.minServedShare * 100} %)`,
    );
  }
  const third = Math.floor(n / 3);
  const defined = (part: readonly (number | undefined)[]) =>
    part.filter((v): v is number => v !== undefined);
  const first = medianOf(defined(m.latencyByIndexMs.slice(0, third)));
  const last = medianOf(defined(m.latencyByIndexMs.slice(n - third)));
  const allowed = criteria.growthFactor * first + criteria.growthSlackMs;
  const bounded = Number.isFinite(first) && Number.isFinite(last) && last <= allowed;
  if (!bounded) {
    reasons.push(
      `latency grew: median ${last.toFixed(0)} ms in the last third against ${
        first.toFixed(0)
      } ms ` +
        `in the first (allowed ${allowed.toFixed(0)} ms)`,
    );
  }
  return { keepsUp, bounded, firstThirdMedianMs: first, lastThirdMedianMs: last, reasons };
}

/** Thresholds of {@link generatorBottleneck}. */
interface GeneratorLimits {
  /** Busy share of the generator's main thread at or above which it is the bottleneck (0.85). */
  readonly mainThreadBusy: number;
  /** Busy share of the CPUs the generator may use at or above which it is (0.9). */
  readonly cpusBusy: number;
  /** Share of the scheduled rate below which the generator's send rate makes it so (0.95). */
  readonly sentShare: number;
}

/** The limits the load test uses. */
export const DEFAULT_GENERATOR_LIMITS: GeneratorLimits = {
  mainThreadBusy: 0.85,
  cpusBusy: 0.9,
  sentShare: 0.95,
};

/** How busy the load generator was during a step. */
export interface GeneratorLoad {
  /** CPU seconds of its main thread / wall seconds of the step. */
  readonly mainThreadBusy: number;
  /** CPU seconds of all its threads / (wall seconds × CPUs it may use). */
  readonly cpusBusy: number;
  /**
   * The rate the requests were sent at as a share of the rate scheduled: the schedule's span
   * (start to the last scheduled send) over the span until the last request really left.
   */
  readonly sentShare: number;
  /** Median of the requests' send lag (sent after the scheduled start), ms (printed only). */
  readonly p50SendLagMs: number;
  /** 99th percentile of the send lag, ms (printed, not judged). */
  readonly p99SendLagMs: number;
}

/**
 * Why the generator, not the Coordinator, may have limited a step (empty: it did not).
 *
 * @throws {RangeError} for a load figure that is not a finite non-negative number
 */
export function generatorBottleneck(
  load: GeneratorLoad,
  limits: GeneratorLimits = DEFAULT_GENERATOR_LIMITS,
): string[] {
  for (const [name, v] of Object.entries(load)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`generator load: ${name} ${v}`);
  }
  const reasons: string[] = [];
  if (load.mainThreadBusy >= limits.mainThreadBusy) {
    reasons.push(
      `its main thread busy ${(load.mainThreadBusy * 100).toFixed(0)} % of the step ` +
        `(limit ${limits.mainThreadBusy * 100} %)`,
    );
  }
  if (load.cpusBusy >= limits.cpusBusy) {
    reasons.push(
      `its CPUs busy ${(load.cpusBusy * 100).toFixed(0)} % (limit ${limits.cpusBusy * 100} %)`,
    );
  }
  if (load.sentShare < limits.sentShare) {
    reasons.push(
      `sent ${(load.sentShare * 100).toFixed(0)} % of the scheduled rate ` +
        `(limit ${limits.sentShare * 100} %)`,
    );
  }
  return reasons;
}

/** A judged step, in the order run (ascending rates). */
export interface JudgedStep {
  readonly offeredPerSecond: number;
  readonly verdict: StepVerdict;
  /** {@link generatorBottleneck}'s reasons (empty: the generator kept up). */
  readonly generatorReasons: readonly string[];
}

/** What the search found. */
export interface SustainedRate<S extends JudgedStep> {
  /** The highest step sustained with every lower one, the generator never the bottleneck. */
  readonly sustained: S | undefined;
  /** The step that ended the search, if one did (else every step was sustained). */
  readonly stoppedAt: S | undefined;
  /**
   * Why the search ended: `coordinator` (the first step the Coordinator did not sustain),
   * `generator` (the generator was the bottleneck: the Coordinator's limit is higher than this
   * measured) or `steps` (every step sustained: the limit lies above the highest step).
   */
  readonly endedBy: "coordinator" | "generator" | "steps";
}

/** Whether a step counts as sustained by the Coordinator. */
export function stepSustained(step: JudgedStep): boolean {
  return step.verdict.keepsUp && step.verdict.bounded && step.generatorReasons.length === 0;
}

/**
 * The sustained rate over `steps` (ascending offered rates, as run): the last step before the
 * first that is not sustained. A step where the generator was the bottleneck ends the search as
 * `generator` even if the Coordinator also fell behind (the two cannot be told apart there).
 *
 * @throws {RangeError} for no steps or rates not strictly ascending
 */
export function sustainedRate<S extends JudgedStep>(steps: readonly S[]): SustainedRate<S> {
  if (steps.length === 0) throw new RangeError("step search: no steps");
  for (let i = 1; i < steps.length; i++) {
    if (!(steps[i]!.offeredPerSecond > steps[i - 1]!.offeredPerSecond)) {
      throw new RangeError("step search: offered rates must ascend");
    }
  }
  let sustained: S | undefined;
  for (const step of steps) {
    if (!stepSustained(step)) {
      return {
        sustained,
        stoppedAt: step,
        endedBy: step.generatorReasons.length > 0 ? "generator" : "coordinator",
      };
    }
    sustained = step;
  }
  return { sustained, stoppedAt: undefined, endedBy: "steps" };
}

/**
 * The shares to step through, with their index: the listed ones, then, while `more()` (some
 * Coordinator sustained every step so far: its closed-loop peak, which the shares scale, was
 * below its capacity, e.g. measured during a burst of other work), steps 15 % apart up to
 * `maxShare` (default {@link MAX_PEAK_SHARE}), so the search ends at a limit rather than at the
 * end of the list.
 */
export function* stepShares(
  listed: readonly number[],
  more: () => boolean,
  maxShare = MAX_PEAK_SHARE,
): Generator<[number, number]> {
  let k = 0;
  for (const share of listed) yield [k++, share];
  let share = listed.at(-1);
  while (share !== undefined && more()) {
    share = Number((share * EXTRA_STEP_FACTOR).toFixed(2));
    if (share > maxShare) return;
    yield [k++, share];
  }
}

/** Each step past the listed ones offers this much more than the one before. */
const EXTRA_STEP_FACTOR = 1.15;

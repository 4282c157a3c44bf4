import assert from "node:assert/strict";
import {
  fixedSchedule,
  latencyFromScheduledStart,
  type OpenLoopClock,
  openLoopRate,
  percentileOf,
  poissonSchedule,
  runOpenLoop,
} from "../../../bench/coordinator/open_loop.ts";
import { mulberry32 } from "../../../util/random/mulberry32.ts";

/**
 * A virtual clock: time moves only when every pending promise has settled and the earliest
 * sleeper is woken, so the runner is tested on exact times (no wall-clock timing).
 */
class VirtualClock implements OpenLoopClock {
  #now = 0;
  #sleepers: { at: number; wake: () => void }[] = [];
  /** Added to every sleep of the generator (a late event loop). */
  constructor(readonly oversleepMs = 0) {}
  now(): number {
    return this.#now;
  }
  sleep(ms: number): Promise<void> {
    return this.#at(this.#now + ms + this.oversleepMs);
  }
  /** A server-side delay, not subject to {@link oversleepMs}. */
  serve(ms: number): Promise<void> {
    return this.#at(this.#now + ms);
  }
  #at(at: number): Promise<void> {
    return new Promise((wake) => this.#sleepers.push({ at, wake }));
  }
  /** Runs `work` to its end, advancing time from sleeper to sleeper. */
  async drive<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const settled = work.finally(() => done = true);
    for (;;) {
      // Let every promise chain run until it waits on the clock.
      await new Promise((r) => setTimeout(r, 0));
      if (done) return await settled;
      this.#sleepers.sort((a, b) => a.at - b.at);
      const next = this.#sleepers.shift();
      if (next === undefined) throw new Error("deadlock: nothing sleeps and the work is not done");
      this.#now = Math.max(this.#now, next.at);
      next.wake();
    }
  }
}

Deno.test("fixedSchedule: one request every 1000 / rate ms from 0", () => {
  assert.deepEqual(fixedSchedule(100, 4), [0, 10, 20, 30]);
  assert.deepEqual(fixedSchedule(50, 0), []);
});

Deno.test("poissonSchedule: cumulative exponential gaps drawn from the random source", () => {
  // u = 1 - e^-1 gives a gap of exactly the mean (10 ms at 100/s).
  const u = 1 - Math.exp(-1);
  const times = poissonSchedule(100, 3, () => u);
  assert.equal(times.length, 3);
  times.forEach((t, i) => assert.ok(Math.abs(t - 10 * (i + 1)) < 1e-9, `${t}`));
  // u = 0 gives a zero gap, never a negative or infinite one.
  assert.deepEqual(poissonSchedule(100, 2, () => 0), [0, 0]);
});

Deno.test("poissonSchedule with a seed: reproducible, ascending, mean gap near 1000 / rate", () => {
  const a = poissonSchedule(200, 20_000, mulberry32(7));
  assert.deepEqual(a, poissonSchedule(200, 20_000, mulberry32(7)));
  assert.notDeepEqual(a.slice(0, 10), poissonSchedule(200, 10, mulberry32(8)));
  for (let i = 1; i < a.length; i++) assert.ok(a[i]! >= a[i - 1]!);
  const meanGap = a.at(-1)! / a.length;
  assert.ok(Math.abs(meanGap - 5) < 0.25, `mean gap ${meanGap} ms, expected ~5`);
});

Deno.test("schedules refuse a rate that is not positive and a count that is not whole", () => {
  for (const rate of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => fixedSchedule(rate, 3), RangeError);
    assert.throws(() => poissonSchedule(rate, 3, Math.random), RangeError);
  }
  assert.throws(() => fixedSchedule(10, 1.5), RangeError);
  assert.throws(() => poissonSchedule(10, -1, Math.random), RangeError);
});

Deno.test("latencyFromScheduledStart counts from the schedule, not from the send", () => {
  assert.equal(latencyFromScheduledStart(1000, 50, 1100), 50);
  assert.equal(latencyFromScheduledStart(0, 0, 0), 0);
  assert.throws(() => latencyFromScheduledStart(1000, 50, 1049), RangeError);
  assert.throws(() => latencyFromScheduledStart(0, Number.NaN, 5), RangeError);
});

Deno.test("openLoopRate: the given share of the peak; refuses a share or peak out of range", () => {
  assert.equal(openLoopRate(180, 0.8), 144);
  assert.equal(openLoopRate(180, 1), 180);
  assert.equal(openLoopRate(100, 1.2), 120);
  for (const share of [0, -0.5, 4.01, Number.NaN]) {
    assert.throws(() => openLoopRate(180, share), RangeError);
  }
  for (const peak of [0, -3, Number.NaN, Infinity]) {
    assert.throws(() => openLoopRate(peak, 0.8), RangeError);
  }
});

Deno.test("percentileOf: nearest rank below, NaN for no values", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentileOf(sorted, 50), 51);
  assert.equal(percentileOf(sorted, 99), 100);
  assert.equal(percentileOf([7], 99), 7);
  assert.ok(Number.isNaN(percentileOf([], 50)));
});

Deno.test("runOpenLoop: requests start on schedule without waiting for earlier ones", async () => {
  const clock = new VirtualClock();
  const started: number[] = [];
  const result = await clock.drive(runOpenLoop([0, 10, 20], async () => {
    started.push(clock.now());
    await clock.serve(30);
  }, clock));
  assert.deepEqual(started, [0, 10, 20]);
  assert.deepEqual(result.latenciesMs, [30, 30, 30]);
  assert.equal(result.maxInFlight, 3);
  assert.equal(result.maxSendLagMs, 0);
  assert.equal(result.wallMs, 50);
  assert.deepEqual(result.failures, []);
});

Deno.test("runOpenLoop: a server that queues shows its queue (no coordinated omission)", async () => {
  // One request at a time, 30 ms each: answered at 30, 60, 90; scheduled at 0, 10, 20.
  const clock = new VirtualClock();
  let queue = Promise.resolve();
  const result = await clock.drive(runOpenLoop([0, 10, 20], (): Promise<void> => {
    const turn = queue.then(() => clock.serve(30));
    queue = turn;
    return turn;
  }, clock));
  assert.deepEqual(result.latenciesMs, [30, 50, 70]);
  // In schedule order, for the step search's growth check; every request sent on time.
  assert.deepEqual(result.latencyByIndexMs, [30, 50, 70]);
  assert.deepEqual(result.sendLagsMs, [0, 0, 0]);
});

Deno.test("runOpenLoop: a late send is charged to the request; failures are kept", async () => {
  const clock = new VirtualClock(5);
  const result = await clock.drive(runOpenLoop([10, 20], async (i) => {
    await clock.serve(1);
    if (i === 1) throw new Error("refused");
  }, clock));
  // Sent at 15 (5 ms late), answered at 16: 6 ms from its scheduled start.
  assert.deepEqual(result.latenciesMs, [6]);
  assert.equal(result.maxSendLagMs, 5);
  assert.deepEqual(result.sendLagsMs, [5, 5]);
  assert.equal(result.lastSentMs, 25);
  // The failed request has no latency in schedule order.
  assert.deepEqual(result.latencyByIndexMs, [6, undefined]);
  assert.equal(result.failures.length, 1);
  assert.match(String(result.failures[0]), /refused/);
});

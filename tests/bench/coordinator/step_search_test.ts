import assert from "node:assert/strict";
import {
  generatorBottleneck,
  type JudgedStep,
  judgeStep,
  type StepMeasurement,
  stepShares,
  stepSustained,
  sustainedRate,
} from "../../../bench/coordinator/step_search.ts";

/** A step whose every latency is `ms` (90 requests). */
function flat(ms: number, overrides: Partial<StepMeasurement> = {}): StepMeasurement {
  return {
    scheduledPerSecond: 100,
    achievedPerSecond: 99,
    failed: 0,
    latencyByIndexMs: Array.from({ length: 90 }, () => ms),
    ...overrides,
  };
}

Deno.test("judgeStep: a step served at the offered rate with flat latency is sustained", () => {
  const v = judgeStep(flat(20));
  assert.equal(v.keepsUp, true);
  assert.equal(v.bounded, true);
  assert.deepEqual(v.reasons, []);
  // 95 % served is still keeping up.
  assert.equal(judgeStep(flat(20, { achievedPerSecond: 95 })).keepsUp, true);
});

Deno.test("judgeStep: served below 95 %, failures and a growing queue each fail the step", () => {
  const slow = judgeStep(flat(20, { achievedPerSecond: 94 }));
  assert.equal(slow.keepsUp, false);
  assert.match(slow.reasons.join(), /served 94\.0\/s of 100\.0\/s offered \(94\.0 % < 95 %\)/);
  // 94.96 % is below the limit and printed below it (rounded down).
  assert.match(
    judgeStep(flat(20, { achievedPerSecond: 94.96 })).reasons.join(),
    /\(94\.9 % < 95 %\)/,
  );
  const failing = judgeStep(flat(20, { failed: 1 }));
  assert.equal(failing.keepsUp, false);
  assert.match(failing.reasons.join(), /1 failed/);
  // Latency growing linearly through the step (a queue that builds): 10 ms to 450 ms.
  const growing = judgeStep(flat(0, {
    latencyByIndexMs: Array.from({ length: 90 }, (_, i) => 10 + 5 * i),
  }));
  assert.equal(growing.bounded, false);
  assert.match(growing.reasons.join(), /latency grew/);
  // Growth within 2x + 20 ms is noise, not a queue.
  const noisy = judgeStep(flat(0, {
    latencyByIndexMs: Array.from({ length: 90 }, (_, i) => (i < 60 ? 10 : 40)),
  }));
  assert.equal(noisy.bounded, true);
  // A last third that failed entirely has no median: not bounded.
  const lost = judgeStep(flat(0, {
    failed: 30,
    latencyByIndexMs: Array.from({ length: 90 }, (_, i) => (i < 60 ? 10 : undefined)),
  }));
  assert.equal(lost.bounded, false);
});

Deno.test("judgeStep: refuses steps it cannot judge", () => {
  assert.throws(() => judgeStep(flat(1, { latencyByIndexMs: [1, 2] })), RangeError);
  assert.throws(() => judgeStep(flat(1, { scheduledPerSecond: 0 })), RangeError);
  assert.throws(() => judgeStep(flat(1, { achievedPerSecond: Number.NaN })), RangeError);
});

Deno.test("generatorBottleneck: a busy main thread, busy CPUs or a send rate below the schedule", () => {
  const idle = {
    mainThreadBusy: 0.3,
    cpusBusy: 0.2,
    sentShare: 0.999,
    p50SendLagMs: 0.2,
    p99SendLagMs: 2,
  };
  assert.deepEqual(generatorBottleneck(idle), []);
  assert.match(generatorBottleneck({ ...idle, mainThreadBusy: 0.9 }).join(), /main thread/);
  assert.match(generatorBottleneck({ ...idle, cpusBusy: 0.95 }).join(), /CPUs busy/);
  assert.match(
    generatorBottleneck({ ...idle, sentShare: 0.9 }).join(),
    /sent 90 % of the scheduled/,
  );
  // Single late requests (a burst of answers after a Coordinator stall, a CPU held by other
  // processes) are printed, not judged.
  assert.deepEqual(generatorBottleneck({ ...idle, p50SendLagMs: 8, p99SendLagMs: 60 }), []);
  assert.throws(() => generatorBottleneck({ ...idle, cpusBusy: Number.NaN }), RangeError);
});

function step(offered: number, sustained: boolean, generator = false): JudgedStep {
  return {
    offeredPerSecond: offered,
    verdict: {
      keepsUp: sustained,
      bounded: true,
      firstThirdMedianMs: 10,
      lastThirdMedianMs: 10,
      reasons: sustained ? [] : ["served too little"],
    },
    generatorReasons: generator ? ["its main thread busy 90 %"] : [],
  };
}

Deno.test("sustainedRate: the last step before the first one not sustained, and why it ended", () => {
  const byCoordinator = sustainedRate([step(50, true), step(80, true), step(110, false)]);
  assert.equal(byCoordinator.sustained?.offeredPerSecond, 80);
  assert.equal(byCoordinator.stoppedAt?.offeredPerSecond, 110);
  assert.equal(byCoordinator.endedBy, "coordinator");
  // A later passing step does not count once one failed.
  assert.equal(
    sustainedRate([step(50, true), step(80, false), step(110, true)]).sustained?.offeredPerSecond,
    50,
  );
  // The generator's limit ends the search as the generator's, even if the step also failed.
  const byGenerator = sustainedRate([step(50, true), step(80, false, true)]);
  assert.equal(byGenerator.endedBy, "generator");
  assert.equal(byGenerator.sustained?.offeredPerSecond, 50);
  assert.equal(stepSustained(step(80, true, true)), false);
  // Every step sustained: the limit lies above.
  const all = sustainedRate([step(50, true), step(80, true)]);
  assert.equal(all.endedBy, "steps");
  assert.equal(all.sustained?.offeredPerSecond, 80);
  // Not even the first.
  assert.equal(sustainedRate([step(50, false)]).sustained, undefined);
  assert.throws(() => sustainedRate([]), RangeError);
  assert.throws(() => sustainedRate([step(80, true), step(50, true)]), RangeError);
});

Deno.test("stepShares: the listed shares, then 15 % steps while more() holds, up to the cap", () => {
  // Stops after the list once no Coordinator is still searching.
  assert.deepEqual([...stepShares([0.3, 0.5], () => false)], [[0, 0.3], [1, 0.5]]);
  // Goes on while every step was sustained, each 15 % above the last, and never past the cap.
  let left = 3;
  assert.deepEqual([...stepShares([1], () => left-- > 0)], [[0, 1], [1, 1.15], [2, 1.32], [
    3,
    1.52,
  ]]);
  assert.deepEqual([...stepShares([3], () => true, 4)], [[0, 3], [1, 3.45], [2, 3.97]]);
  assert.deepEqual([...stepShares([], () => true)], []);
});

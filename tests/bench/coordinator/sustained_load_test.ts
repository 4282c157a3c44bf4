import assert from "node:assert/strict";
import { sustainedLevel } from "../../../bench/coordinator/sustained_load.ts";

const level = (concurrency: number, attestationsPerSecond: number) => ({
  concurrency,
  attestationsPerSecond,
});

Deno.test("sustainedLevel: the lowest concurrency within 95 % of the peak, not the peak's", () => {
  const levels = [level(1, 60), level(2, 110), level(4, 150), level(8, 159), level(16, 150)];
  const found = sustainedLevel(levels);
  assert.equal(found.peak.concurrency, 8);
  // 150 >= 0.95 * 159 = 151.05 is false: 4 in flight does not reach it, 8 is the lowest.
  assert.equal(found.sustained.concurrency, 8);
  const closer = sustainedLevel([...levels.slice(0, 2), level(4, 152), ...levels.slice(3)]);
  assert.equal(closer.sustained.concurrency, 4);
});

Deno.test("sustainedLevel: levels in any order, and a share of 1 is the peak itself", () => {
  const levels = [level(16, 100), level(1, 99), level(4, 101)];
  assert.equal(sustainedLevel(levels).sustained.concurrency, 1);
  assert.equal(sustainedLevel(levels, 1).sustained.concurrency, 4);
});

Deno.test("sustainedLevel: refuses no levels, a share outside (0, 1] and unmeasured levels", () => {
  assert.throws(() => sustainedLevel([]), /no levels/);
  assert.throws(() => sustainedLevel([level(1, 5)], 0), /share 0/);
  assert.throws(() => sustainedLevel([level(1, 5)], 1.5), /share 1.5/);
  assert.throws(() => sustainedLevel([level(1, 5), level(2, Number.NaN)]), /at 2 in flight/);
});

import assert from "node:assert/strict";
import { denoBenchRatios, ratioLines } from "../../scripts/bench.ts";

Deno.test("denoBenchRatios: baseline avg / bench avg per group; benches without a baseline say so", () => {
  const lines = denoBenchRatios({
    benches: [
      { name: "bare", group: "g", baseline: true, results: [{ ok: { avg: 1000 } }] },
      { name: "full", group: "g", baseline: false, results: [{ ok: { avg: 4000 } }] },
      { name: "alone", group: null, baseline: false, results: [{ ok: { avg: 2500 } }] },
      { name: "failed", group: "g", baseline: false, results: [{}] },
    ],
  });
  assert.deepEqual(lines, [
    "full: ratio 0.250 (4.0 µs vs 1.0 µs)",
    "alone: 2.5 µs (no baseline in group -)",
  ]);
});

Deno.test("ratioLines keeps the lines stating a ratio or a goal verdict", () => {
  assert.deepEqual(
    ratioLines(
      "load test\n  CPU ratio (bound / x): 0.4\np99 5 ms\ncontrast --help 2.10×\ngoal met\n" +
        "GENERATOR-BOUND: at 90/s the load generator\n",
    ),
    [
      "CPU ratio (bound / x): 0.4",
      "contrast --help 2.10×",
      "goal met",
      "GENERATOR-BOUND: at 90/s the load generator",
    ],
  );
});

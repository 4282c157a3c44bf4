import assert from "node:assert/strict";
import { Counter } from "../../../coordinator/http/metrics.ts";

Deno.test("label values are escaped for the exposition format only where they need it", () => {
  const counter = new Counter("contrast_test_total", "test");
  counter.inc({ route: "/mesh/certificate", api: "mesh" });
  counter.inc({ reason: 'a\\b"c\nd' }, 2);
  assert.deepEqual(counter.render(), [
    "# HELP contrast_test_total test",
    "# TYPE contrast_test_total counter",
    'contrast_test_total{api="mesh",route="/mesh/certificate"} 1',
    'contrast_test_total{reason="a\\\\b\\"c\\nd"} 2',
  ]);
  assert.equal(counter.value({ api: "mesh", route: "/mesh/certificate" }), 1);
  assert.equal(counter.value({ reason: 'a\\b"c\nd' }), 2);
});

Deno.test("a series is the same whatever order its labels are given in; histogram buckets count up to their bound", async () => {
  const { Histogram } = await import("../../../coordinator/http/metrics.ts");
  const counter = new Counter("contrast_order_total", "test");
  counter.inc({ status: "200", api: "mesh", route: "/r" });
  counter.inc({ api: "mesh", route: "/r", status: "200" });
  counter.inc({ route: "/r", status: "200", api: "mesh" });
  counter.inc({});
  assert.deepEqual(counter.render().slice(2), [
    'contrast_order_total{api="mesh",route="/r",status="200"} 3',
    "contrast_order_total 1",
  ]);
  const histogram = new Histogram("contrast_h_seconds", "test", [0.1, 0.01, 1]);
  for (const v of [0.005, 0.01, 0.05, 0.1, 2]) histogram.observe(v, { b: "2", a: "1" });
  assert.equal(histogram.count({ a: "1", b: "2" }), 5);
  assert.deepEqual(histogram.render().slice(2), [
    'contrast_h_seconds_bucket{a="1",b="2",le="0.0100000"} 2',
    'contrast_h_seconds_bucket{a="1",b="2",le="0.100000"} 4',
    'contrast_h_seconds_bucket{a="1",b="2",le="1"} 4',
    'contrast_h_seconds_bucket{a="1",b="2",le="+Inf"} 5',
    'contrast_h_seconds_sum{a="1",b="2"} 2.16500',
    'contrast_h_seconds_count{a="1",b="2"} 5',
  ]);
});

Deno.test("a counter kept elsewhere is read when rendered; the Coordinator exports it only with a source", async () => {
  const { ReadCounter, CoordinatorMetrics } = await import("../../../coordinator/http/metrics.ts");
  let dropped = 0;
  const counter = new ReadCounter("contrast_read_total", "test", () => dropped);
  assert.deepEqual(counter.render(), [
    "# HELP contrast_read_total test",
    "# TYPE contrast_read_total counter",
    "contrast_read_total 0",
  ]);
  dropped = 3;
  assert.equal(counter.render()[2], "contrast_read_total 3");
  const name = "contrast_coordinator_log_batches_dropped_total";
  assert.ok(!new CoordinatorMetrics().render().includes(name));
  assert.match(
    new CoordinatorMetrics({ droppedLogBatches: () => 2 }).render(),
    new RegExp(`\\n${name} 2\\n`),
  );
});

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

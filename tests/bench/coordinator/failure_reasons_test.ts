import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  countFailures,
  failureLines,
  failureReason,
} from "../../../bench/coordinator/failure_reasons.ts";
import {
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from "../../../atls/coordinator_answers.ts";

Deno.test("failureReason: a Coordinator's answer is its status and reason", () => {
  assertEquals(
    failureReason(
      new CoordinatorUnavailableError(503, "coordinator", "storage did not answer in 5000 ms"),
    ),
    "503 storage did not answer in 5000 ms",
  );
  assertEquals(
    failureReason(new CoordinatorRejectedError(429, "coordinator", "too many requests")),
    "429 too many requests",
  );
});

Deno.test("failureReason: other errors are name and message, addresses left out, one line", () => {
  const reset = new Error("Connection reset by peer (os error 104) to 127.1.0.4:41234");
  reset.name = "ConnectionReset";
  assertEquals(
    failureReason(reset),
    "ConnectionReset: Connection reset by peer (os error 104) to ADDR",
  );
  assertEquals(failureReason(new TypeError("a\n    at x")), "TypeError: a");
  assertEquals(failureReason(new Error("from [::1]:8080")), "Error: from ADDR");
  assertEquals(failureReason("plain"), "plain");
  assertEquals(failureReason(new Error("x".repeat(500))).length, "Error: ".length + 153 + 1);
});

Deno.test("countFailures: by reason, most frequent first, ties by reason", () => {
  const reset = (port: number) => {
    const e = new Error(`Connection reset by peer to 127.1.0.${port % 200}:${port}`);
    e.name = "ConnectionReset";
    return e;
  };
  const busy = new CoordinatorUnavailableError(
    503,
    "coordinator",
    "storage did not answer in 5000 ms",
  );
  const errors = [
    busy,
    reset(40001),
    busy,
    new CoordinatorRejectedError(429, "coordinator", "budget spent"),
    reset(40002),
    busy,
  ];
  assertEquals(countFailures(errors), [
    { reason: "503 storage did not answer in 5000 ms", count: 3 },
    { reason: "ConnectionReset: Connection reset by peer to ADDR", count: 2 },
    { reason: "429 budget spent", count: 1 },
  ]);
  assertEquals(countFailures([new Error("b"), new Error("a")]).map((c) => c.reason), [
    "Error: a",
    "Error: b",
  ]);
  assertEquals(countFailures([]), []);
});

Deno.test("failureLines: a header with the total, then count, share and reason per line", () => {
  assertEquals(
    failureLines(
      [{ reason: "503 storage did not answer in 5000 ms", count: 120 }, {
        reason: "429 budget spent",
        count: 3,
      }],
      400,
      "  ",
    ),
    [
      "  failures by reason (123 of 400):",
      "    120   30.0 %  503 storage did not answer in 5000 ms",
      "      3    0.8 %  429 budget spent",
    ],
  );
  assertEquals(failureLines([], 10, ""), []);
});

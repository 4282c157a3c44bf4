import assert from "node:assert/strict";
import { acceptLoop, FIRST_BACKOFF_MS, MAX_BACKOFF_MS } from "../../meshproxy/accept_loop.ts";

class Closed extends Error {}

Deno.test("failed accepts back off (doubling to a cap, reset by a success); a close ends the loop", async () => {
  // 8 failures (EMFILE-like), a connection, 2 failures, a connection, then the close.
  const script: (string | Error)[] = [
    ...Array.from({ length: 8 }, () => new Error("Too many open files (os error 24)")),
    "first",
    new Error("Too many open files (os error 24)"),
    new Error("Too many open files (os error 24)"),
    "second",
    new Closed(),
  ];
  const pauses: number[] = [];
  const reported: number[] = [];
  const served: string[] = [];
  let accepts = 0;
  await acceptLoop({
    accept: () => {
      const next = script[accepts++]!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    isClosed: (error) => error instanceof Closed,
    onConnection: (c) => served.push(c),
    onError: (_error, backoffMs) => reported.push(backoffMs),
    sleep: (ms) => {
      pauses.push(ms);
      return Promise.resolve();
    },
  });
  assert.equal(accepts, script.length, "no accept retried without a pause");
  assert.deepEqual(served, ["first", "second"]);
  assert.deepEqual(pauses, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 100, 200]);
  assert.deepEqual(reported, pauses, "each failure reported once, with its pause");
  assert.equal(pauses[0], FIRST_BACKOFF_MS);
  assert.equal(Math.max(...pauses), MAX_BACKOFF_MS);
});

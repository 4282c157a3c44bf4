import assert from "node:assert/strict";
import { ConcurrencyLimiter } from "../../oci/limiter.ts";

Deno.test("runs at most the limit at once, in FIFO order, releasing slots on failure", async () => {
  const limiter = new ConcurrencyLimiter(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const releases: (() => void)[] = [];
  const task = (n: number, fail = false) =>
    limiter.run(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(n);
      await new Promise<void>((r) => releases.push(r));
      running--;
      if (fail) throw new Error(`task ${n}`);
      return n;
    });
  const all = [task(1, true), task(2), task(3), task(4)];
  const settled = Promise.allSettled(all);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, [1, 2]);
  while (releases.length > 0 || order.length < 4) {
    releases.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  }
  releases.forEach((r) => r());
  const results = await settled;
  assert.equal(results[0]!.status, "rejected");
  assert.deepEqual(results.slice(1).map((r) => r.status === "fulfilled" && r.value), [2, 3, 4]);
  assert.deepEqual(order, [1, 2, 3, 4]);
  assert.equal(peak, 2);
});

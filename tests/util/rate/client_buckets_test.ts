/**
 * The per-client token buckets shared by the vendor lookup budget and the Coordinator's request
 * budget: take and refill at the configured rate (injected clock), give back up to the burst, and
 * a table bounded by evicting the client touched longest ago.
 */
import assert from "node:assert/strict";
import { ClientBuckets } from "../../../util/rate/client_buckets.ts";

Deno.test("a client's bucket empties, says when the next token is due and refills only that fast", () => {
  let now = 0;
  const buckets = new ClientBuckets({ burst: 2, perMinute: 4, maxClients: 10, clock: () => now });
  assert.equal(buckets.take("a"), 0);
  assert.equal(buckets.take("a"), 0);
  assert.equal(buckets.take("a"), 15, "one token per 15 s at 4 per minute");
  assert.equal(buckets.take("b"), 0, "another client has its own bucket");
  now = 14_999;
  assert.equal(buckets.take("a"), 1, "a refusal takes nothing; at least 1 s");
  now = 15_000;
  assert.equal(buckets.take("a"), 0);
  assert.equal(buckets.take("a"), 15);
  now = 3_600_000;
  assert.equal(buckets.tokensOf("a"), 2, "a long pause fills up to the burst, no more");
  assert.equal(buckets.description, "2 at once, 4 per minute");
});

Deno.test("tokens given back count up to the burst; an unknown client holds a full bucket", () => {
  const buckets = new ClientBuckets({ burst: 3, perMinute: 1, maxClients: 10, clock: () => 0 });
  buckets.take("a");
  buckets.take("a");
  buckets.give("a", 5);
  assert.equal(buckets.tokensOf("a"), 3);
  buckets.give("nobody", 1);
  assert.equal(buckets.clients, 1, "giving creates no bucket");
  assert.equal(buckets.tokensOf("nobody"), 3);
});

Deno.test("the table keeps at most maxClients buckets, dropping the one touched longest ago", () => {
  const buckets = new ClientBuckets({ burst: 1, perMinute: 1, maxClients: 3, clock: () => 0 });
  for (const c of ["a", "b", "c"]) assert.equal(buckets.take(c), 0);
  assert.ok(buckets.take("a") > 0, "a is now the most recently touched");
  assert.equal(buckets.take("d"), 0);
  assert.equal(buckets.clients, 3);
  // b was touched longest ago: dropped, so it starts again with a full bucket; a was kept.
  assert.equal(buckets.take("b"), 0);
  assert.ok(buckets.take("a") > 0);
  for (let i = 0; i < 1000; i++) buckets.take(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(buckets.clients, 3);
});

Deno.test("burst, rate and table size must be positive", () => {
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(() => new ClientBuckets({ burst: bad, perMinute: 1, maxClients: 1 }), RangeError);
    assert.throws(() => new ClientBuckets({ burst: 1, perMinute: bad, maxClients: 1 }), RangeError);
    assert.throws(() => new ClientBuckets({ burst: 1, perMinute: 1, maxClients: bad }), RangeError);
  }
  assert.throws(() => new ClientBuckets({ burst: 1, perMinute: 1, maxClients: 1.5 }), RangeError);
});

/**
 * The per-client budget of uncached vendor lookups: a token bucket per client address with a
 * burst and a refill rate, refunds for lookups whose evidence verified, and a bounded table.
 */
import assert from "node:assert/strict";
import { LookupBudgetExceededError, VendorLookupBudget } from "../../collateral/lookup_budget.ts";
import { UnavailableError } from "../../util/errors/mod.ts";

const URL_A = "https://kds.example/vcek/v1/Milan/aa";

function refused(client: string) {
  return (e: unknown) =>
    e instanceof LookupBudgetExceededError && e instanceof UnavailableError &&
    e.client === client && e.field === URL_A;
}

Deno.test("a client over its budget is refused (with when to retry) while another client is served", () => {
  let now = 0;
  const budget = new VendorLookupBudget({ burst: 3, perMinute: 6, clock: () => now });
  const attacker = "10.0.0.66";
  for (let i = 0; i < 3; i++) budget.allowanceFor(attacker).take(URL_A);
  assert.throws(() => budget.allowanceFor(attacker).take(URL_A), refused(attacker));
  try {
    budget.allowanceFor(attacker).take(URL_A);
  } catch (e) {
    assert.ok(e instanceof LookupBudgetExceededError);
    assert.equal(e.retryAfterSeconds, 10, "one token per 10 s at 6 per minute");
    assert.match(e.reason, /client 10\.0\.0\.66 spent its budget .*3 at once, 6 per minute/);
  }
  // Another address has its own full bucket.
  for (let i = 0; i < 3; i++) budget.allowanceFor("10.0.0.7").take(URL_A);
  // The attacker's bucket refills at the configured rate, and only that fast.
  now = 9_999;
  assert.throws(() => budget.allowanceFor(attacker).take(URL_A), refused(attacker));
  now = 10_000;
  budget.allowanceFor(attacker).take(URL_A);
  assert.throws(() => budget.allowanceFor(attacker).take(URL_A), refused(attacker));
  // A long pause fills the bucket up to the burst, no more.
  now = 3_600_000;
  assert.equal(budget.tokensOf(attacker), 3);
});

Deno.test("a verified lookup refunds its token; an unverified one does not; refunds never exceed the burst", () => {
  const budget = new VendorLookupBudget({ burst: 2, perMinute: 1, clock: () => 0 });
  const pod = "10.1.0.5";
  for (let i = 0; i < 10; i++) {
    const allowance = budget.allowanceFor(pod);
    allowance.take(URL_A);
    allowance.refund(); // the evidence verified
    allowance.refund(); // a second call gives nothing more
  }
  assert.equal(budget.tokensOf(pod), 2, "a genuine pod is never throttled by its own success");
  const forged = budget.allowanceFor(pod);
  forged.take(URL_A);
  forged.take(URL_A);
  assert.throws(() => forged.take(URL_A), refused(pod));
  assert.equal(budget.tokensOf(pod), 0);
  forged.refund();
  assert.equal(budget.tokensOf(pod), 2, "exactly the two tokens taken come back");
  const refundedTwice = budget.allowanceFor(pod);
  refundedTwice.refund(); // nothing taken: nothing given
  assert.equal(budget.tokensOf(pod), 2);
});

Deno.test("the client table is bounded: the bucket used longest ago is evicted first", () => {
  const budget = new VendorLookupBudget({
    burst: 1,
    perMinute: 1,
    maxClients: 100,
    clock: () => 0,
  });
  for (let i = 0; i < 1000; i++) budget.allowanceFor(`10.2.${i >> 8}.${i & 255}`).take(URL_A);
  assert.equal(budget.clients, 100);
  // The last 100 are still held (spent); the first ones were evicted (back to a full bucket).
  assert.equal(budget.tokensOf("10.2.3.231"), 0); // i = 999
  assert.equal(budget.tokensOf("10.2.3.132"), 0); // i = 900
  assert.equal(budget.tokensOf("10.2.0.0"), 1);
  // Using a bucket moves it to the back: it survives the next evictions.
  assert.throws(() => budget.allowanceFor("10.2.3.132").take(URL_A), refused("10.2.3.132"));
  for (let i = 0; i < 99; i++) budget.allowanceFor(`10.3.0.${i}`).take(URL_A);
  assert.equal(budget.clients, 100);
  assert.equal(budget.tokensOf("10.2.3.132"), 0, "recently used: kept");
  assert.equal(budget.tokensOf("10.2.3.133"), 1, "not used since: evicted");
});

Deno.test("bad budget options are refused naming the option", () => {
  assert.throws(() => new VendorLookupBudget({ burst: 0 }), /burst must be a positive number/);
  assert.throws(
    () => new VendorLookupBudget({ perMinute: Number.NaN }),
    /perMinute must be a positive number/,
  );
  assert.throws(
    () => new VendorLookupBudget({ maxClients: 1.5 }),
    /maxClients must be a positive integer/,
  );
});

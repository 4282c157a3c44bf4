/**
 * The caching fetcher charges a client's budget of uncached vendor lookups only for network
 * lookups it actually makes: never for cache or bundle hits, never for joining another caller's
 * lookup of the same URL, and another client's spent budget does not refuse this one.
 */
import assert from "node:assert/strict";
import { CachingFetcher } from "../../collateral/mod.ts";
import { LookupBudgetExceededError, VendorLookupBudget } from "../../collateral/lookup_budget.ts";
import { writeToBundle } from "../../collateral/bundle.ts";
import { startServer } from "./local_server.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** A budget whose client `spent` has no token left (and whose clock stands still). */
function budgetWithSpent(spent: string): VendorLookupBudget {
  const budget = new VendorLookupBudget({ burst: 1, perMinute: 1, clock: () => 0 });
  budget.allowanceFor(spent).take("earlier");
  return budget;
}

Deno.test("an over-budget client's network lookup is refused without a request; a cached or bundled one is served", async () => {
  const server = startServer(() => new Response("VCEK"));
  try {
    await withTempDir(async (dir) => {
      const budget = budgetWithSpent("10.0.0.66");
      const fetcher = new CachingFetcher({
        cacheDir: `${dir}/cache`,
        importDirs: [`${dir}/bundle`],
      });
      const url = `${server.base}/vcek/v1/Milan/aa`;
      await assert.rejects(
        fetcher.get(url, { allowance: budget.allowanceFor("10.0.0.66") }),
        (e) => e instanceof LookupBudgetExceededError && e.field === url,
      );
      assert.equal(server.total(), 0, "nothing sent");
      // Cached (by a lookup without a budget): served to the spent client, no token needed.
      await fetcher.get(url);
      const cached = await fetcher.get(url, { allowance: budget.allowanceFor("10.0.0.66") });
      assert.equal(cached.source, "cache");
      const bundled = `${server.base}/vcek/v1/Milan/bb`;
      await writeToBundle(`${dir}/bundle`, bundled, new TextEncoder().encode("VCEK"), {});
      const imported = await fetcher.get(bundled, { allowance: budget.allowanceFor("10.0.0.66") });
      assert.equal(imported.source, "import");
      assert.equal(server.total(), 1);
      assert.equal(budget.tokensOf("10.0.0.66"), 0);
    });
  } finally {
    await server.close();
  }
});

Deno.test("concurrent lookups of one URL: a spent client's refusal does not refuse a client with budget, and joining costs nothing", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const server = startServer(async () => {
    await held;
    return new Response("VCEK");
  });
  try {
    const budget = budgetWithSpent("10.0.0.66");
    const fetcher = new CachingFetcher({});
    const url = `${server.base}/vcek/v1/Milan/aa`;
    // The spent client asks first, the genuine one joins its lookup while it is pending.
    const attacker = fetcher.get(url, { allowance: budget.allowanceFor("10.0.0.66") });
    const genuine = fetcher.get(url, { allowance: budget.allowanceFor("10.0.0.7") });
    await assert.rejects(attacker, LookupBudgetExceededError);
    // The genuine client's own lookup runs; a spent client joining it waits and is served free.
    const joiner = fetcher.get(url, { allowance: budget.allowanceFor("10.0.0.66") });
    release();
    assert.equal(new TextDecoder().decode((await genuine).body), "VCEK");
    assert.equal(new TextDecoder().decode((await joiner).body), "VCEK");
    assert.equal(server.total(), 1);
    assert.equal(budget.tokensOf("10.0.0.7"), 0, "the genuine client paid for its lookup");
    assert.equal(budget.tokensOf("10.0.0.66"), 0);
  } finally {
    release();
    await server.close();
  }
});

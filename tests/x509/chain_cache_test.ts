import assert from "node:assert/strict";
import { ChainCache } from "../../x509/chain_cache.ts";

const FROM = new Date("2025-01-01T00:00:00Z");
const UNTIL = new Date("2026-01-01T00:00:00Z");

Deno.test("a cached chain is served exactly within [validFrom, validUntil]", () => {
  const cache = new ChainCache();
  cache.storeChain("k", { value: "chain", validFrom: FROM, validUntil: UNTIL });
  assert.equal(cache.lookupChain("k", FROM), "chain");
  assert.equal(cache.lookupChain("k", UNTIL), "chain");
  assert.equal(cache.lookupChain("k", new Date(FROM.getTime() - 1)), undefined);
  assert.equal(cache.lookupChain("k", new Date(UNTIL.getTime() + 1)), undefined);
  assert.equal(cache.lookupChain("other", FROM), undefined);
  assert.deepEqual({ hits: cache.stats.hits, misses: cache.stats.misses }, { hits: 2, misses: 3 });
});

Deno.test("signatures are remembered up to the limit, least recently used dropped first", () => {
  const cache = new ChainCache({ maxSignatures: 2 });
  cache.storeSignature("a");
  cache.storeSignature("b");
  assert.ok(cache.hasSignature("a")); // a is now the most recently used
  cache.storeSignature("c");
  assert.ok(cache.hasSignature("a"));
  assert.ok(!cache.hasSignature("b"));
  assert.ok(cache.hasSignature("c"));
});

Deno.test("clear forgets chains and signatures", () => {
  const cache = new ChainCache();
  cache.storeChain("k", { value: 1, validFrom: FROM, validUntil: UNTIL });
  cache.storeSignature("s");
  cache.clear();
  assert.equal(cache.lookupChain("k", FROM), undefined);
  assert.ok(!cache.hasSignature("s"));
});

Deno.test("a pending verification is tracked until it settles, also when it fails", async () => {
  const cache = new ChainCache();
  let fail!: (e: Error) => void;
  const work = new Promise<never>((_, reject) => (fail = reject));
  cache.trackPendingChain("k", work);
  assert.equal(cache.pendingChain("k"), work);
  fail(new Error("bad chain"));
  await work.catch(() => {});
  await Promise.resolve();
  assert.equal(cache.pendingChain("k"), undefined);
});

Deno.test("a signature under check is checked once for concurrent callers", async () => {
  const cache = new ChainCache();
  let runs = 0;
  let finish!: () => void;
  const verify = () => {
    runs++;
    return new Promise<void>((resolve) => (finish = resolve));
  };
  const first = cache.verifySignatureOnce("s", verify);
  const second = cache.verifySignatureOnce("s", verify);
  await Promise.resolve();
  finish();
  assert.deepEqual(await Promise.all([first, second]), [true, false]);
  assert.equal(runs, 1);
  assert.ok(cache.hasSignature("s"));
  assert.equal(await cache.verifySignatureOnce("s", verify), false); // remembered
  assert.equal(runs, 1);
});

Deno.test("a failed signature check is not shared: the waiter checks afresh", async () => {
  const cache = new ChainCache();
  let fail!: (e: Error) => void;
  const first = cache.verifySignatureOnce(
    "s",
    () => new Promise<void>((_, reject) => (fail = reject)),
  );
  let secondRan = false;
  const second = cache.verifySignatureOnce("s", () => {
    secondRan = true;
    return Promise.reject(new Error("second caller's own error"));
  });
  fail(new Error("bad signature"));
  await assert.rejects(first, /bad signature/);
  await assert.rejects(second, /second caller's own error/);
  assert.ok(secondRan);
  assert.ok(!cache.hasSignature("s"));
});

Deno.test("a memoized key is handed out only for the very same parts, and never an undefined one", () => {
  const cache = new ChainCache();
  const owner = {};
  const a = {};
  const b = {};
  let built = 0;
  const build = () => `key-${++built}`;
  const first = cache.memoizedKey(owner, ["leaf", 3, a], build);
  assert.equal(cache.memoizedKey(owner, ["leaf", 3, a], build), first); // a new array, same parts
  assert.equal(built, 1);
  assert.equal(cache.memoizedKey(owner, ["leaf", 3, b], build), "key-2"); // another object
  assert.equal(cache.memoizedKey(owner, ["leaf", 2, b], build), "key-3"); // another number
  assert.equal(cache.memoizedKey(owner, ["leaf", 2, b, a], build), "key-4"); // one part more
  assert.equal(cache.memoizedKey({}, ["leaf", 2, b, a], build), "key-5"); // another owner
  assert.equal(cache.memoizedKey(owner, ["x"], () => undefined), undefined);
  assert.equal(cache.memoizedKey(owner, ["x"], build), "key-6"); // undefined was not kept
  cache.clear();
  assert.equal(cache.memoizedKey(owner, ["x"], build), "key-7");
});

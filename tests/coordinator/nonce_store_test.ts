import assert from "node:assert/strict";
import { ForbiddenError } from "../../protocol/errors.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { NonceStore } from "../../coordinator/nonce_store.ts";

Deno.test("a nonce is accepted exactly once", () => {
  const store = new NonceStore();
  const nonce = store.issue();
  assert.equal(nonce.length, 32);
  store.redeem(nonce);
  assert.throws(() => store.redeem(nonce), ForbiddenError);
});

Deno.test("rejects a nonce the store never issued", () => {
  assert.throws(
    () => new NonceStore().redeem(new Uint8Array(32)),
    (e: unknown) => e instanceof ForbiddenError && e.field === "nonce",
  );
});

Deno.test("rejects an expired nonce", () => {
  let now = 1_000;
  const store = new NonceStore({ ttlMs: 100, now: () => now });
  const nonce = store.issue();
  now += 100;
  assert.throws(() => store.redeem(nonce), /expired/);
});

Deno.test("one client holds at most `perClient` nonces, losing only its own oldest", () => {
  const store = new NonceStore({ perClient: 3 });
  const pod = store.issue("10.0.0.7");
  const first = store.issue("attacker");
  const flood = Array.from({ length: 1000 }, () => store.issue("attacker"));
  assert.equal(store.size, 4);
  assert.throws(() => store.redeem(first), ForbiddenError);
  store.redeem(flood.at(-1)!);
  store.redeem(pod);
});

Deno.test("a full store refuses new challenges (503) instead of evicting a waiting pod's", () => {
  const store = new NonceStore({ capacity: 3, perClient: 100 });
  const pod = store.issue("10.0.0.7");
  store.issue("a");
  store.issue("b");
  assert.throws(
    () => store.issue("c"),
    (e: unknown) => e instanceof UnavailableError && e.field === "nonce",
  );
  store.redeem(pod);
  store.issue("c");
});

Deno.test("expired nonces are dropped when new ones are issued", () => {
  let now = 0;
  const store = new NonceStore({ ttlMs: 10, now: () => now });
  store.issue();
  store.issue();
  now = 50;
  store.issue();
  assert.equal(store.size, 1);
});

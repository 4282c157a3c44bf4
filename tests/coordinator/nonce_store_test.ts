import assert from "node:assert/strict";
import { ForbiddenError } from "../../protocol/errors.ts";
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

Deno.test("holds at most `capacity` nonces, dropping the oldest", () => {
  const store = new NonceStore({ capacity: 3 });
  const first = store.issue();
  for (let i = 0; i < 5; i++) store.issue();
  assert.ok(store.size <= 3);
  assert.throws(() => store.redeem(first), ForbiddenError);
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

/**
 * The Coordinator's per-client budget of expensive unauthenticated requests (`/attest` on either
 * port, `/mesh/certificate`, `/manifest`, `/recover`): an in-process Coordinator with a small
 * budget and an injected clock, driven over HTTPS from two loopback addresses. Before the budget,
 * every `/attest` was served, however many one address sent (each a freshly signed report).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { CoordinatorUnavailableError, PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { ApiPath } from "../../protocol/messages.ts";
import { deployment, inProcessCoordinator, LOOPBACK_SERVICE_CONFIG } from "./fixture.ts";
import {
  RequestBudget,
  RequestBudgetExceededError,
} from "../../coordinator/http/request_budget.ts";
import { statusFor } from "../../coordinator/http/errors.ts";

const ATTEST = { nonce: encodeHex(new Uint8Array(32)), withoutPolicies: true };

/** The error `promise` rejects with, asserted to be a 429 with `Retry-After: seconds`. */
async function assertRefused(promise: Promise<unknown>, seconds: number): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof CoordinatorUnavailableError, String(error));
  assert.equal(error.status, 429);
  assert.deepEqual(error.retryAfter, { kind: "seconds", seconds });
  return error.reason;
}

Deno.test({
  name:
    "one address over its request budget is answered 429 + Retry-After on both ports while another address is served; tokens refill",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    let now = 1_000_000;
    const d = await deployment();
    const c = await inProcessCoordinator(d, {
      service: {
        ...LOOPBACK_SERVICE_CONFIG,
        requestBudget: { burst: 3, perMinute: 6, clock: () => now },
      },
    });
    const clients: PinnedHttpsClient[] = [];
    const client = (address: string, localAddress: string) => {
      const made = new PinnedHttpsClient(address, { localAddress, keepAlive: false });
      clients.push(made);
      return made;
    };
    try {
      await c.setFirstManifest();
      const aUser = client(c.userAddress, "127.0.0.1");
      const aMesh = client(c.meshAddress, "127.0.0.1");
      const b = client(c.userAddress, "127.0.0.2");
      // The burst of 3, shared by the user and mesh ports.
      await aUser.request("POST", ApiPath.attest, ATTEST);
      await aMesh.request("POST", ApiPath.attest, ATTEST);
      await aUser.request("POST", ApiPath.attest, ATTEST);
      const logsBefore = c.logs.length;
      const reason = await assertRefused(aUser.request("POST", ApiPath.attest, ATTEST), 10);
      assert.match(reason, /client 127\.0\.0\.1 spent its budget .*\(3 at once, 6 per minute\)/);
      await assertRefused(aMesh.request("POST", ApiPath.attest, ATTEST), 10);
      // `/manifest` is charged before its body is read: a body that is no manifest request is
      // refused 429, not 400 (nothing parsed, no signature checked).
      await assertRefused(aUser.request("POST", ApiPath.manifest, { manifest: "x" }), 10);
      // Cheap requests are not charged: a challenge is still served.
      await aMesh.request("POST", ApiPath.meshChallenge, {});
      // Another address has a budget of its own.
      await b.request("POST", ApiPath.attest, ATTEST);
      // Logged as refused requests (warn, status 429), with the address and no request content.
      const refusals = c.logs.slice(logsBefore).filter((l) => /"status":429/.test(l));
      assert.equal(refusals.length, 3, c.logs.slice(logsBefore).join("\n"));
      for (const line of refusals) {
        assert.match(line, /"level":"warn"/);
        assert.match(line, /client 127\.0\.0\.1 spent its budget/);
        assert.doesNotMatch(line, /nonce|"x"/);
      }
      // A token is due 10 s after the burst was spent (6 per minute), not before.
      now += 9_000;
      await assertRefused(aUser.request("POST", ApiPath.attest, ATTEST), 1);
      now += 1_000;
      await aUser.request("POST", ApiPath.attest, ATTEST);
      await assertRefused(aUser.request("POST", ApiPath.attest, ATTEST), 10);
      // A pause refills the bucket to its burst.
      now += 3_600_000;
      for (let i = 0; i < 3; i++) await aMesh.request("POST", ApiPath.attest, ATTEST);
      await assertRefused(aMesh.request("POST", ApiPath.attest, ATTEST), 10);
    } finally {
      for (const made of clients) made.close();
      await c.close();
    }
  },
});

Deno.test("a request budget refusal names the path and client and is a 429; the table is bounded", () => {
  const budget = new RequestBudget({ burst: 1, perMinute: 2, maxClients: 2, clock: () => 0 });
  budget.charge("10.0.0.1", "/attest");
  let refusal: unknown;
  try {
    budget.charge("10.0.0.1", "/manifest");
  } catch (e) {
    refusal = e;
  }
  assert.ok(refusal instanceof RequestBudgetExceededError);
  assert.equal(refusal.field, "/manifest");
  assert.equal(refusal.client, "10.0.0.1");
  assert.equal(refusal.retryAfterSeconds, 30);
  assert.equal(statusFor(refusal), 429);
  for (let i = 2; i < 100; i++) budget.charge(`10.0.0.${i}`, "/attest");
  assert.equal(budget.clients, 2, "at most maxClients buckets");
  // 10.0.0.1's bucket was dropped: it starts again full, no worse than a new address.
  budget.charge("10.0.0.1", "/attest");
});

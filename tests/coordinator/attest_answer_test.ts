import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes, decodeHex, encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { ApiPath, parseManifestRequest } from "../../protocol/messages.ts";
import { PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { coordinatorTest } from "./coordinator_test_case.ts";

/** An `/attest` answer without its evidence (a fresh signature each time). */
function withoutEvidence(answer: unknown): Record<string, unknown> {
  const { evidence, ...rest } = answer as Record<string, unknown>;
  assert.equal(typeof evidence, "object");
  return rest;
}

coordinatorTest(
  "the served /attest answer (state part serialised once per state) is attest()'s answer " +
    "and follows manifest updates",
  async (d, c) => {
    const client = new PinnedHttpsClient(c.meshAddress);
    const served = async () =>
      await client.request("POST", ApiPath.attest, { nonce: encodeHex(new Uint8Array(32)) });
    try {
      const empty = withoutEvidence(await served());
      assert.deepEqual(
        empty,
        withoutEvidence(await c.coordinator.attest({ nonce: new Uint8Array(32) })),
      );
      assert.equal(empty.latestTransition, "");

      const set = await c.setFirstManifest();
      const first = withoutEvidence(await served());
      assert.deepEqual(
        first,
        withoutEvidence(await c.coordinator.attest({ nonce: new Uint8Array(32) })),
      );
      assert.equal(first.latestTransition, set.transition);
      assert.equal((first.manifests as string[]).length, 1);
      assert.equal(Object.keys(first.policies as object).length, 3);
      assert.deepEqual(withoutEvidence(await served()), first);

      // An update replaces the state: the next answer is the new state's, not the cached one.
      const update = concatBytes(d.manifest(), new TextEncoder().encode("\n"));
      const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
      const signature = await signManifestUpdate(
        owner,
        await transitionHash(await manifestHash(update), decodeHex(set.transition)),
      );
      const updated = await c.coordinator.setManifest(parseManifestRequest({
        manifest: encodeBase64(update),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: set.transition,
        signature: encodeHex(signature),
      }));
      const second = withoutEvidence(await served());
      assert.equal(second.latestTransition, updated.transition);
      assert.equal((second.manifests as string[]).length, 2);
      assert.equal(second.meshCa, updated.meshCa);
      assert.deepEqual(
        second,
        withoutEvidence(await c.coordinator.attest({ nonce: new Uint8Array(32) })),
      );
    } finally {
      client.close();
    }
  },
);

coordinatorTest(
  "/attest withoutPolicies: the same answer with no policy documents, cached apart from " +
    "the full one",
  async (_d, c) => {
    const client = new PinnedHttpsClient(c.meshAddress);
    const served = async (withoutPolicies?: boolean) =>
      withoutEvidence(
        await client.request("POST", ApiPath.attest, {
          nonce: encodeHex(new Uint8Array(32)),
          ...(withoutPolicies === undefined ? {} : { withoutPolicies }),
        }),
      );
    try {
      await c.setFirstManifest();
      const full = await served();
      const lean = await served(true);
      assert.equal(Object.keys(full.policies as object).length, 3);
      assert.deepEqual(lean.policies, {});
      assert.deepEqual({ ...lean, policies: full.policies }, full);
      // Each variant is cached on its own: neither answer leaks into the other.
      assert.deepEqual(await served(false), full);
      assert.deepEqual(await served(true), lean);
      assert.deepEqual(await served(), full);
    } finally {
      client.close();
    }
  },
);

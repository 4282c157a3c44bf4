import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { coordinatorTest } from "./coordinator_test_case.ts";

coordinatorTest(
  "refuses a policy document that is not initdata even when its hash is in the manifest",
  async (d, c) => {
    const junk = new TextEncoder().encode("not = [toml");
    const bytes = d.manifest((m) => {
      (m.Policies as Record<string, unknown>)["JUNK"] = {
        SANs: ["junk"],
        WorkloadSecretID: "",
        Role: "",
      };
    });
    const manifest = new TextDecoder().decode(bytes).replace("JUNK", encodeHex(await sha256(junk)));
    await assert.rejects(
      c.coordinator.setManifest(parseManifestRequest({
        manifest: encodeBase64(new TextEncoder().encode(manifest)),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc, junk].map(encodeBase64),
        previous_transition: "00".repeat(32),
        signature: await d.ownerSignature(new TextEncoder().encode(manifest)),
      })),
      (e: unknown) => e instanceof ParseError && e.field.startsWith("policies[3]"),
    );
    assert.equal(c.coordinator.phase, "awaiting-manifest");
  },
);

coordinatorTest(
  "attest binds the state: the phase, CAs and transition change the answer consistently",
  async (_d, c) => {
    const before = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    assert.equal(before.latestTransition, "");
    assert.equal(before.rootCa, "");
    assert.equal(before.recoveryNeeded, false);
    const set = await c.setFirstManifest();
    const after = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    assert.equal(after.latestTransition, set.transition);
    assert.equal(after.rootCa, set.rootCa);
    assert.equal(after.manifests.length, 1);
    assert.equal(Object.keys(after.policies).length, 3);
    await c.restart();
    const recovering = await c.coordinator.attest({ nonce: new Uint8Array(32) });
    assert.equal(recovering.recoveryNeeded, true);
    assert.equal(recovering.latestTransition, set.transition);
    assert.equal(recovering.rootCa, "");
    // The claimed (stored, not yet verified) history is served for the owner to check.
    assert.deepEqual(recovering.manifests, after.manifests);
    assert.deepEqual(recovering.signatures, after.signatures);
    assert.equal(Object.keys(recovering.policies).length, 0);
    assert.throws(() => c.coordinator.challenge(), /recovery/);
  },
);

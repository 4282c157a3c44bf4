/**
 * A disk-backed emptyDir in Kata's block-encrypted mode is one device for the whole pod, mounted at
 * `/run/kata-containers/sandbox/storage/<base64url of its PCI path>` and bound from there. The
 * fixture pod with its /contrast emptyDir on an encrypted block device: every legitimate request is
 * allowed, and a storage at another device's directory, a bind from a directory no storage of the
 * request adds, or (for the app, after the Initializer had the volume) a fresh device is denied,
 * as every other mutant.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../../rego/evaluator.ts";
import { checkPod } from "../../../policy/check/checker.ts";
import { mutantsOf } from "../../../policy/check/mutations.ts";
import { blockStorageDir, buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { readWorkload } from "../../../policy/check/pod.ts";
import { loadDefaultSettings } from "../../../policy/settings.ts";
import { settingsForEmptyDirMode } from "../../../policy/runtime_profiles.ts";
import { DEFAULT_NODE_RUNTIME } from "../../../policy/check/runtime_model.ts";
import { DOCS, fixtureCluster, fixturePolicyData, IMAGES } from "./fixtures.ts";

/** The fixture Deployment with its `secrets` emptyDir on disk instead of in memory. */
function diskEmptyDirDeployment() {
  const doc = structuredClone(DOCS[2]) as {
    metadata: { name: string };
    spec: { template: { metadata: object; spec: { volumes: Record<string, unknown>[] } } };
  };
  const volumes = doc.spec.template.spec.volumes;
  volumes[volumes.findIndex((v) => v.name === "secrets")] = { name: "secrets", emptyDir: {} };
  return doc;
}

Deno.test("the block device's directory is the base64url of its PCI path (Kata's runtime)", () => {
  assert.equal(blockStorageDir("00/00"), "/run/kata-containers/sandbox/storage/MDAvMDA=");
  // Plain base64 would write "w7/Dvg==" here: the runtime's URL alphabet has '_' for '/'.
  assert.equal(blockStorageDir("\xff\xfe"), "/run/kata-containers/sandbox/storage/w7_Dvg==");
});

Deno.test("a block-encrypted emptyDir split from the pod's volume is denied", async () => {
  const rules = await CompiledRules.load();
  const deployment = diskEmptyDirDeployment();
  const cluster = fixtureCluster();
  const pd = await fixturePolicyData(
    deployment,
    settingsForEmptyDirMode(await loadDefaultSettings(), "block-encrypted"),
  );
  const workload = readWorkload(deployment, "fixture.yml#2")!;
  for (const seed of [1, 2]) {
    const seq = buildRequestSequence({
      workload,
      images: IMAGES,
      cluster,
      rng: seededRandom(seed),
      node: { ...DEFAULT_NODE_RUNTIME, emptyDirMode: "block-encrypted" },
    });
    const report = await checkPod(rules, seq, pd, "00", { mutate: true, rng: seededRandom(seed) });
    assert.deepEqual(report.denied.map((d) => d.label), []);
    assert.deepEqual(report.weaknesses.map((w) => `${w.step}: ${w.mutant}`), []);
    const split = seq.steps.flatMap((step) =>
      mutantsOf(step, seq, seededRandom(seed)).map((m) => `${step.label}: ${m.name}`)
    ).filter((name) => /emptyDir (device mounted at|bound from|on another device)/.test(name));
    // setup and app: storage and bind moved, bind from a subdirectory (3 each); the app also on a
    // fresh device
    assert.equal(split.length, 7, split.join("\n"));
  }
});

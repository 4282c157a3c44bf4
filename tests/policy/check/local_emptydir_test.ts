/**
 * A disk-backed emptyDir in Kata's guest-local mode lies in the sandbox's own directory
 * (`/run/kata-containers/shared/containers/<sandbox ID>/rootfs/local/<name>`). The fixture pod with
 * its /contrast emptyDir on disk: every legitimate request is allowed, and the emptyDir's storage
 * or bind-mount source moved to a directory named like a shared file (which CopyFile writes
 * below, so the host could fill the volume) is denied, as every other mutant.
 */
import assert from "node:assert/strict";
import { CompiledRules } from "../../../rego/evaluator.ts";
import { checkPod } from "../../../policy/check/checker.ts";
import { mutantsOf } from "../../../policy/check/mutations.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { readWorkload } from "../../../policy/check/pod.ts";
import { DOCS, fixtureCluster, fixturePolicyData, IMAGES } from "./fixtures.ts";

/** The fixture Deployment with its `secrets` emptyDir on disk instead of in memory. */
function diskEmptyDirDeployment(): unknown {
  const doc = structuredClone(DOCS[2]) as {
    spec: { template: { spec: { volumes: Record<string, unknown>[] } } };
  };
  const volumes = doc.spec.template.spec.volumes;
  volumes[volumes.findIndex((v) => v.name === "secrets")] = { name: "secrets", emptyDir: {} };
  return doc;
}

Deno.test("a guest-local emptyDir moved out of the sandbox's directory is denied", async () => {
  const rules = await CompiledRules.load();
  const deployment = diskEmptyDirDeployment();
  const pd = await fixturePolicyData(deployment);
  const workload = readWorkload(deployment, "fixture.yml#2")!;
  for (const seed of [1, 2]) {
    const seq = buildRequestSequence({
      workload,
      images: IMAGES,
      cluster: fixtureCluster(),
      rng: seededRandom(seed),
    });
    const report = await checkPod(rules, seq, pd, "00", { mutate: true, rng: seededRandom(seed) });
    assert.deepEqual(report.denied.map((d) => d.label), []);
    assert.deepEqual(report.weaknesses.map((w) => `${w.step}: ${w.mutant}`), []);
    const moved = seq.steps.flatMap((step) =>
      mutantsOf(step, seq, seededRandom(seed)).map((m) => `${step.label}: ${m.name}`)
    ).filter((name) => name.includes("CopyFile directory"));
    // the setup and app containers, each with the mount source and with the storage moved
    assert.equal(moved.length, 4, moved.join("\n"));
  }
});

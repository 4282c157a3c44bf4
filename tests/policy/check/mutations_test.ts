import assert from "node:assert/strict";
import {
  mutantsOf,
  podIndependentMutants,
  policyExecMutants,
  stateMutantsAfter,
} from "../../../policy/check/mutations.ts";
import { leafDiffs, renderPath } from "../../../policy/check/explain.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { fixtureCluster, fixtureWorkload, IMAGES } from "./fixtures.ts";

const seq = buildRequestSequence({
  workload: fixtureWorkload(),
  images: IMAGES,
  cluster: fixtureCluster(),
  rng: seededRandom(4),
});

Deno.test("every mutant changes its request, only under the field it names", () => {
  let count = 0;
  for (const step of seq.steps) {
    for (const m of mutantsOf(step, seq, seededRandom(1))) {
      count++;
      assert.equal(m.request.type, step.request.type);
      const changed = leafDiffs(step.request.input, m.request.input).map((d) => renderPath(d.path));
      assert.ok(changed.length > 0, `${step.label}: "${m.name}" changes nothing`);
      const root = m.field.replace(/\[\d+\].*$/, "").replace(/\[".*$/, "");
      for (const path of changed) {
        assert.ok(
          path === root || path.startsWith(root + ".") || path.startsWith(root + "[") ||
            m.field.startsWith(path),
          `${step.label}: "${m.name}" names ${m.field} but changes ${path}`,
        );
      }
    }
  }
  assert.ok(count > 100);
});

Deno.test("mutants never alter the legitimate request they derive from", () => {
  const before = JSON.stringify(seq.steps);
  for (const step of seq.steps) mutantsOf(step, seq, seededRandom(2));
  assert.equal(JSON.stringify(seq.steps), before);
});

Deno.test("the catalogue covers the issue's list", () => {
  const names = new Set([
    ...seq.steps.flatMap((s) => mutantsOf(s, seq, seededRandom(3)).map((m) => m.name)),
    ...seq.steps.flatMap((s) => stateMutantsAfter(s, seq, seededRandom(3)).map((m) => m.name)),
  ]);
  for (
    const n of [
      "changed argument",
      "extra argument",
      "extra env var",
      "changed env var",
      "other image digest",
      "extra mount",
      "changed mount source",
      "writable root",
      "extra capability",
      "privileged capabilities",
      "terminal",
      "hooks set",
      "seccomp set",
      "shared mounts",
      "foreign annotation",
      "other namespace",
      "other sandbox name",
      "non-probe command",
      "unknown container",
      "exec into removed container",
      "path with ..",
      "absolute symlink",
      "kernel modules",
      "guest hook",
      "interface lo",
      "route from 127.0.0.1",
      "SetPolicy",
      "UpdateContainer",
      "stdin write when streams are disabled",
      "second sandbox",
      "missing env var",
      "extra masked path",
    ]
  ) assert.ok(names.has(n), n);
});

Deno.test("non-guarantees are labelled as such, everything else must be denied", () => {
  const all = seq.steps.flatMap((s) => mutantsOf(s, seq, seededRandom(5)));
  const ng = new Set(all.filter((m) => m.expectation === "non-guarantee").map((m) => m.name));
  assert.deepEqual([...ng].sort(), [
    "injected service-link variable",
    "missing env var",
  ]);
});

Deno.test("policy-derived exec mutants: commands the policy allows but the pod never runs", () => {
  const exec = seq.steps.find((s) => s.request.type === "ExecProcessRequest")!;
  const pd = {
    containers: [{ name: "app", exec_commands: [["/usr/bin/app", "health"], ["sh"]] }],
    exec: { allowed_commands: [["bash"]] },
  };
  const mutants = policyExecMutants(exec, seq, pd);
  assert.deepEqual(
    mutants.map((m) =>
      m.request.input.process && (m.request.input.process as { Args: string[] }).Args
    ),
    [
      ["bash"],
      ["sh"],
    ],
  );
  assert.deepEqual(policyExecMutants(exec, seq, { other: true }), []);
});

Deno.test("pod-independent mutants are complete requests of known types", () => {
  const mutants = podIndependentMutants(seededRandom(6));
  assert.ok(mutants.length >= 15);
  for (const m of mutants) {
    assert.equal(m.expectation, "deny");
    assert.ok(
      Object.keys(m.request.input).length > 0 || m.request.type === "DestroySandboxRequest",
    );
  }
});

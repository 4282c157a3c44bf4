import assert from "node:assert/strict";
import {
  compareWithExpectation,
  copyFileMismatches,
  execMismatches,
  expectationFor,
} from "../../../policy/check/policy_data_diff.ts";
import { buildRequestSequence } from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";
import { cloneJson, type JsonObject } from "../../../policy/check/agent_protocol.ts";
import { fixtureCluster, fixturePolicyData, fixtureWorkload, IMAGES } from "./fixtures.ts";

const pd = await fixturePolicyData();
const seq = buildRequestSequence({
  workload: fixtureWorkload(),
  images: IMAGES,
  cluster: fixtureCluster(),
  rng: seededRandom(8),
});
const creates = seq.steps.filter((s) => s.request.type === "CreateContainerRequest");

Deno.test("legitimate containers match their expectations field by field", () => {
  for (const s of creates) {
    const c = expectationFor(pd, s.request.input);
    assert.ok(c, s.label);
    assert.deepEqual(compareWithExpectation(c, s.request.input), [], s.label);
  }
});

Deno.test("each tampered field is named with what the policy expects", () => {
  const input = cloneJson(creates[2].request.input);
  const oci = input.OCI as JsonObject;
  (oci.Process as JsonObject).Cwd = "/tmp";
  (oci.Linux as JsonObject).Namespaces = [{ Type: "ipc", Path: "" }];
  (oci.Annotations as JsonObject)["x.example/evil"] = "1";
  const c = expectationFor(pd, input)!;
  const fields = compareWithExpectation(c, input).map((m) => m.field);
  assert.deepEqual(fields.sort(), [
    'OCI.Annotations["x.example/evil"]',
    "OCI.Linux.Namespaces",
    "OCI.Process.Cwd",
  ]);
});

Deno.test("a container the policy does not know has no expectation", () => {
  const input = cloneJson(creates[2].request.input);
  ((input.OCI as JsonObject).Annotations as JsonObject)["io.kubernetes.cri.container-name"] = "x";
  assert.equal(expectationFor(pd, input), undefined);
});

Deno.test("exec and CopyFile mismatches name the command and the path", () => {
  const exec = seq.steps.find((s) => s.request.type === "ExecProcessRequest")!.request.input;
  assert.deepEqual(execMismatches(pd, exec), []);
  const bad = cloneJson(exec);
  (bad.process as JsonObject).Args = ["sh"];
  assert.deepEqual(execMismatches(pd, bad).map((m) => m.field), ["process.Args"]);
  const copy = seq.steps.find((s) => s.request.type === "CopyFileRequest")!.request.input;
  assert.deepEqual(copyFileMismatches(pd, copy), []);
  assert.deepEqual(
    copyFileMismatches(pd, { ...copy, path: "/etc/passwd" }).map((m) => m.field),
    ["path"],
  );
  assert.deepEqual(
    copyFileMismatches(pd, { ...copy, file_type: "Symlink", symlink_target: "/etc" })
      .map((m) => m.field),
    ["symlink_target"],
  );
});

Deno.test("GPU containers: CDI annotations are explained by count and value, not as unknown", () => {
  const input = cloneJson(creates[2].request.input);
  const annotations = (input.OCI as JsonObject).Annotations as JsonObject;
  const c = { ...expectationFor(pd, input)!, gpus: 2 };
  annotations["cdi.k8s.io/vfio1"] = "nvidia.com/gpu=0";
  annotations["cdi.k8s.io/vfio2"] = "nvidia.com/gpu=1";
  assert.deepEqual(compareWithExpectation(c, input), []);
  annotations["cdi.k8s.io/vfio2"] = "invalid-format";
  assert.deepEqual(compareWithExpectation(c, input).map((m) => m.field), [
    'OCI.Annotations["cdi.k8s.io/vfio2"]',
  ]);
  delete annotations["cdi.k8s.io/vfio2"];
  assert.deepEqual(compareWithExpectation(c, input).map((m) => [m.field, m.got, m.expected]), [
    ["OCI.Annotations[cdi.k8s.io/vfio<n>]", 1, "2 (one per GPU)"],
  ]);
  // Without GPUs in the policy, a CDI annotation is not allowed.
  const plain = expectationFor(pd, input)!;
  assert.ok(
    compareWithExpectation(plain, input).some((m) =>
      m.field === 'OCI.Annotations["cdi.k8s.io/vfio1"]' && m.expected === "not allowed"
    ),
  );
});

/**
 * The checker's request model matches real requests: for the captured pods, the CreateContainer
 * and ExecProcess requests `policy/check/request_sequence.ts` builds equal Kata's captures field by
 * field (process, user, capabilities, environment names, mounts, namespaces, masked/read-only
 * paths, sysctls, storages, annotation keys), after normalising what the runtime chooses at run
 * time. Only captures that were not trimmed upstream are used (the trimmed ones are listed in
 * testing/kata_captures/differences.json). Skipped, saying why, when the captures are absent.
 */
import assert from "node:assert/strict";
import type { JsonObject } from "../../policy/check/agent_protocol.ts";
import {
  CaptureImageResolver,
  CAPTURES_DIR,
  capturesAvailable,
  loadCaptureCases,
  loadRecordedWith,
} from "../../testing/kata_captures/captures.ts";
import {
  createContainerShape,
  execShape,
  modelSequenceFor,
  shapeDifferences,
} from "../../testing/kata_captures/request_shapes.ts";

const available = capturesAvailable();
if (!available) console.warn(`skipping request model tests: ${CAPTURES_DIR.pathname} not found`);

/** Complete (untrimmed) captured requests: case and index. */
const COMPLETE: readonly (readonly [string, number])[] = [
  ["createcontainer/sysctls", 0],
  ["createcontainer/ignored_fields", 0],
  ["state/createcontainer", 0],
  ["state/execprocessdeployment", 0],
  ["state/execprocessdeployment", 1],
  ["state/execprocess", 2],
  // Recorded with Kata's block-encrypted emptyDir (recorded_with.json).
  ["createcontainer/security_context/fsgroup", 0],
];

const annotations = (r: JsonObject) =>
  ((r.OCI as JsonObject).Annotations ?? {}) as Record<string, string>;

for (const [name, index] of COMPLETE) {
  Deno.test({
    name: `request model = capture, field by field: ${name} #${index}`,
    ignore: !available,
    fn: async () => {
      const c = (await loadCaptureCases()).find((x) => x.name === name)!;
      const seq = await modelSequenceFor(
        c,
        await CaptureImageResolver.load(),
        (await loadRecordedWith()).get(name),
      );
      const captured = c.requests[index]!;
      const request = captured.request as JsonObject;
      let differences: string[];
      if (captured.kind === "ExecProcessRequest") {
        const args = JSON.stringify((request.process as JsonObject).Args);
        const model = seq.steps.find((s) =>
          s.request.type === "ExecProcessRequest" &&
          JSON.stringify((s.request.input.process as JsonObject).Args) === args
        );
        assert.ok(model, `the model never execs ${args}`);
        differences = shapeDifferences(execShape(model.request.input), execShape(request));
      } else {
        const a = annotations(request);
        const model = seq.steps.find((s) =>
          s.request.type === "CreateContainerRequest" &&
          annotations(s.request.input)["io.kubernetes.cri.container-type"] ===
            a["io.kubernetes.cri.container-type"] &&
          annotations(s.request.input)["io.kubernetes.cri.container-name"] ===
            a["io.kubernetes.cri.container-name"]
        );
        assert.ok(model, "the model creates no such container");
        differences = shapeDifferences(
          createContainerShape(model.request.input, seq.instance.podName),
          createContainerShape(request, a["io.kubernetes.cri.sandbox-name"]!),
        );
      }
      assert.deepEqual(differences, []);
    },
  });
}

import assert from "node:assert/strict";
import { stringify } from "yaml";
import { encodeHex, sha256 } from "../../../util/bytes/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { encodeInitdataAnnotation, INITDATA_ANNOTATION } from "../../../policy/initdata.ts";
import { readGeneratedPods } from "../../../testing/simulation/generated_pods.ts";
import { initdata } from "../../../testing/simulation/deployment.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

Deno.test("reads each pod's initdata digest and its initializer's literal environment", () =>
  withTempDir(async (dir) => {
    const web = initdata("web");
    const job = initdata("job");
    const annotations = async (doc: Uint8Array) => ({
      [INITDATA_ANNOTATION]: await encodeInitdataAnnotation(doc),
    });
    const yaml = [
      stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          template: {
            metadata: { annotations: await annotations(web) },
            spec: {
              initContainers: [{
                name: "contrast-initializer",
                env: [{ name: "A", value: "1" }, {
                  name: "B",
                  valueFrom: { fieldRef: { fieldPath: "x" } },
                }],
              }],
              containers: [{ name: "web" }],
            },
          },
        },
      }),
      stringify({
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "job" },
        spec: {
          jobTemplate: {
            spec: {
              template: {
                metadata: { annotations: await annotations(job) },
                spec: { containers: [{ name: "job" }] },
              },
            },
          },
        },
      }),
      stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "svc" } }),
    ].join("---\n");
    await Deno.writeTextFile(`${dir}/app.yml`, yaml);
    const pods = await readGeneratedPods([`${dir}/app.yml`]);
    assert.deepEqual(pods.map((p) => [p.name, p.digest, p.initializerEnv]), [
      ["web", encodeHex(await sha256(web)), { A: "1" }],
      ["job", encodeHex(await sha256(job)), undefined],
    ]);
    assert.deepEqual(pods[0]!.initdata, web);
    assert.equal(pods[1]!.source, `${dir}/app.yml: CronJob/job`);
  }));

Deno.test("rejects malformed YAML naming file and document", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/bad.yml`, "a: 1\n---\nb: [\n");
    await assert.rejects(
      readGeneratedPods([`${dir}/bad.yml`]),
      (e: unknown) => e instanceof ParseError && e.field === `${dir}/bad.yml[1]`,
    );
  }));

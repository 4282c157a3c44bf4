/**
 * The bundles are what `deno compile` and the images embed: each entry point's `deno bundle`
 * output must work on its own. Every bundle is run from an empty temporary folder, outside any
 * source tree and with an empty `DENO_DIR` (so nothing can come from a checkout or a module
 * cache), for `--help`, `generate` (against a local registry), `policy check`, `evidence verify`,
 * the Coordinator (with the permissions its image gives it, never `-A`) with `set` and `verify`,
 * and the initializer.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { bundleComponent } from "../../../scripts/images/bundle.ts";
import { type ComponentDirs, COMPONENTS } from "../../../scripts/images/components.ts";
import { encodeImageLock } from "../../../deploy/image_lock.ts";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { createWorkspace } from "../../../testing/simulation/workspace.ts";
import {
  initializerArgs,
  initializerEnv,
  simulatedSnpArgs,
} from "../../../testing/simulation/processes.ts";
import { pushTestImage, startRegistry } from "../../../testing/registry/registry.ts";
import { conformanceAvailable, conformanceFile } from "../../conformance.ts";
import { SIMULATED_SNP_REFERENCE_FLAGS } from "../../helpers/contrast_cli.ts";

const PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/:/sbin/nologin\n";
const GROUP = "root:x:0:\nnonroot:x:65532:\n";

function image(entrypoint: string) {
  return {
    layers: [{ files: { "etc/passwd": PASSWD, "etc/group": GROUP } }],
    entrypoint: [entrypoint],
    env: ["PATH=/usr/bin"],
    user: "65532:65532",
  };
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function component(name: string) {
  const c = COMPONENTS.find((c) => c.name === name);
  assert.ok(c, name);
  return c;
}

Deno.test({
  name: "each bundled entry point runs from an empty folder without the source tree",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "contrast-bundles-" });
    const registry = await startRegistry();
    const ws = await createWorkspace();
    try {
      const bin = `${tmp}/bin`;
      for (const name of ["contrast", "coordinator", "initializer", "meshproxy"]) {
        await bundleComponent(component(name), bin);
      }
      const run = `${tmp}/run`;
      await Deno.mkdir(run);
      const denoDir = `${tmp}/deno-dir`;
      const exec = async (
        name: string,
        permissions: string[],
        args: string[],
        env: Record<string, string> = {},
      ): Promise<Run> => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-config", ...permissions, `${bin}/${name}.js`, ...args],
          cwd: run,
          env: { DENO_DIR: denoDir, NO_COLOR: "1", ...env },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const d = new TextDecoder();
        return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
      };
      const contrast = (args: string[]) => exec("contrast", ["-A"], args);

      await t.step("--help of every program", async () => {
        const dirs = { config: run, tsm: run, state: run, secrets: run };
        for (const name of ["contrast", "coordinator", "initializer", "meshproxy"]) {
          const r = await exec(name, component(name).permissions(dirs), ["--help"]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, new RegExp(`^Usage: ${name} `));
        }
      });

      await t.step("generate, then policy check of what it generated", async () => {
        const app = await pushTestImage(registry, "app", "v1", image("/usr/bin/app"));
        const coordinator = await pushTestImage(
          registry,
          "contrast/coordinator",
          "test",
          image("/usr/bin/deno"),
        );
        const initializer = await pushTestImage(
          registry,
          "contrast/initializer",
          "test",
          image("/usr/bin/deno"),
        );
        const lock = `${run}/images.lock.json`;
        await Deno.writeTextFile(
          lock,
          encodeImageLock({
            version: 1,
            images: {
              coordinator: `${registry.host}/contrast/coordinator@${coordinator.digest}`,
              initializer: `${registry.host}/contrast/initializer@${initializer.digest}`,
              // No pod here asks for the mesh: generate never resolves this one.
              "service-mesh-proxy": `${registry.host}/contrast/service-mesh-proxy@sha256:${
                "3".repeat(64)
              }`,
            },
          }),
        );
        await Deno.mkdir(`${run}/app`);
        const coordinatorYaml = await contrast([
          "coordinator",
          "--platform",
          "Metal-QEMU-SNP",
          "--image-lock",
          lock,
          "-o",
          `${run}/app/coordinator.yml`,
        ]);
        assert.equal(coordinatorYaml.code, 0, coordinatorYaml.stderr);
        await Deno.writeTextFile(
          `${run}/app/app.yml`,
          "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  runtimeClassName: " +
            `contrast-cc\n  containers:\n    - name: app\n      image: ${registry.host}/app:v1\n`,
        );
        const generated = await contrast([
          "generate",
          ...SIMULATED_SNP_REFERENCE_FLAGS,
          "--insecure-registry",
          registry.host,
          "--image-cache",
          `${run}/cache`,
          "--image-lock",
          lock,
          "-w",
          run,
          `${run}/app`,
        ]);
        assert.equal(generated.code, 0, generated.stderr);
        const yaml = await Deno.readTextFile(`${run}/app/app.yml`);
        assert.ok(yaml.includes(`${registry.host}/contrast/initializer@${initializer.digest}`));
        assert.ok(yaml.includes(`${registry.host}/app@${app.digest}`));
        const checked = await contrast([
          "policy",
          "check",
          "--mutate",
          "--insecure-registry",
          registry.host,
          "--image-cache",
          `${run}/cache`,
          `${run}/app`,
        ]);
        assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      });

      await t.step({
        name: "evidence verify of a real SNP report",
        ignore: !conformanceAvailable,
        fn: async () => {
          const v = (f: string) => conformanceFile(`snp/milan-v2-virtee/${f}`).pathname;
          const r = await contrast([
            "evidence",
            "verify",
            "--platform",
            "snp",
            "--report",
            v("report.bin"),
            "--vcek",
            v("vcek.der"),
            "--ask",
            v("ask.pem"),
            "--ark",
            v("ark.pem"),
            "--offline",
            "--now",
            "2023-04-04T19:23:43Z",
            "--skip-revocation",
          ]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /SNP report verified/);
        },
      });
      if (!conformanceAvailable) {
        console.warn("skipped evidence verify: ../shared/conformance is absent");
      }

      await t.step(
        "Coordinator, set, initializer and verify with narrowed permissions",
        async () => {
          const dirs: ComponentDirs = {
            config: ws.authorityDir,
            tsm: `${ws.dir}/no-tsm`,
            state: `${ws.dir}/state`,
            secrets: `${ws.dir}/pod`,
          };
          const coordinatorVm = {
            authorityDir: ws.authorityDir,
            hostData: ws.deployment.coordinator.digest,
            measurement: ws.measurement,
          };
          const child = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--no-config",
              ...component("coordinator").permissions(dirs),
              `${bin}/coordinator.js`,
              "--history-dir",
              `${dirs.state}/history`,
              "--host",
              "127.0.0.1",
              "--user-port",
              "0",
              "--mesh-port",
              "0",
              "--probe-port",
              "0",
              ...simulatedSnpArgs(coordinatorVm),
              "--ready-file",
              `${dirs.state}/ready.json`,
            ],
            cwd: run,
            env: { DENO_DIR: denoDir },
            clearEnv: true,
            stdout: "null",
            stderr: "piped",
          }).spawn();
          const log = child.stderr.pipeThrough(new TextDecoderStream());
          const logText: string[] = [];
          const drained = (async () => {
            for await (const chunk of log) logText.push(chunk);
          })();
          try {
            let ports: { userPort: number; meshPort: number } | undefined;
            await Deno.mkdir(dirs.state, { recursive: true });
            for (let i = 0; i < 600 && ports === undefined; i++) {
              try {
                ports = JSON.parse(await Deno.readTextFile(`${dirs.state}/ready.json`));
              } catch {
                await new Promise((r) => setTimeout(r, 50));
              }
            }
            assert.ok(ports, `the Coordinator did not start: ${logText.join("")}`);
            const set = await exec("contrast", ["-A"], [
              "set",
              "-c",
              `127.0.0.1:${ports.userPort}`,
              "-m",
              `${ws.dir}/manifest.json`,
              "--workload-owner-key",
              `${ws.dir}/workload-owner.pem`,
              ws.yamlPath,
            ]);
            assert.equal(set.code, 0, set.stderr);
            const pod = await exec(
              "initializer",
              component("initializer").permissions(dirs),
              initializerArgs({
                coordinator: `127.0.0.1:${ports.meshPort}`,
                outDir: dirs.secrets,
                vm: {
                  authorityDir: ws.authorityDir,
                  hostData: ws.deployment.pods.web.digest,
                  measurement: ws.measurement,
                },
                deadlineSeconds: 60,
                coordinatorTrust: ws.deployment.coordinatorTrust(),
              }),
              initializerEnv({ coordinatorTrust: ws.deployment.coordinatorTrust() }),
            );
            assert.equal(pod.code, 0, pod.stderr);
            for (
              const f of ["mesh-ca.pem", "coordinator-root-ca.pem", "certChain.pem", "key.pem"]
            ) {
              assert.ok((await Deno.stat(`${dirs.secrets}/tls-config/${f}`)).isFile, f);
            }
            const verified = await exec("contrast", ["-A"], [
              "verify",
              "-c",
              `127.0.0.1:${ports.userPort}`,
              "-m",
              `${ws.dir}/manifest.json`,
              "--json",
            ]);
            assert.equal(verified.code, 0, verified.stderr);
            assert.equal(
              JSON.parse(verified.stdout).result.coordinatorPolicy,
              encodeHex(ws.deployment.coordinator.digest),
              verified.stdout,
            );
          } finally {
            child.kill("SIGTERM");
            await child.status;
            await drained;
          }
        },
      );
    } finally {
      await ws.cleanup();
      await registry.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

/**
 * contrast's own images, for real: built twice from this source tree and the pinned inputs (same
 * digests), pushed to a local registry (Debian's docker-registry), pulled by podman and run as a
 * deployment would: the Coordinator container (simulated TEE, read-only root, state on a volume),
 * `contrast set` against it, one initializer container per pod that gets its certificate files,
 * `contrast verify`. Then what must fail does: an unreachable registry (no lock written) and a
 * lock naming a digest the registry does not have.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { buildImages, pushImages, writeImageLock } from "../../scripts/images/build.ts";
import { encodeImageLock, type ImageLock } from "../../deploy/image_lock.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import { createWorkspace } from "../../testing/simulation/workspace.ts";
import { simulatedSnpArgs } from "../../testing/simulation/processes.ts";
import { COORDINATOR_TRUST_ENV } from "../../atls/coordinator_trust.ts";
import { startRegistry } from "../../testing/registry/registry.ts";
import { runDenoScript } from "../../testing/simulation/processes.ts";
import { podman, PODMAN_RUN, podmanAvailable, PodmanSession } from "../helpers/podman.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const CACHE = `${REPO}.cache/images`;
const SIMULATED = "/etc/contrast/simulated-snp";

/** Runs `contrast ARGS` (the source CLI) in `cwd`. */
function runCli(cwd: string, ...args: string[]) {
  return runDenoScript("cli/main.ts", args, cwd);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForStatus(url: string, status: number, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 20; i++) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === status) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A copy of the simulated authority the container user (65532) can read. */
async function readableAuthority(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    await Deno.chmod(`${to}/${e.name}`, 0o644);
  }
}

Deno.test({
  name: "contrast's images: reproducible, pushed, and running a deployment under podman",
  ignore: !(await podmanAvailable()),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const tmp = await Deno.makeTempDir({ prefix: "contrast-images-" });
    const registry = await startRegistry();
    const session = new PodmanSession();
    const ws = await createWorkspace();
    try {
      const first = await buildImages({ cacheDir: CACHE, bundleDir: `${tmp}/bundles-1` });
      let lock: ImageLock | undefined;

      await t.step("building twice from the same tree gives the same digests", async () => {
        const second = await buildImages({ cacheDir: CACHE, bundleDir: `${tmp}/bundles-2` });
        assert.deepEqual(
          second.map((i) => [i.component.name, i.digest]),
          first.map((i) => [i.component.name, i.digest]),
        );
        assert.deepEqual(first.map((i) => i.component.name), ["coordinator", "initializer"]);
        for (const image of first) {
          const config = JSON.parse(
            new TextDecoder().decode(image.artifact.images[0]!.config.bytes),
          );
          assert.equal(config.config.User, "65532:65532");
          assert.equal(config.config.Entrypoint[0], "/usr/bin/deno");
          assert.ok(!config.config.Entrypoint.includes("-A"), "no -A in an image");
          console.log(
            `${image.component.name}: ${
              (image.compressedBytes / 2 ** 20).toFixed(1)
            } MiB compressed`,
          );
        }
      });

      await t.step(
        "an unreachable registry is an error naming it; no lock is written",
        async () => {
          const dead = `127.0.0.1:${freePort()}`;
          await assert.rejects(
            pushImages(first, { registry: dead, insecure: true }),
            (e) =>
              e instanceof UnavailableError && e.message.includes(`cannot reach registry ${dead}`),
          );
          await assert.rejects(Deno.stat(`${tmp}/images.lock.json`), Deno.errors.NotFound);
        },
      );

      await t.step("push writes a lock naming each image by digest", async () => {
        lock = await pushImages(first, { registry: registry.host, insecure: true });
        await writeImageLock(`${tmp}/images.lock.json`, lock);
        for (const image of first) {
          const name = image.component.name as "coordinator" | "initializer";
          assert.equal(lock.images[name], `${registry.host}/contrast/${name}@${image.digest}`);
        }
      });

      await t.step(
        "a lock naming a digest the registry lacks: generate names the image, writes nothing",
        async () => {
          const wrong = `${registry.host}/contrast/initializer@sha256:${"0".repeat(64)}`;
          const lockPath = `${tmp}/stale.lock.json`;
          await Deno.writeTextFile(
            lockPath,
            encodeImageLock({ version: 1, images: { ...lock!.images, initializer: wrong } }),
          );
          const app = `${tmp}/stale-app`;
          await Deno.mkdir(app);
          const yaml =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: " +
            `contrast-cc\n  containers:\n    - {name: c, image: "${lock!.images.coordinator}"}\n`;
          await Deno.writeTextFile(`${app}/app.yml`, yaml);
          const r = await runCli(
            app,
            "generate",
            "--reference-values",
            "Simulated-SNP",
            "--simulated-root",
            "ab".repeat(32),
            "--trusted-measurement",
            "cd".repeat(48),
            "--insecure-registry",
            registry.host,
            "--image-cache",
            `${tmp}/stale-cache`,
            "--image-lock",
            lockPath,
            "-w",
            app,
            `${app}/app.yml`,
          );
          assert.notEqual(r.code, 0);
          assert.ok(r.stderr.includes(wrong), r.stderr);
          assert.equal(await Deno.readTextFile(`${app}/app.yml`), yaml);
          await assert.rejects(Deno.stat(`${app}/manifest.json`), Deno.errors.NotFound);
        },
      );

      await t.step(
        "podman pulls the images and runs the Coordinator, initializers, set and verify",
        async () => {
          const images = lock!.images;
          for (const ref of [images.coordinator, images.initializer]) {
            const pulled = await session.pull(ref);
            assert.equal(pulled.code, 0, pulled.stderr);
          }
          const authority = `${tmp}/authority`;
          await readableAuthority(ws.authorityDir, authority);
          const state = await session.volume("state");
          const [user, mesh, probe] = [freePort(), freePort(), freePort()];
          const coordinatorVm = {
            authorityDir: SIMULATED,
            hostData: ws.deployment.coordinator.digest,
            measurement: ws.measurement,
          };
          const started = performance.now();
          const run = await podman([
            "run",
            "--detach",
            "--name",
            session.container(session.name("coordinator")),
            ...PODMAN_RUN,
            "--read-only",
            "--volume",
            `${state}:/var/lib/contrast`,
            "--volume",
            `${authority}:${SIMULATED}:ro`,
            images.coordinator,
            "--host",
            "127.0.0.1",
            "--user-port",
            String(user),
            "--mesh-port",
            String(mesh),
            "--probe-port",
            String(probe),
            ...simulatedSnpArgs(coordinatorVm),
          ]);
          assert.equal(run.code, 0, run.stderr);
          const up = await waitForStatus(`http://127.0.0.1:${probe}/probe/startup`, 200, 60);
          const logs = async () => (await podman(["logs", session.name("coordinator")])).stderr;
          assert.ok(up, `the Coordinator container did not start: ${await logs()}`);
          console.log(
            `Coordinator container: start-up probe 200 after ${
              ((performance.now() - started) / 1000).toFixed(1)
            } s`,
          );

          const set = await runCli(
            ws.dir,
            "set",
            "-c",
            `127.0.0.1:${user}`,
            "-m",
            `${ws.dir}/manifest.json`,
            "--workload-owner-key",
            `${ws.dir}/workload-owner.pem`,
            ws.yamlPath,
          );
          assert.equal(set.code, 0, set.stderr);
          assert.ok(await waitForStatus(`http://127.0.0.1:${probe}/probe/readiness`, 200, 10));

          for (const [name, pod] of Object.entries(ws.deployment.pods)) {
            const out = `${tmp}/pod-${name}`;
            await Deno.mkdir(out);
            await Deno.chown(out, 65532, 65532);
            const vm = {
              authorityDir: SIMULATED,
              hostData: pod.digest,
              measurement: ws.measurement,
            };
            const r = await podman([
              "run",
              "--name",
              session.container(session.name(`init-${name}`)),
              ...PODMAN_RUN,
              "--read-only",
              "--volume",
              `${out}:/contrast`,
              "--volume",
              `${authority}:${SIMULATED}:ro`,
              "--env",
              `${COORDINATOR_TRUST_ENV}=${ws.deployment.coordinatorTrust()}`,
              images.initializer,
              "--coordinator",
              `127.0.0.1:${mesh}`,
              ...simulatedSnpArgs(vm),
              "--deadline-seconds",
              "60",
            ]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            for (
              const f of ["mesh-ca.pem", "coordinator-root-ca.pem", "certChain.pem", "key.pem"]
            ) {
              assert.ok((await Deno.stat(`${out}/tls-config/${f}`)).isFile, `${name}: ${f}`);
            }
            assert.equal(
              await Deno.readTextFile(`${out}/tls-config/coordinator-root-ca.pem`),
              await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`),
            );
          }
          const web = await Deno.readTextFile(`${tmp}/pod-web/secrets/workload-secret-seed`);
          assert.match(web, /^[0-9a-f]{64}$/);

          const verified = await runCli(
            ws.dir,
            "verify",
            "-c",
            `127.0.0.1:${user}`,
            "-m",
            `${ws.dir}/manifest.json`,
            "--json",
          );
          assert.equal(verified.code, 0, verified.stderr);
          assert.equal(
            JSON.parse(verified.stdout).result.coordinatorPolicy,
            encodeHex(ws.deployment.coordinator.digest),
          );
        },
      );
    } finally {
      await session.cleanup();
      await ws.cleanup();
      await registry.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

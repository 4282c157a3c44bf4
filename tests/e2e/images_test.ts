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
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { createWorkspace } from "../../testing/simulation/workspace.ts";
import { simulatedSnpArgs } from "../../testing/simulation/processes.ts";
import { COORDINATOR_TRUST_ENV } from "../../atls/coordinator_trust.ts";
import { startRegistry } from "../../testing/registry/registry.ts";
import { runDenoScript } from "../../testing/simulation/processes.ts";
import {
  podman,
  PODMAN_GLOBAL,
  PODMAN_RUN,
  podmanAvailable,
  PodmanSession,
} from "../helpers/podman.ts";
import { gunzipSync } from "node:zlib";
import { parse, parseAllDocuments } from "yaml";
import { readTar } from "../../oci/tar.ts";
import { moveEarlierDeploymentAside } from "../helpers/start_over.ts";
import {
  MESH_SIDECAR_NAME,
  SECURE_PV_DEVICE_PATH,
  SECURE_PV_NAME,
} from "../../deploy/annotations.ts";
import {
  formatArgs,
  isLuksArgs,
  runCommand,
  testKeyArgs,
} from "../../initializer/volume/cryptsetup.ts";
import { deriveVolumeKey } from "../../initializer/volume/volume_key.ts";
import { FILESYSTEM_LABEL } from "../../initializer/volume/open_volume.ts";
import { IMAGE_VOLUME_PROGRAMS } from "../../deploy/secure_pv.ts";
import { issuePod, meshAuthority, writePodFiles } from "../../bench/meshproxy/credentials.ts";
import { ADMIN_PORT, APP_PORT, type MeshImageScenario } from "./mesh_image_netns.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../testing/kube/mod.ts";
import { SERVICE_ACCOUNT_DIR } from "../../coordinator/kube/client.ts";
import { SIMULATED_SNP_REFERENCE_FLAGS } from "../helpers/contrast_cli.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const CACHE = `${REPO}.cache/images`;
const SIMULATED = "/etc/contrast/simulated-snp";

/** Runs `contrast ARGS` (the source CLI) in `cwd`. */
function runCli(cwd: string, ...args: string[]) {
  return runDenoScript("cli/main.ts", args, cwd);
}

/** Runs `contrast generate` on `app/app.yml` against the test registry (simulated SNP values). */
function generateApp(app: string, registryHost: string, imageCache: string, imageLock: string) {
  return runCli(
    app,
    "generate",
    ...SIMULATED_SNP_REFERENCE_FLAGS,
    "--insecure-registry",
    registryHost,
    "--image-cache",
    imageCache,
    "--image-lock",
    imageLock,
    "-w",
    app,
    `${app}/app.yml`,
  );
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

/** Every path in the (gzip) layer blobs. */
async function layerPaths(layers: readonly Uint8Array[]): Promise<Set<string>> {
  const paths = new Set<string>();
  for (const blob of layers) {
    const tar = new Uint8Array(gunzipSync(blob));
    await readTar(new Blob([tar]).stream(), "layer", (entry) => {
      paths.add(entry.path.replace(/\/$/, ""));
      return false;
    });
  }
  return paths;
}

/** Why this machine cannot run the proxy image in network namespaces, or undefined. */
async function whyNotNetns(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-n", "ip", "link", "show", "lo"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success ? undefined : new TextDecoder().decode(out.stderr).trim();
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * What the kubelet writes for `limits.memory` of a container with `resources.limits.memory:
 * 512Mi` (bytes); the proxy container runs with `podman run --memory 512m` to match.
 */
const SIDECAR_MEMORY_LIMIT = String(512 * 1024 * 1024);

/**
 * The mesh sidecar `generate` injected into the single pod of `yaml`, its environment resolved
 * as a kubelet would for a sidecar with a 512 MiB memory limit (`resourceFieldRef`
 * `limits.memory` of the sidecar itself; any other `valueFrom` fails the test).
 */
function meshSidecar(
  yaml: string,
): {
  image: string;
  env: Record<string, string>;
  downwardApi: string[];
  caps: string[];
  dropped: string[];
  user?: number;
  noEscalation?: boolean;
  readOnlyRoot?: boolean;
} {
  const pod = parse(yaml, { version: "1.1" }) as {
    spec: {
      initContainers: {
        name: string;
        image: string;
        env?: {
          name: string;
          value?: string;
          valueFrom?: { resourceFieldRef?: { containerName?: string; resource?: string } };
        }[];
        securityContext?: {
          runAsUser?: number;
          allowPrivilegeEscalation?: boolean;
          readOnlyRootFilesystem?: boolean;
          capabilities?: { add?: string[]; drop?: string[] };
        };
      }[];
    };
  };
  const sidecar = pod.spec.initContainers.find((c) => c.name === MESH_SIDECAR_NAME);
  assert.ok(sidecar, `generate injected no ${MESH_SIDECAR_NAME}`);
  return {
    image: sidecar.image,
    env: Object.fromEntries((sidecar.env ?? []).map((e) => {
      if (e.valueFrom === undefined) return [e.name, e.value ?? ""];
      const ref = e.valueFrom.resourceFieldRef;
      assert.ok(
        ref?.containerName === MESH_SIDECAR_NAME && ref.resource === "limits.memory",
        `unexpected valueFrom of ${e.name}: ${JSON.stringify(e.valueFrom)}`,
      );
      return [e.name, SIDECAR_MEMORY_LIMIT];
    })),
    downwardApi: (sidecar.env ?? []).filter((e) => e.valueFrom).map((e) => e.name),
    caps: sidecar.securityContext?.capabilities?.add ?? [],
    dropped: sidecar.securityContext?.capabilities?.drop ?? [],
    user: sidecar.securityContext?.runAsUser,
    noEscalation: sidecar.securityContext?.allowPrivilegeEscalation === false,
    readOnlyRoot: sidecar.securityContext?.readOnlyRootFilesystem,
  };
}

/** A StatefulSet with an encrypted persistent volume: device `data`, mount volume `state`. */
function securePvApp(image: string): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        contrast.edgeless.systems/secure-pv: "data:state"
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "${image}"
          volumeMounts: [{name: state, mountPath: /var/lib/web}]
      volumes: [{name: state, emptyDir: {}}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        volumeMode: Block
        resources: {requests: {storage: 1Gi}}
`;
}

/** The `contrast-secure-pv` container generate injected into the StatefulSet `yaml`. */
function securePvContainer(yaml: string): {
  image: string;
  command: string[];
  args: string[];
  securityContext: { privileged: boolean; runAsUser: number; runAsGroup: number };
} {
  const set = parse(yaml, { version: "1.1" }) as {
    spec: { template: { spec: { initContainers: { name: string }[] } } };
  };
  const c = set.spec.template.spec.initContainers.find((c) => c.name === SECURE_PV_NAME);
  assert.ok(c, `generate injected no ${SECURE_PV_NAME}`);
  return c as unknown as ReturnType<typeof securePvContainer>;
}

/** The Coordinator container's env of `contrast coordinator` YAML, downward API resolved. */
function coordinatorEnv(yaml: string, pod: string): string[] {
  type Env = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };
  const docs = parseAllDocuments(yaml, { version: "1.1" }).map((d) => d.toJS());
  const set = docs.find((d) => d?.kind === "StatefulSet");
  assert.ok(set, "contrast coordinator --replicas wrote no StatefulSet");
  const env: Env[] = set.spec.template.spec.containers[0].env;
  const fields: Record<string, string> = {
    "metadata.name": pod,
    "metadata.namespace": "default",
    "status.podIP": "127.0.0.1",
  };
  return env.map((e) => {
    const value = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ""];
    assert.ok(value !== undefined, `no value for ${e.name}`);
    return `${e.name}=${value}`;
  });
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
        assert.deepEqual(first.map((i) => i.name), [
          "coordinator",
          "initializer",
          "service-mesh-proxy",
        ]);
        for (const image of first) {
          const config = JSON.parse(
            new TextDecoder().decode(image.artifact.images[0]!.config.bytes),
          );
          // The proxy's iptables needs the CAP_NET_ADMIN Kubernetes grants only to root.
          const user = image.name === "service-mesh-proxy" ? "0:0" : "65532:65532";
          assert.equal(config.config.User, user);
          assert.equal(config.config.Entrypoint[0], "/usr/bin/deno");
          assert.ok(!config.config.Entrypoint.includes("-A"), "no -A in an image");
          const paths = await layerPaths(image.artifact.images[0]!.layers.map((l) => l.bytes));
          for (const shell of ["bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash"]) {
            assert.ok(!paths.has(shell), `${image.name} has no shell (${shell})`);
          }
          const iptables = ["usr/sbin/xtables-nft-multi", "usr/bin/iptables-restore"];
          for (const p of iptables) {
            assert.equal(paths.has(p), image.name === "service-mesh-proxy", `${image.name}: ${p}`);
          }
          // The secure-PV step's programs and exactly the libraries they link, only here.
          const cryptsetup = [
            ...Object.values(IMAGE_VOLUME_PROGRAMS).map((p) => p.slice(1)),
            "etc/mke2fs.conf",
            "lib/x86_64-linux-gnu/libcryptsetup.so.12",
            "usr/lib/x86_64-linux-gnu/libcrypto.so.3",
          ];
          for (const p of cryptsetup) {
            assert.equal(paths.has(p), image.name === "initializer", `${image.name}: ${p}`);
          }
          assert.ok(!paths.has("usr/lib/x86_64-linux-gnu/libssl.so.3"), "no libssl: unlinked");
          console.log(
            `${image.name}: ${(image.compressedBytes / 2 ** 20).toFixed(1)} MiB compressed`,
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
          assert.equal(
            lock.images[image.name],
            `${registry.host}/contrast/${image.name}@${image.digest}`,
          );
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
          const r = await generateApp(app, registry.host, `${tmp}/stale-cache`, lockPath);
          assert.notEqual(r.code, 0);
          assert.ok(r.stderr.includes(wrong), r.stderr);
          assert.equal(await Deno.readTextFile(`${app}/app.yml`), yaml);
          await assert.rejects(Deno.stat(`${app}/manifest.json`), Deno.errors.NotFound);
        },
      );

      let sidecar: ReturnType<typeof meshSidecar> | undefined;
      await t.step(
        "generate injects the service-mesh proxy from the lock, by digest, into a mesh pod",
        async () => {
          const app = `${tmp}/mesh-app`;
          await Deno.mkdir(app);
          const yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n" +
            `    contrast.edgeless.systems/servicemesh-admin-interface-port: "${ADMIN_PORT}"\n` +
            "spec:\n  runtimeClassName: contrast-cc\n  containers:\n    - name: web\n" +
            `      image: "${lock!.images.coordinator}"\n` +
            `      ports: [{containerPort: ${APP_PORT}}]\n`;
          await Deno.writeTextFile(`${app}/app.yml`, yaml);
          const r = await generateApp(
            app,
            registry.host,
            `${tmp}/mesh-cache`,
            `${tmp}/images.lock.json`,
          );
          assert.equal(r.code, 0, r.stderr);
          sidecar = meshSidecar(await Deno.readTextFile(`${app}/app.yml`));
          assert.equal(sidecar.image, lock!.images["service-mesh-proxy"]);
          // NET_ADMIN for the rules; DAC_READ_SEARCH to read the initializer's key (0400, owned
          // by the initializer's user), since root without DAC capabilities cannot.
          assert.deepEqual(sidecar.caps, ["NET_ADMIN", "DAC_READ_SEARCH"]);
          assert.deepEqual(sidecar.dropped, ["ALL"], "root keeps no other capability");
          assert.ok(sidecar.noEscalation, "no privilege escalation");
          assert.equal(sidecar.readOnlyRoot, true);
          assert.equal(sidecar.user, 0, "the sidecar runs as root, as its image does");
          assert.equal(sidecar.env.EDG_ADMIN_PORT, String(ADMIN_PORT));
          assert.equal(sidecar.env.CONTRAST_MESH_POD_PORTS, String(APP_PORT));
          assert.deepEqual(sidecar.downwardApi, ["CONTRAST_MESH_MEMORY_LIMIT"]);
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
            "--transit-port",
            String(freePort()),
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

      await t.step(
        "secure-pv from the image: generate's volume container formats LUKS2 and tests the key; mke2fs, blkid, mount run",
        async () => {
          // This machine has no device-mapper: `cryptsetup open` (and mkfs and mount after it)
          // cannot run here. Everything before it runs inside the image, with the command,
          // user and privileges generate wrote; then the step exits 3 naming device-mapper.
          const app = `${tmp}/pv-app`;
          await Deno.mkdir(app);
          await Deno.writeTextFile(`${app}/app.yml`, securePvApp(lock!.images.coordinator));
          const r = await generateApp(
            app,
            registry.host,
            `${tmp}/pv-cache`,
            `${tmp}/images.lock.json`,
          );
          assert.equal(r.code, 0, r.stderr);
          const pv = securePvContainer(await Deno.readTextFile(`${app}/app.yml`));
          assert.equal(pv.image, lock!.images.initializer);
          assert.deepEqual(pv.securityContext, { privileged: true, runAsUser: 0, runAsGroup: 0 });
          const device = `${tmp}/pv.img`;
          const blank = await Deno.create(device);
          await blank.truncate(32 * 2 ** 20);
          blank.close();
          await Deno.mkdir(`${tmp}/pv-state`);
          const volumeStep = async (entrypoint: readonly string[], args: readonly string[]) =>
            await podman([
              "run",
              "--rm",
              ...PODMAN_RUN,
              "--read-only",
              "--privileged",
              "--user",
              `${pv.securityContext.runAsUser}:${pv.securityContext.runAsGroup}`,
              "--volume",
              `${tmp}/pod-web:/contrast`,
              "--volume",
              `${device}:${SECURE_PV_DEVICE_PATH}`,
              "--volume",
              `${tmp}/pv-state:/state`,
              "--entrypoint",
              JSON.stringify(entrypoint),
              lock!.images.initializer,
              ...args,
            ]);
          const started = performance.now();
          const formatted = await volumeStep(pv.command, pv.args);
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          assert.equal(formatted.code, 3, `exit 3 (no device-mapper): ${formatted.stderr}`);
          assert.match(formatted.stderr, /blank device, formatting LUKS2/);
          assert.match(formatted.stderr, /key opens the volume/);
          assert.match(formatted.stderr, /device-mapper/);
          console.log(`secure-pv container: formatted and key-checked in ${seconds} s`);
          // The image's cryptsetup made a LUKS2 volume keyed to pod web's workload secret.
          const secret = decodeHex(
            (await Deno.readTextFile(`${tmp}/pod-web/secrets/workload-secret-seed`)).trim(),
          );
          const key = await deriveVolumeKey(secret, "data");
          const isLuks = await runCommand("cryptsetup", isLuksArgs(device));
          assert.equal(isLuks.code, 0, "the device holds a LUKS2 header");
          assert.equal((await runCommand("cryptsetup", testKeyArgs(device), key)).code, 0);
          const other = await deriveVolumeKey(secret, "other");
          assert.equal((await runCommand("cryptsetup", testKeyArgs(device), other)).code, 2);
          const left = [...Deno.readDirSync(`${tmp}/pod-web/secrets`)].map((e) => e.name);
          assert.ok(!left.some((n) => n.startsWith("contrast-luks2-header-")), "copy removed");

          // Second start: the existing volume is checked and its key tested, not re-formatted.
          const before = await Deno.readFile(device);
          const again = await volumeStep(pv.command, pv.args);
          assert.equal(again.code, 3, again.stderr);
          assert.doesNotMatch(again.stderr, /formatting/);
          assert.match(again.stderr, /key opens the volume/);
          assert.deepEqual(await Deno.readFile(device), before, "not written again");

          // Another workload's volume (another key) is refused and left as it is.
          const foreign = await runCommand(
            "cryptsetup",
            formatArgs(device),
            await deriveVolumeKey(new Uint8Array(32).fill(7), "data"),
          );
          assert.equal(foreign.code, 0, foreign.stderr);
          const foreignBytes = await Deno.readFile(device);
          const refused = await volumeStep(pv.command, pv.args);
          assert.equal(refused.code, 1, refused.stderr);
          assert.match(refused.stderr, /formatted with another key/);
          assert.deepEqual(await Deno.readFile(device), foreignBytes);

          // The image's own entry point (every initializer container's) may run no program.
          const entry = JSON.parse(
            new TextDecoder().decode(
              first.find((i) => i.name === "initializer")!.artifact.images[0]!.config.bytes,
            ),
          ).config.Entrypoint as string[];
          assert.ok(!entry.some((f) => f.startsWith("--allow-run")), entry.join(" "));
          const narrowed = await volumeStep(entry, pv.args);
          assert.equal(narrowed.code, 70, narrowed.stderr);
          assert.match(narrowed.stderr, /NotCapable: Requires (read|run) access/);
          // And the volume command runs nothing but the image's volume programs.
          const args = [...pv.args];
          args[args.indexOf("--cryptsetup") + 1] = "/usr/bin/deno";
          const otherProgram = await volumeStep(pv.command, args);
          assert.equal(otherProgram.code, 70, otherProgram.stderr);
          assert.match(
            otherProgram.stderr,
            /NotCapable: Requires run access to \\"\/usr\/bin\/deno\\"/,
          );

          // The open step's other programs, run in the image by their own paths (the volume step
          // reaches them only after `cryptsetup open`): blkid finds nothing on a blank file,
          // mke2fs makes ext4 there, blkid then finds it, mount mounts it (through a loop device).
          const fs = `${tmp}/fs.img`;
          const fsFile = await Deno.create(fs);
          await fsFile.truncate(32 * 2 ** 20);
          fsFile.close();
          const inImage = async (program: string, ...args: string[]) =>
            await podman([
              "run",
              "--rm",
              ...PODMAN_RUN,
              "--read-only",
              "--privileged",
              "--user",
              "0:0",
              "--volume",
              `${fs}:${SECURE_PV_DEVICE_PATH}`,
              "--tmpfs",
              "/mnt",
              "--entrypoint",
              JSON.stringify([program]),
              lock!.images.initializer,
              ...args,
            ]);
          const { blkid, mke2fs, mount } = IMAGE_VOLUME_PROGRAMS;
          const none = await inImage(blkid, "-p", SECURE_PV_DEVICE_PATH);
          assert.equal(none.code, 2, `blkid: nothing on a blank device: ${none.stderr}`);
          const made = await inImage(
            mke2fs,
            "-q",
            "-t",
            "ext4",
            "-L",
            FILESYSTEM_LABEL,
            SECURE_PV_DEVICE_PATH,
          );
          assert.equal(made.code, 0, made.stderr);
          const found = await inImage(blkid, "-p", SECURE_PV_DEVICE_PATH);
          assert.equal(found.code, 0, found.stderr);
          assert.match(found.stdout, /TYPE="ext4"/);
          assert.ok(found.stdout.includes(`LABEL="${FILESYSTEM_LABEL}"`), found.stdout);
          const fsck = await runCommand("e2fsck", ["-fn", fs]);
          assert.equal(fsck.code, 0, `the host's e2fsck accepts it: ${fsck.stdout}${fsck.stderr}`);
          const mounted = await inImage(
            mount,
            "-t",
            "ext4",
            "-o",
            "nosuid,nodev,loop",
            SECURE_PV_DEVICE_PATH,
            "/mnt",
          );
          assert.equal(mounted.code, 0, `mount: ${mounted.stderr}`);
        },
      );

      await t.step(
        "a replicated Coordinator runs from the image on the real kube-apiserver",
        async () => {
          if (kubeToolsMissing("the replicated Coordinator image on kube-apiserver")) return;
          await using cluster = await LocalKubeCluster.start();
          const yamlPath = `${tmp}/coordinator-ha.yml`;
          const written = await runCli(
            tmp,
            "coordinator",
            "--platform",
            "Metal-QEMU-SNP",
            "--replicas",
            "3",
            "-n",
            "default",
            "--image-lock",
            `${tmp}/images.lock.json`,
            "-o",
            yamlPath,
          );
          assert.equal(written.code, 0, written.stderr);
          const applied = await cluster.kubectl(["apply", "--server-side", "-f", yamlPath]);
          assert.equal(applied.code, 0, applied.stderr);
          const token = await cluster.kubectl(["create", "token", "coordinator", "--duration=1h"]);
          assert.equal(token.code, 0, token.stderr);
          // What the kubelet mounts into the pods: token, CA and namespace, readable by 65532.
          const sa = `${tmp}/serviceaccount`;
          await Deno.mkdir(sa);
          await Deno.writeTextFile(`${sa}/token`, token.stdout.trim());
          await Deno.writeTextFile(`${sa}/ca.crt`, cluster.caPem);
          await Deno.writeTextFile(`${sa}/namespace`, "default");
          for (const f of ["token", "ca.crt", "namespace"]) {
            await Deno.chown(`${sa}/${f}`, 65532, 65532);
          }
          const authority = `${tmp}/authority`;
          const server = new URL(cluster.server);
          const replicas: { name: string; user: number; mesh: number; probe: number }[] = [];
          const started = performance.now();
          // One state volume per pod, kept when a pod is started again (as a restarted pod keeps it).
          const states: string[] = [];
          for (let i = 0; i < 3; i++) states.push(await session.volume(`ha-state-${i}`));
          const startReplica = async (i: number, attempt: number) => {
            const pod = `coordinator-${i}`;
            const ports = { user: freePort(), mesh: freePort(), probe: freePort() };
            const state = states[i]!;
            const name = session.container(
              session.name(attempt === 0 ? pod : `${pod}-attempt-${attempt}`),
            );
            const run = await podman([
              "run",
              "--detach",
              "--name",
              name,
              ...PODMAN_RUN,
              "--read-only",
              "--cap-drop",
              "ALL",
              "--volume",
              `${state}:/var/lib/contrast`,
              "--volume",
              `${sa}:${SERVICE_ACCOUNT_DIR}:ro`,
              "--volume",
              `${authority}:${SIMULATED}:ro`,
              ...coordinatorEnv(await Deno.readTextFile(yamlPath), pod).flatMap((
                e,
              ) => ["--env", e]),
              "--env",
              `KUBERNETES_SERVICE_HOST=${server.hostname}`,
              "--env",
              `KUBERNETES_SERVICE_PORT=${server.port}`,
              lock!.images.coordinator,
              "--host",
              "127.0.0.1",
              "--user-port",
              String(ports.user),
              "--mesh-port",
              String(ports.mesh),
              "--probe-port",
              String(ports.probe),
              "--transit-port",
              String(freePort()),
              ...simulatedSnpArgs({
                authorityDir: SIMULATED,
                hostData: ws.deployment.coordinator.digest,
                measurement: ws.measurement,
              }),
            ]);
            assert.equal(run.code, 0, run.stderr);
            return { name, ...ports };
          };
          for (let i = 0; i < 3; i++) replicas.push(await startReplica(i, 0));
          const logs = async (name: string) => (await podman(["logs", name])).stderr;
          for (let i = 0; i < replicas.length; i++) {
            // freePort's port is free when chosen, but the suite runs in parallel and another
            // process may bind it before the container does: only that error (AddrInUse in the
            // replica's log) earns the same pod fresh ports, at most twice.
            for (let attempt = 1;; attempt++) {
              const r = replicas[i]!;
              const up = await waitForStatus(`http://127.0.0.1:${r.probe}/probe/startup`, 200, 60);
              if (up) break;
              const log = await logs(r.name);
              assert.ok(
                attempt <= 2 && log.includes("AddrInUse"),
                `${r.name} did not start: ${log}`,
              );
              replicas[i] = await startReplica(i, attempt);
            }
          }
          const upAfter = (performance.now() - started) / 1000;
          // A new deployment in the workspace of the single-Coordinator one above: its root CA,
          // seed shares and verify/ move aside, or set refuses to start over.
          await moveEarlierDeploymentAside(ws.dir);
          const setAt = performance.now();
          const set = await runCli(
            ws.dir,
            "set",
            "-c",
            `127.0.0.1:${replicas[0]!.user}`,
            "-m",
            `${ws.dir}/manifest.json`,
            "--workload-owner-key",
            `${ws.dir}/workload-owner.pem`,
            ws.yamlPath,
          );
          assert.equal(set.code, 0, set.stderr);
          // The other replicas find the first through its Lease, attest it and get the seed.
          for (const r of replicas) {
            const ready = await waitForStatus(
              `http://127.0.0.1:${r.probe}/probe/readiness`,
              200,
              60,
            );
            assert.ok(ready, `${r.name} never got ready: ${await logs(r.name)}`);
          }
          console.log(
            `3 Coordinator containers (Kubernetes backend): start-up probes 200 ${
              upAfter.toFixed(1)
            } s after the first podman run; all ready ${
              ((performance.now() - setAt) / 1000).toFixed(1)
            } s after set was started`,
          );
          const meshCa = await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`);
          for (const [i, r] of replicas.entries()) {
            await Deno.mkdir(`${tmp}/ha-verify-${i}`);
            const verified = await runCli(
              ws.dir,
              "verify",
              "-c",
              `127.0.0.1:${r.user}`,
              "-m",
              `${ws.dir}/manifest.json`,
              "-w",
              `${tmp}/ha-verify-${i}`,
            );
            assert.equal(verified.code, 0, `verify through ${r.name}: ${verified.stderr}`);
            assert.equal(
              await Deno.readTextFile(`${tmp}/ha-verify-${i}/verify/mesh-ca.pem`),
              meshCa,
            );
          }
          const stored = await cluster.kubectl([
            "get",
            "configmaps,leases",
            "-l",
            "contrast.edgeless.systems/history=contrast-history",
            "-o",
            "name",
          ]);
          assert.equal(stored.code, 0, stored.stderr);
          assert.match(stored.stdout, /configmap\//, "the history is in ConfigMaps");
          for (const r of replicas) await podman(["rm", "--force", "--time", "2", r.name]);
        },
      );

      await t.step(
        "the proxy image serves mutual TLS with the initializer's files in transparent mode",
        async () => {
          const why = await whyNotNetns();
          if (why !== undefined) {
            console.warn(
              `\n!!! SKIPPED the service-mesh proxy image in network namespaces (${why}): the ` +
                "image's iptables and mutual TLS were NOT exercised on this machine. !!!\n",
            );
            return;
          }
          const image = lock!.images["service-mesh-proxy"]!;
          const pulled = await session.pull(image);
          assert.equal(pulled.code, 0, pulled.stderr);
          const help = await podman(["run", "--rm", ...PODMAN_RUN, "--read-only", image, "--help"]);
          assert.equal(help.code, 0, help.stderr);
          assert.match(help.stdout, /contrast service-mesh proxy/);
          const foreign = `${tmp}/foreign-client`;
          await writePodFiles(foreign, await issuePod(await meshAuthority(), ["db", "*"]));
          const dir = await Deno.makeTempDir({ dir: tmp, prefix: "mesh-" });
          const config: MeshImageScenario = {
            image,
            container: session.container(session.name("mesh-web")),
            podmanGlobal: PODMAN_GLOBAL,
            podmanRun: PODMAN_RUN.filter((f, i, all) =>
              f !== "--network" && all[i - 1] !== "--network"
            ),
            podDir: `${tmp}/pod-web`,
            env: sidecar!.env,
            memory: "512m",
            clients: { mesh: `${tmp}/pod-db/tls-config`, foreign },
            dir,
          };
          await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
          const out = await new Deno.Command("unshare", {
            args: [
              "-n",
              Deno.execPath(),
              "run",
              "-A",
              new URL("./mesh_image_netns.ts", import.meta.url).pathname,
              "cluster",
              `${dir}/config.json`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stdout = new TextDecoder().decode(out.stdout);
          assert.ok(out.success, new TextDecoder().decode(out.stderr) + stdout);
          const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
          console.log(
            `service-mesh proxy container: admin /ready 200 after ${r.readySeconds.toFixed(1)} s`,
          );
          assert.equal(r.meshClient, "app:hi", "a client with a mesh certificate reaches the app");
          assert.ok(
            !r.noClientCertificate.includes("app:"),
            `a client without a certificate must be refused: ${r.noClientCertificate}`,
          );
          assert.ok(!r.foreignClient.includes("app:"), `another CA's client: ${r.foreignClient}`);
          assert.ok(!r.plain.includes("app:"), `plain TCP must not reach the app: ${r.plain}`);
          assert.ok(!r.plain6.includes("app:"), `plain IPv6 must not reach the app: ${r.plain6}`);
          assert.equal(r.meshClient6, "app:hi", "a mesh client reaches the app over IPv6 too");
          for (const [family, rules] of [["IPv4", r.rules], ["IPv6", r.rules6]]) {
            assert.match(
              rules,
              new RegExp(`--dport ${APP_PORT} -j REDIRECT --to-ports \\d+`),
              `the proxy applied its ${family} REDIRECT rule with the image's iptables`,
            );
            assert.match(rules, /-j REJECT --reject-with tcp-reset/, `${family} REJECT`);
          }
          assert.match(r.user, /root/);
          // The memory limit reached the proxy in the image (it cannot read memory.max there):
          // half of 512 MiB at 130 KB per connection, one listener.
          const serving = JSON.parse(r.servingLog);
          console.log(
            `service-mesh proxy container: memory limit ${serving.memoryLimitBytes} from ` +
              `${serving.memoryLimitFrom}, cap ${serving.maxConnectionsPerListener} per listener`,
          );
          assert.equal(serving.memoryLimitFrom, "CONTRAST_MESH_MEMORY_LIMIT");
          assert.equal(serving.memoryLimitBytes, Number(SIDECAR_MEMORY_LIMIT));
          assert.equal(serving.maxConnectionsPerListener, 2064);
          assert.ok(!/memory limit not known/.test(r.logs), r.logs);
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

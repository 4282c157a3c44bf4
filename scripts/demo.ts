/**
 * `deno task demo`: the whole contrast flow, locally, on the simulated TEE.
 *
 * 1. generate the example app (emojivoto) with `contrast generate` against stand-in images;
 * 2. start a Coordinator (its own process) whose simulated HOST_DATA is its initdata digest;
 * 3. `contrast set`;
 * 4. one initializer per pod, each with simulated HOST_DATA = that pod's initdata digest and the
 *    environment the generated YAML gives it (as the Kata runtime would set them): each first
 *    attests the Coordinator its policy pins (`CONTRAST_COORDINATOR_TRUST`), then receives its
 *    mesh certificate;
 * 5. the pods talk through contrast's mesh proxy (app → egress → mTLS → ingress → app); a
 *    client with a self-made certificate is refused at the handshake;
 * 6. a pod with a tampered policy is refused, and its mesh proxy never serves;
 * 7. the Coordinator restarts, waits in recovery mode, and `contrast recover` restores it;
 * 8. `contrast verify`.
 *
 * Usage: `deno task demo [WORKSPACE]` (default `./demo-workspace`, recreated on each run; a
 * folder the demo did not make is refused, exit 2). Exit 0 when every step checked out, 1 when
 * one failed (its reason on stderr); the Coordinator is stopped either way.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { digest, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { coordinatorPolicyDigest, parseManifest } from "../manifest/manifest.ts";
import { SimulatedSnpAuthority } from "../testing/snp/authority.ts";
import { encodeInitdataToml, parseInitdata, POLICY_KEY } from "../policy/initdata.ts";
import { COORDINATOR_TRUST_ENV, parseCoordinatorTrust } from "../atls/coordinator_trust.ts";
import { type GeneratedPod, readGeneratedPods } from "../testing/simulation/generated_pods.ts";
import { imagesInYaml, publishStandInImages } from "./demo_images.ts";
import { imageCacheKeyPath, newImageCacheKey } from "../oci/cache_key.ts";
import {
  CONTRAST_IMAGES,
  encodeImageLock,
  type ImageLock,
  imageRepository,
} from "../deploy/image_lock.ts";
import { coordinatorYaml } from "../deploy/coordinator_yaml.ts";
import { loadDefaultSettings } from "../policy/settings.ts";
import { VERSION } from "../cli/version.ts";
import { demoMeshStep, demoProxyWithoutCertificate } from "./demo_mesh.ts";
import {
  type CoordinatorProcess,
  REPO_ROOT as ROOT,
  runDenoScript,
  runInitializerScript,
  type RunResult,
  type SimulatedSnpVm,
  startCoordinatorProcess,
} from "../testing/simulation/processes.ts";
import { DemoWorkspaceError, prepareDemoWorkspace } from "./demo_workspace.ts";

/** Where the demo's stand-ins of contrast's images claim to live (nothing is contacted). */
const DEMO_REGISTRY = "registry.contrast.local";
const WS_ARG = Deno.args[0] ?? "demo-workspace";
const WS = WS_ARG.startsWith("/") ? WS_ARG : `${Deno.cwd()}/${WS_ARG}`;
const COLOR = !Deno.env.get("NO_COLOR") && Deno.stdout.isTerminal();
const paint = (code: number) => (s: string) => COLOR ? `\x1b[${code}m${s}\x1b[0m` : s;
const bold = paint(1);
const dim = paint(2);
const green = paint(32);
const red = paint(31);
let stepNo = 0;

function step(title: string): void {
  console.log(`\n${bold(`[${++stepNo}/8] ${title}`)}`);
}

function info(line: string): void {
  console.log(`  ${line}`);
}

async function run(script: string, args: string[], quiet = false): Promise<RunResult> {
  const r = await runDenoScript(script, args, WS);
  if (!quiet) {
    for (const line of r.stdout.trimEnd().split("\n").filter(Boolean)) info(dim(line));
  }
  return r;
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) {
    console.error(red(`✘ ${what} failed (exit ${r.code}):\n${r.stderr}`));
    throw new Error(what);
  }
  return r;
}

/** Simulated SNP VM flags for a VM of this demo whose policy digest is `hostData`. */
function demoVm(hostData: string, measurement: string): SimulatedSnpVm {
  return { authorityDir: `${WS}/simulated-snp`, hostData, measurement };
}

/**
 * Starts the Coordinator; its log lines go to `coordinator.log` in the workspace. It is added to
 * `started`, which `main` stops however the demo ends.
 */
async function startCoordinator(
  hostData: string,
  measurement: string,
  started: CoordinatorProcess[],
): Promise<CoordinatorProcess> {
  try {
    const coordinator = await startCoordinatorProcess({
      historyDir: `${WS}/coordinator-state`,
      vm: demoVm(hostData, measurement),
      readyFile: `${WS}/coordinator.ready.json`,
      onLogLine: (line) =>
        Deno.writeTextFileSync(`${WS}/coordinator.log`, `${line}\n`, { append: true }),
    });
    started.push(coordinator);
    return coordinator;
  } catch (cause) {
    throw new Error(`the Coordinator did not start; see ${WS}/coordinator.log`, { cause });
  }
}

function describeCert(pem: string): string {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items.map((n) => n.value).join(", ") ?? "";
  return `SANs [${names}], issuer "${cert.issuer}", valid until ${
    cert.notAfter.toISOString().slice(0, 10)
  }`;
}

/** The eight steps; every Coordinator they start is added to `started`. */
async function runSteps(started: CoordinatorProcess[]): Promise<void> {
  step("Generate the example app (emojivoto) with contrast generate");
  const authority = await SimulatedSnpAuthority.generate();
  await authority.save(`${WS}/simulated-snp`);
  info(
    `simulated AMD SEV-SNP authority (${authority.product}): root ${
      authority.rootFingerprint.slice(0, 16)
    }…`,
  );
  const measurement = encodeHex(
    await digest("SHA-384", new TextEncoder().encode("contrast demo guest image")),
  );
  await Deno.mkdir(`${WS}/app`);
  for await (const e of Deno.readDir(`${ROOT}examples/emojivoto`)) {
    if (e.isFile && /\.ya?ml$/.test(e.name)) {
      await Deno.copyFile(`${ROOT}examples/emojivoto/${e.name}`, `${WS}/app/${e.name}`);
    }
  }
  // contrast's own images as `deno task images` names them, here as stand-ins too.
  const ownImages = CONTRAST_IMAGES.map((n) => `${DEMO_REGISTRY}/${imageRepository(n)}:${VERSION}`);
  const images = [...await imagesInYaml(`${WS}/app`), ...ownImages];
  // The workspace's image-cache key, as generate would create it: the stand-ins' cached account
  // files and tags carry a MAC under it, so the offline generate below trusts them.
  const cacheKey = newImageCacheKey();
  await Deno.writeTextFile(imageCacheKeyPath(WS), cacheKey.text, { mode: 0o600 });
  const digests = await publishStandInImages(`${WS}/image-cache`, cacheKey.key, images);
  const lock = {
    version: 1 as const,
    images: Object.fromEntries(CONTRAST_IMAGES.map((n, i) => [
      n,
      `${DEMO_REGISTRY}/${imageRepository(n)}@${digests.get(ownImages[i]!)}`,
    ])) as ImageLock["images"],
  };
  await Deno.writeTextFile(`${WS}/images.lock.json`, encodeImageLock(lock));
  await Deno.writeTextFile(
    `${WS}/app/coordinator.yml`,
    coordinatorYaml({
      image: lock.images.coordinator,
      runtimeClassName: (await loadDefaultSettings()).runtime_class_name,
      namespace: "emojivoto",
      replicas: 1,
    }),
  );
  info(
    `${images.length} images: stand-ins with the real names, built locally with contrast's OCI ` +
      "writer into an image cache (no registry contacted); coordinator.yml from " +
      "`contrast coordinator`, images.lock.json naming the stand-ins",
  );
  must(
    await run("cli/main.ts", [
      "generate",
      "--reference-values",
      "Simulated-SNP",
      "--simulated-root",
      `${WS}/simulated-snp`,
      "--trusted-measurement",
      measurement,
      "--image-cache",
      `${WS}/image-cache`,
      "--image-lock",
      `${WS}/images.lock.json`,
      "--offline",
      "-w",
      WS,
      `${WS}/app`,
    ]),
    "contrast generate",
  );
  const manifestBytes = await Deno.readFile(`${WS}/manifest.json`);
  const manifest = parseManifest(manifestBytes);
  const yamlFiles = [...Deno.readDirSync(`${WS}/app`)].map((e) => `${WS}/app/${e.name}`).sort();
  const found = await readGeneratedPods(yamlFiles);
  const coordinatorDigest = coordinatorPolicyDigest(manifest);
  info(
    `${green("✔")} manifest.json: ${
      Object.keys(manifest.Policies).length
    } policies, owner keys in ${WS}`,
  );

  step("Start the Coordinator (its own process, simulated HOST_DATA = its initdata digest)");
  let coordinator = await startCoordinator(coordinatorDigest, measurement, started);
  info(
    `${
      green("✔")
    } user API ${coordinator.userAddress}, mesh API ${coordinator.meshAddress}, probes :${coordinator.probePort}`,
  );

  step("contrast set: attest the Coordinator, then send the manifest and policies");
  must(
    await run("cli/main.ts", ["set", "-c", coordinator.userAddress, "-w", WS, ...yamlFiles]),
    "contrast set",
  );

  step("One initializer per pod, HOST_DATA = that pod's initdata digest");
  const pods = found.filter((f) => f.digest !== coordinatorDigest);
  const trustOf = (f: GeneratedPod): string => {
    const value = f.initializerEnv?.[COORDINATOR_TRUST_ENV];
    if (value === undefined) throw new Error(`${f.source} has no ${COORDINATOR_TRUST_ENV}`);
    const pinned = parseCoordinatorTrust(value, `${f.source}: ${COORDINATOR_TRUST_ENV}`);
    if (pinned.policyHash !== coordinatorDigest) {
      throw new Error(`${f.source} pins another Coordinator policy: ${pinned.policyHash}`);
    }
    return value;
  };
  for (const f of pods) trustOf(f);
  info(
    `each pod's policy pins ${COORDINATOR_TRUST_ENV} (Coordinator policy ${
      coordinatorDigest.slice(0, 12)
    }… + reference values)`,
  );
  info("each initializer first attests the Coordinator, then is attested by it");
  const podDir = (f: GeneratedPod) => `${WS}/pods/${f.source.split("/").at(-1)}`;
  const results = await Promise.all(pods.map((f) =>
    runInitializerScript({
      coordinator: coordinator.meshAddress,
      outDir: podDir(f),
      vm: demoVm(f.digest, measurement),
      deadlineSeconds: 60,
      coordinatorTrust: trustOf(f),
      extraArgs: ["--log-format", "text"],
    }, WS)
  ));
  for (const [i, f] of pods.entries()) {
    must(results[i]!, `initializer of ${f.source}`);
    if (!results[i]!.stderr.includes(`Coordinator attested`)) {
      throw new Error(`the initializer of ${f.source} did not report attesting the Coordinator`);
    }
    const chain = await Deno.readTextFile(`${podDir(f)}/tls-config/certChain.pem`);
    let secret = "";
    try {
      await Deno.stat(`${podDir(f)}/secrets/workload-secret-seed`);
      secret = ", workload secret";
    } catch {
      secret = "";
    }
    info(
      `${green("✔")} ${f.source.split(": ")[1]} (policy ${
        f.digest.slice(0, 12)
      }…): Coordinator attested; ${describeCert(chain)}${secret}`,
    );
  }

  step("Pods talk through contrast's mesh proxy: app → egress → mTLS → ingress → app");
  const web = pods.find((p) => p.name === "web") ?? pods[0]!;
  const emoji = pods.find((p) => p.name === "emoji") ?? pods.find((p) => p !== web)!;
  for (
    const line of await demoMeshStep({
      client: web,
      server: emoji,
      impostor: pods.find((p) => p.name === "voting"),
      tlsDir: (f) => `${podDir(f)}/tls-config`,
    })
  ) info(`${green("✔")} ${line}`);

  step("A pod with a tampered policy is refused");
  const original = await parseInitdata(web.initdata);
  const tampered = encodeInitdataToml(
    { ...original.data, [POLICY_KEY]: allowEveryExec(original.data[POLICY_KEY]!) },
    original.algorithm,
  );
  const tamperedDigest = encodeHex(await sha256(tampered));
  const refused = await runInitializerScript({
    coordinator: coordinator.meshAddress,
    outDir: `${WS}/pods/tampered`,
    vm: demoVm(tamperedDigest, measurement),
    deadlineSeconds: 2,
    coordinatorTrust: trustOf(web),
    extraArgs: ["--log-format", "text"],
  }, WS);
  if (refused.code === 0) throw new Error("the tampered pod was admitted");
  const reason = /hostData: coordinator answered 403: [^(]*/.exec(refused.stderr)?.[0] ??
    refused.stderr.trim().split("\n").at(-1);
  info(
    `web's policy edited to allow every exec into its containers (default ExecProcessRequest ` +
      `allowed): policy ${tamperedDigest.slice(0, 12)}…`,
  );
  info(`${green("✔")} refused: ${reason?.trim()}`);
  info(
    `${green("✔")} ${await demoProxyWithoutCertificate(web, `${WS}/pods/tampered/tls-config`)}`,
  );

  step("Restart the Coordinator; it waits in recovery mode; contrast recover");
  await coordinator.stop();
  coordinator = await startCoordinator(coordinatorDigest, measurement, started);
  const readiness = await fetch(`http://127.0.0.1:${coordinator.probePort}/probe/readiness`);
  await readiness.body?.cancel();
  if (readiness.status !== 412) {
    throw new Error(`the restarted Coordinator answers readiness ${readiness.status}, not 412`);
  }
  info(`restarted: readiness ${readiness.status} (recovery needed)`);
  must(
    await run("cli/main.ts", ["recover", "-c", coordinator.userAddress, "-w", WS]),
    "contrast recover",
  );

  step("contrast verify: attest and compare the active manifest with ours");
  const verify = must(
    await run("cli/main.ts", ["verify", "-c", coordinator.userAddress, "-w", WS, "--json"], true),
    "contrast verify",
  );
  const summary = JSON.parse(verify.stdout).result; // the contrast-result/v1 envelope
  info(
    `${green("✔")} Coordinator attested: ${summary.platform}, policy ${
      summary.coordinatorPolicy.slice(0, 16)
    }…`,
  );
  info(
    `${green("✔")} active manifest = manifest.json (sha256 ${
      summary.localManifestSha256.slice(0, 16)
    }…), ${summary.manifests} in history`,
  );
  info(`  verify/ written: manifests, policies, CAs, latest transition`);
}

/** The rules' default verdict for ExecProcess, which the policy sets to "denied". */
const EXEC_DEFAULT = /^default ExecProcessRequest := .*$/m;

/**
 * The attacker's edit of step 6: the policy text with ExecProcess allowed by default, so the host
 * could exec any command in the pod's containers.
 *
 * @throws Error when the rules have no such default (the demo must then be updated, not pass)
 */
function allowEveryExec(policy: string): string {
  const line = EXEC_DEFAULT.exec(policy)?.[0];
  const edited = 'default ExecProcessRequest := {"allowed": true, "ops": []}';
  if (line === undefined || line === edited) {
    throw new Error("the policy has no default ExecProcessRequest that denies: cannot tamper");
  }
  return policy.replace(EXEC_DEFAULT, edited);
}

/** What the demo left in its workspace, and how to remove it. */
function printOutputs(): void {
  console.log(`\n${bold(green("Demo complete."))} Everything is in ${WS}:`);
  for (
    const line of [
      "app/                     the generated YAML (initdata annotations, injected containers)",
      "manifest.json            the manifest set on the Coordinator, with workload-owner.pem " +
      "and seedshare-owner.pem",
      "coordinator-root-ca.pem  what contrast set wrote, with mesh-ca.pem and seed-shares.json",
      "coordinator.log          the Coordinator's log (coordinator-state/: its history store)",
      "pods/<name>/             each initializer's output (tls-config/, secrets/)",
      "verify/                  what contrast verify fetched (manifests, policies, CAs)",
      "simulated-snp/           the simulated AMD authority, private keys included (image-cache/: " +
      "the stand-in images)",
    ]
  ) info(dim(line));
  console.log(dim(`Remove it with: rm -rf ${WS}`));
}

async function main(): Promise<void> {
  console.log(bold("contrast demo: a confidential deployment, end to end, on a simulated TEE"));
  console.log(dim(`workspace: ${WS}`));
  await prepareDemoWorkspace(WS);
  const started: CoordinatorProcess[] = [];
  try {
    await runSteps(started);
  } finally {
    for (const coordinator of started) await coordinator.stop();
  }
  printOutputs();
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(red(`demo failed: ${error instanceof Error ? error.message : String(error)}`));
    Deno.exit(error instanceof DemoWorkspaceError ? 2 : 1);
  }
}

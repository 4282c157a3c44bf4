/**
 * End-to-end harness: a workspace on disk (simulated SNP authority, owner keys, manifest,
 * generated YAML with initdata annotations) and real processes: the Coordinator
 * (`coordinator/main.ts`), initializers (`initializer/main.ts`) and the CLI (`cli/main.ts`).
 *
 * @module
 */
import "reflect-metadata";
import { stringify } from "yaml";
import { encodeHex } from "../../bytes/mod.ts";
import { encodeInitdataAnnotation, INITDATA_ANNOTATION } from "../../policy/initdata.ts";
import { type Deployment, deployment, MEASUREMENT } from "../coordinator/fixture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();

/** A workspace folder with everything the CLI and the processes need. */
export interface Workspace {
  /** The folder. */
  readonly dir: string;
  /** The deployment (keys, documents). */
  readonly deployment: Deployment;
  /** Folder of the saved simulated authority. */
  readonly authorityDir: string;
  /** Path of the generated YAML. */
  readonly yamlPath: string;
  /** hex launch measurement of every simulated VM. */
  readonly measurement: string;
  /** Removes the folder. */
  cleanup(): Promise<void>;
}

/** A fresh workspace with `manifest.json`, keys and `deployment.yml`. */
export async function createWorkspace(): Promise<Workspace> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-e2e-" });
  const d = await deployment();
  const authorityDir = `${dir}/simulated-snp`;
  await d.authority.save(authorityDir);
  await Deno.writeFile(`${dir}/manifest.json`, d.manifest());
  await Deno.writeTextFile(`${dir}/workload-owner.pem`, d.workloadOwner.pem, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/seedshare-owner.pem`, d.seedshareOwner.pem, { mode: 0o600 });
  const pods = [
    ["coordinator", d.coordinator.doc],
    ...Object.entries(d.pods).map(([n, p]) => [n, p.doc] as const),
  ] as const;
  const docs = [];
  for (const [name, doc] of pods) {
    docs.push(stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        annotations: { [INITDATA_ANNOTATION]: await encodeInitdataAnnotation(doc) },
      },
      spec: { runtimeClassName: "contrast-cc", containers: [{ name, image: "example" }] },
    }));
  }
  const yamlPath = `${dir}/deployment.yml`;
  await Deno.writeTextFile(yamlPath, docs.join("---\n"));
  return {
    dir,
    deployment: d,
    authorityDir,
    yamlPath,
    measurement: encodeHex(await MEASUREMENT),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A running Coordinator process. */
export interface CoordinatorProcess {
  /** `127.0.0.1:<user port>`. */
  readonly userAddress: string;
  /** `127.0.0.1:<mesh port>`. */
  readonly meshAddress: string;
  /** Probe port. */
  readonly probePort: number;
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Collected log lines (JSON). */
  readonly logs: string[];
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

async function drain(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    into.push(...lines);
  }
  if (buffer) into.push(buffer);
}

/** Starts a Coordinator process on free ports with the workspace's simulated TEE. */
export async function startCoordinator(
  ws: Workspace,
  historyDir = `${ws.dir}/history`,
  extraArgs: string[] = [],
): Promise<CoordinatorProcess> {
  const readyFile = `${ws.dir}/ready-${crypto.randomUUID()}.json`;
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      `${ROOT}coordinator/main.ts`,
      "--history-dir",
      historyDir,
      "--host",
      "127.0.0.1",
      "--user-port",
      "0",
      "--mesh-port",
      "0",
      "--probe-port",
      "0",
      "--evidence",
      "simulated-snp",
      "--allow-simulated",
      "--simulated-authority",
      ws.authorityDir,
      "--simulated-host-data",
      encodeHex(ws.deployment.coordinator.digest),
      "--simulated-measurement",
      ws.measurement,
      "--ready-file",
      readyFile,
      ...extraArgs,
    ],
    stdout: "null",
    stderr: "piped",
    cwd: ws.dir,
  }).spawn();
  const logs: string[] = [];
  const drained = drain(child.stderr, logs);
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  for (let i = 0; i < 600; i++) {
    try {
      const ports = JSON.parse(await Deno.readTextFile(readyFile));
      return {
        userAddress: `127.0.0.1:${ports.userPort}`,
        meshAddress: `127.0.0.1:${ports.meshPort}`,
        probePort: ports.probePort,
        child,
        logs,
        stop: async (signal: Deno.Signal = "SIGTERM") => {
          try {
            child.kill(signal);
          } catch {
            // already exited
          }
          const status = await child.status;
          await drained;
          return status;
        },
      };
    } catch {
      if (exited) {
        await drained;
        throw new Error(`coordinator exited ${exited.code}: ${logs.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`coordinator did not start: ${logs.join("\n")}`);
}

/** Output of a finished process. */
export interface RunResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/** Runs `contrast ARGS` in the workspace. */
export async function runCli(ws: Workspace, args: string[]): Promise<RunResult> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", `${ROOT}cli/main.ts`, ...args],
    cwd: ws.dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Runs an initializer process for a pod whose simulated HOST_DATA is `hostData`. */
export async function runInitializerProcess(
  ws: Workspace,
  coordinator: CoordinatorProcess,
  hostData: Uint8Array,
  outDir: string,
  deadlineSeconds = 60,
  extraArgs: string[] = [],
): Promise<RunResult> {
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      `${ROOT}initializer/main.ts`,
      "--coordinator",
      coordinator.meshAddress,
      "--tls-config-dir",
      `${outDir}/tls-config`,
      "--secrets-dir",
      `${outDir}/secrets`,
      "--evidence",
      "simulated-snp",
      "--allow-simulated",
      "--simulated-authority",
      ws.authorityDir,
      "--simulated-host-data",
      encodeHex(hostData),
      "--simulated-measurement",
      ws.measurement,
      "--deadline-seconds",
      String(deadlineSeconds),
      ...extraArgs,
    ],
    cwd: ws.dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

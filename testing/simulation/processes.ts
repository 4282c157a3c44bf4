/**
 * Running contrast's programs as real processes on this machine (`deno run -A` of the repository's
 * entry points): the Coordinator on free ports, initializers and the CLI, with the simulated SNP
 * evidence flags they take. Used by the demo, the load test and the end-to-end tests.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import { COORDINATOR_TRUST_ENV } from "../../atls/coordinator_trust.ts";

/** The repository root (with a trailing slash). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

const DENO = Deno.execPath();

/** Output of a finished process. */
export interface RunResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/**
 * Runs `deno run -A <repository>/<script> ...args` in `cwd` (with `env` added to this process's
 * environment) and collects its output.
 */
export async function runDenoScript(
  script: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", `${REPO_ROOT}${script}`, ...args],
    cwd,
    env: { ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The simulated VM a process runs in. */
export interface SimulatedVm {
  /** Its TEE (default `snp`). */
  readonly platform?: "snp" | "tdx";
  /** The saved simulated authority: a folder (SNP) or a file (TDX). */
  readonly authorityDir: string;
  /** HOST_DATA (TDX: the MRCONFIGID source): the initdata digest of the VM's policy. */
  readonly hostData: Uint8Array | string;
  /** Launch measurement, TDX: MRTD (48 bytes, or its hex). */
  readonly measurement: Uint8Array | string;
}

/** The simulated SNP VM a process runs in (the older name of {@link SimulatedVm}). */
export type SimulatedSnpVm = SimulatedVm;

function hex(value: Uint8Array | string): string {
  return typeof value === "string" ? value : encodeHex(value);
}

/** The flags selecting simulated evidence for `vm` (Coordinator and initializer alike). */
export function simulatedSnpArgs(vm: SimulatedVm): string[] {
  return [
    "--evidence",
    `simulated-${vm.platform ?? "snp"}`,
    "--allow-simulated",
    "--simulated-authority",
    vm.authorityDir,
    "--simulated-host-data",
    hex(vm.hostData),
    "--simulated-measurement",
    hex(vm.measurement),
  ];
}

/** What an initializer run needs. */
interface InitializerRun {
  /** The Coordinator's mesh API address. */
  readonly coordinator: string;
  /** The pod's folder: `tls-config/` and `secrets/` are written below it. */
  readonly outDir: string;
  /** The pod's simulated VM. */
  readonly vm: SimulatedSnpVm;
  /** Give up after this many seconds. */
  readonly deadlineSeconds: number;
  /**
   * The pod's trust document (`CONTRAST_COORDINATOR_TRUST`, see `atls/coordinator_trust.ts`):
   * in a pod it is the initializer's environment, pinned by the pod's policy.
   */
  readonly coordinatorTrust: string;
  /** Further flags. */
  readonly extraArgs?: readonly string[];
  /** Further environment variables (e.g. `CONTRAST_KDS_URL`, `CONTRAST_COLLATERAL_CACHE`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The environment of the initializer process of `run` (its trust document, then `run.env`). */
export function initializerEnv(
  run: Pick<InitializerRun, "coordinatorTrust" | "env">,
): Record<string, string> {
  return { ...run.env, [COORDINATOR_TRUST_ENV]: run.coordinatorTrust };
}

/** Runs the initializer process of `run` in `cwd` (arguments and environment as a pod's). */
export function runInitializerScript(run: InitializerRun, cwd: string): Promise<RunResult> {
  return runDenoScript("initializer/main.ts", initializerArgs(run), cwd, initializerEnv(run));
}

/** The initializer's command line for `run`. */
export function initializerArgs(run: InitializerRun): string[] {
  return [
    "--coordinator",
    run.coordinator,
    "--tls-config-dir",
    `${run.outDir}/tls-config`,
    "--secrets-dir",
    `${run.outDir}/secrets`,
    ...simulatedSnpArgs(run.vm),
    "--deadline-seconds",
    String(run.deadlineSeconds),
    ...run.extraArgs ?? [],
  ];
}

/** How to start a Coordinator process. */
interface CoordinatorProcessOptions {
  /** The manifest history folder (file backend); omit it and pass backend flags instead. */
  readonly historyDir?: string;
  /** The Coordinator's simulated VM (HOST_DATA = the coordinator policy's digest). */
  readonly vm: SimulatedSnpVm;
  /** Where the process writes its bound ports once listening (replaced if present). */
  readonly readyFile: string;
  /** Working folder of the process. */
  readonly cwd?: string;
  /** Further flags. */
  readonly extraArgs?: readonly string[];
  /** Flags for `deno run` itself, before the script (e.g. `--inspect=127.0.0.1:0`). */
  readonly denoFlags?: readonly string[];
  /**
   * The checkout whose `coordinator/main.ts` runs (with a trailing slash; default this one): the
   * load test compares this tree's Coordinator with another checkout's in one run.
   */
  readonly repoRoot?: string;
  /** Where the process's standard output goes (default discarded; V8's `--trace-gc` writes there). */
  readonly stdout?: "null" | "inherit";
  /** Environment variables added to this process's (e.g. `POD_IP`, `POD_NAME`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with every log line the process writes (its standard error). */
  readonly onLogLine?: (line: string) => void;
}

/** A running Coordinator process. */
export interface CoordinatorProcess {
  /** `127.0.0.1:<user port>`. */
  readonly userAddress: string;
  /** `127.0.0.1:<mesh port>`. */
  readonly meshAddress: string;
  /** Probe port. */
  readonly probePort: number;
  /** `127.0.0.1:<transit KMS port>`. */
  readonly transitAddress: string;
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Collected log lines (JSON). */
  readonly logs: string[];
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

async function drainLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    lines.forEach(onLine);
  }
  if (buffer) onLine(buffer);
}

/**
 * The `deno` arguments that run `coordinator/main.ts` as {@link startCoordinatorProcess} does:
 * 127.0.0.1, free ports (reported in the ready file), the simulated VM, the history folder.
 *
 * @example
 * ```ts
 * import { coordinatorProcessArgs } from "./processes.ts";
 *
 * const vm = { authorityDir: "/tmp/ws/simulated-snp", hostData: "00".repeat(32), measurement: "11".repeat(48) };
 * coordinatorProcessArgs({ vm, readyFile: "/tmp/ws/ready.json", historyDir: "/tmp/ws/history" });
 * ```
 */
export function coordinatorProcessArgs(
  options: Pick<
    CoordinatorProcessOptions,
    "historyDir" | "vm" | "readyFile" | "extraArgs" | "denoFlags" | "repoRoot"
  >,
): string[] {
  return [
    "run",
    "-A",
    ...options.denoFlags ?? [],
    `${options.repoRoot ?? REPO_ROOT}coordinator/main.ts`,
    ...(options.historyDir === undefined ? [] : ["--history-dir", options.historyDir]),
    "--host",
    "127.0.0.1",
    "--user-port",
    "0",
    "--mesh-port",
    "0",
    "--probe-port",
    "0",
    "--transit-port",
    "0",
    ...simulatedSnpArgs(options.vm),
    "--ready-file",
    options.readyFile,
    ...options.extraArgs ?? [],
  ];
}

/**
 * Starts `coordinator/main.ts` on 127.0.0.1 with free ports and waits (up to 30 s) until it
 * reports them.
 *
 * @throws {Error} with its log when the process exits or does not start in time
 */
export async function startCoordinatorProcess(
  options: CoordinatorProcessOptions,
): Promise<CoordinatorProcess> {
  await Deno.remove(options.readyFile).catch(() => undefined);
  const child = new Deno.Command(DENO, {
    args: coordinatorProcessArgs(options),
    stdout: options.stdout ?? "null",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: { ...options.env } } : {}),
  }).spawn();
  const logs: string[] = [];
  const drained = drainLines(child.stderr, (line) => {
    logs.push(line);
    options.onLogLine?.(line);
  });
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  for (let i = 0; i < 600; i++) {
    try {
      const ports = JSON.parse(await Deno.readTextFile(options.readyFile));
      return {
        userAddress: `127.0.0.1:${ports.userPort}`,
        meshAddress: `127.0.0.1:${ports.meshPort}`,
        probePort: ports.probePort,
        transitAddress: `127.0.0.1:${ports.transitPort}`,
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

/**
 * Running the mesh proxy (`meshproxy/main.ts`) as a real process for a simulated pod: the
 * environment its generated sidecar container has, in explicit mode on loopback (several pods
 * share this machine, so there are no iptables rules; the inbound listeners and the admin port
 * get free ports, the application's ports and the egress remotes are mapped to where the
 * stand-in applications and the other pods' proxies listen).
 *
 * @module
 */
import { REPO_ROOT } from "./processes.ts";

/** A listener as the proxy's ready file reports it. */
interface ProxyListener {
  readonly direction: "ingress" | "egress";
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

interface ProxyListenerJson {
  readonly direction: "ingress" | "egress";
  readonly name: string;
  readonly listen: string;
}

/** A running proxy process. */
export interface MeshProxyProcess {
  readonly listeners: readonly ProxyListener[];
  /** The admin interface port (when the pod has one). */
  readonly adminPort?: number;
  /** The process id. */
  readonly pid: number;
  /** Everything the proxy logged so far. */
  readonly log: () => string;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number>;
}

/** How to start one pod's proxy. */
interface MeshProxyRun {
  /** The sidecar's literal environment from the generated YAML. */
  readonly env: Readonly<Record<string, string>>;
  /** The pod's `tls-config` folder (what its initializer wrote). */
  readonly tlsConfigDir: string;
  /** Application port → where the stand-in application really listens. */
  readonly upstreamPorts?: Readonly<Record<number, number>>;
  /** `host:port` of an egress remote → `ip:port` of the serving pod's proxy listener. */
  readonly resolve?: Readonly<Record<string, string>>;
  /** Seconds to wait for credentials (default 20). */
  readonly credentialsWaitSeconds?: number;
}

/**
 * Starts the proxy and resolves once it serves.
 *
 * @throws Error with the proxy's log when it exits first (e.g. no valid credentials)
 */
export async function startMeshProxyProcess(run: MeshProxyRun): Promise<MeshProxyProcess> {
  const readyDir = await Deno.makeTempDir({ prefix: "contrast-meshproxy-" });
  const readyFile = `${readyDir}/ready.json`;
  const args = [
    "run",
    "-A",
    `${REPO_ROOT}meshproxy/main.ts`,
    "--no-transparent",
    "--tls-config-dir",
    run.tlsConfigDir,
    "--inbound-host",
    "127.0.0.1",
    "--inbound-port-base",
    "0",
    "--admin-host",
    "127.0.0.1",
    "--admin-port",
    "0",
    "--credentials-wait-seconds",
    String(run.credentialsWaitSeconds ?? 20),
    "--log-format",
    "json",
    "--ready-file",
    readyFile,
    ...Object.entries(run.upstreamPorts ?? {}).flatMap((
      [p, q],
    ) => ["--upstream-port", `${p}=${q}`]),
    ...Object.entries(run.resolve ?? {}).flatMap(([from, to]) => ["--resolve", `${from}=${to}`]),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { ...run.env },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  let exitCode: number | undefined;
  const exited = child.status.then((s) => exitCode = s.code);
  let ready: { listeners: ProxyListenerJson[]; adminPort: number | null } | undefined;
  while (ready === undefined && exitCode === undefined) {
    await new Promise((r) => setTimeout(r, 50));
    ready = await Deno.readTextFile(readyFile).then(JSON.parse, () => undefined);
  }
  await Deno.remove(readyDir, { recursive: true });
  if (ready === undefined) {
    await reading;
    throw new Error(`the mesh proxy exited with ${exitCode} before serving:\n${log}`);
  }
  return {
    listeners: ready.listeners.map((l) => {
      const colon = l.listen.lastIndexOf(":");
      return {
        direction: l.direction,
        name: l.name,
        host: l.listen.slice(0, colon),
        port: Number(l.listen.slice(colon + 1)),
      };
    }),
    ...(ready.adminPort !== null ? { adminPort: ready.adminPort } : {}),
    pid: child.pid,
    log: () => log,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await exited;
      await reading;
      return exitCode!;
    },
  };
}

/** Runs a proxy that is expected not to serve; resolves with its exit code and log. */
export async function runMeshProxyUntilExit(
  run: MeshProxyRun,
): Promise<{ code: number; log: string }> {
  try {
    const p = await startMeshProxyProcess(run);
    const code = await p.stop();
    return { code, log: `unexpectedly served\n${p.log()}` };
  } catch (error) {
    const m = /exited with (\d+) before serving:\n([\s\S]*)$/.exec((error as Error).message);
    if (!m) throw error;
    return { code: Number(m[1]), log: m[2]! };
  }
}

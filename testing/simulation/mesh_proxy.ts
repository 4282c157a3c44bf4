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

/** A listener as the proxy's "serving" log line reports it. */
export interface ProxyListener {
  readonly direction: "ingress" | "egress";
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A running proxy process. */
export interface MeshProxyProcess {
  readonly listeners: readonly ProxyListener[];
  /** The admin interface port (when the pod has one). */
  readonly adminPort?: number;
  /** Everything the proxy logged so far. */
  readonly log: () => string;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number>;
}

/** How to start one pod's proxy. */
export interface MeshProxyRun {
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

function parseListeners(text: string): ProxyListener[] {
  return text.split(",").filter(Boolean).map((item) => {
    const m = /^(ingress|egress):(.+)@(.+):(\d+)$/.exec(item);
    if (!m) throw new Error(`unexpected listener "${item}"`);
    return {
      direction: m[1] as "ingress" | "egress",
      name: m[2]!,
      host: m[3]!,
      port: Number(m[4]),
    };
  });
}

/**
 * Starts the proxy and resolves once it serves.
 *
 * @throws Error with the proxy's log when it exits first (e.g. no valid credentials)
 */
export async function startMeshProxyProcess(run: MeshProxyRun): Promise<MeshProxyProcess> {
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
  let resolveServing: (line: Record<string, unknown>) => void = () => {};
  const serving = new Promise<Record<string, unknown>>((r) => resolveServing = r);
  const reading = (async () => {
    const decoder = new TextDecoderStream();
    let pending = "";
    for await (const chunk of child.stderr.pipeThrough(decoder)) {
      log += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === "serving") resolveServing(entry);
        } catch { /* not a log line */ }
      }
    }
  })();
  const exited = child.status.then((s) => s.code);
  const first = await Promise.race([serving, exited]);
  if (typeof first === "number") {
    await reading;
    throw new Error(`the mesh proxy exited with ${first} before serving:\n${log}`);
  }
  return {
    listeners: parseListeners(String(first.listeners ?? "")),
    ...(typeof first.adminPort === "number" ? { adminPort: first.adminPort } : {}),
    log: () => log,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const code = await exited;
      await reading;
      return code;
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

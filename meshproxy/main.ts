/**
 * The mesh proxy process: contrast's service-mesh sidecar (a native sidecar that starts after
 * the initializer).
 *
 * ```
 * deno run -A meshproxy/main.ts
 *   [--tls-config-dir /contrast/tls-config] [--no-transparent]
 *   [--inbound-host any] [--inbound-port-base 15100] [--upstream-host 127.0.0.1]
 *   [--upstream-port PORT=REALPORT]... [--resolve HOST:PORT=IP:PORT]... [--admin-host any]
 *   [--admin-port PORT] [--ready-file PATH]
 *   [--credentials-wait-seconds 60] [--reload-interval-seconds 2]
 *   [--max-connections N] [--max-handshakes N] [--on-handshake-limit close-oldest|refuse-new]
 *   [--idle-timeout-seconds 3600] [--handshake-timeout-seconds 10] [--max-open-files 20000]
 *   [--admin-remote-access probes|all]
 *   [--log-format json|text] [--log-level info]
 * ```
 *
 * The mesh configuration comes from the environment `contrast generate` sets from the pod's
 * annotations: `EDG_INGRESS_PROXY_CONFIG`, `EDG_EGRESS_PROXY_CONFIG`, `EDG_ADMIN_PORT` and
 * `CONTRAST_MESH_POD_PORTS`, and the limits in `CONTRAST_MESH_LIMITS` (see
 * `protocol/mesh_config.ts`; a limit flag overrides that key), and the sidecar's memory limit
 * in `CONTRAST_MESH_MEMORY_LIMIT` (from the downward API; see `memory_limit.ts`). Transparent mode (the default;
 * `CONTRAST_MESH_TRANSPARENT=false` or `--no-transparent` turns it off) installs the iptables
 * rules of `iptables.ts` and needs `CAP_NET_ADMIN`.
 *
 * Exit codes: 0 after SIGTERM/SIGINT; 1 on a configuration error, when no valid credentials
 * appeared within the wait time, or when the rules could not be applied; 2 on bad usage;
 * 70 on an internal error.
 *
 * @module
 */
import "reflect-metadata";
import { Command, Option } from "commander";
import { ContrastError } from "../util/errors/mod.ts";
import { type LogFormat, Logger, type LogLevel } from "../util/log/logger.ts";
import {
  addLogFormatOption,
  envOption as env,
  fatalExitCode,
  usageExitCode,
} from "../util/process_options.ts";
import {
  ADMIN_PORT_ENV,
  EGRESS_ENV,
  EGRESS_SANS_ENV,
  ENV_SOURCES,
  INGRESS_ENV,
  LIMITS_ENV,
  MEMORY_LIMIT_ENV,
  type MeshConfig,
  type MeshLimitSettings,
  parseMeshConfig,
  parseMeshLimits,
  parsePort,
  POD_PORTS_ENV,
} from "../protocol/mesh_config.ts";
import { ANY_ADDRESS } from "./any_address.ts";
import { MeshProxy } from "./proxy.ts";
import { readMemoryLimit } from "./memory_limit.ts";
import { writeFileAtomic } from "../util/files/atomic_write.ts";

/** Default folder of the initializer's TLS files. */
const DEFAULT_TLS_CONFIG_DIR = "/contrast/tls-config";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses `--upstream-port P=Q` values. */
function parseUpstreamPorts(values: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const v of values) {
    const [from, to] = v.split("=");
    if (from === undefined || to === undefined) {
      throw new ContrastError("upstream-port", `"${v}" must be PORT=REALPORT`);
    }
    out.set(parsePort(from, "upstream-port"), parsePort(to, "upstream-port"));
  }
  return out;
}

/** Parses `--resolve HOST:PORT=IP:PORT` values into a resolver map. */
function parseResolveOverrides(
  values: readonly string[],
): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const v of values) {
    const m = /^([^=:]+):(\d+)=([^=:]+):(\d+)$/.exec(v);
    if (!m) throw new ContrastError("resolve", `"${v}" must be HOST:PORT=IP:PORT`);
    out.set(`${m[1]!.toLowerCase()}:${parsePort(m[2]!, "resolve")}`, {
      host: m[3]!,
      port: parsePort(m[4]!, "resolve"),
    });
  }
  return out;
}

function booleanEnv(name: string, fallback: boolean): boolean {
  const v = env(name);
  if (v === undefined || v === "") return fallback;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ContrastError(name, `"${v}" must be "true" or "false"`);
}

/** The limit flags and the limits key each one sets. */
const LIMIT_FLAGS = [
  ["maxConnections", "maxConnections"],
  ["maxHandshakes", "maxHandshakes"],
  ["onHandshakeLimit", "onHandshakeLimit"],
  ["idleTimeoutSeconds", "idleTimeoutSeconds"],
  ["handshakeTimeoutSeconds", "handshakeTimeoutSeconds"],
  ["maxOpenFiles", "maxOpenFiles"],
  ["adminRemoteAccess", "adminRemoteAccess"],
] as const;

/** The limits: `CONTRAST_MESH_LIMITS` (from the annotation), each key a flag sets overridden. */
function limitSettings(opts: Record<string, unknown>): MeshLimitSettings {
  const fromEnv = parseMeshLimits(env(LIMITS_ENV), LIMITS_ENV);
  const entries = LIMIT_FLAGS.filter(([flag]) => opts[flag] !== undefined)
    .map(([flag, key]) => `${key}=${String(opts[flag])}`);
  const fromFlags = parseMeshLimits(entries.join(","), "limit flags");
  const merged = { ...fromEnv, ...fromFlags };
  // Cross-checked once merged, with the same rule as one source.
  parseMeshLimits(
    Object.entries(merged).map(([k, v]) => `${k}=${v}`).join(","),
    `${LIMITS_ENV} and the limit flags`,
  );
  return merged;
}

function seconds(value: string, field: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ContrastError(field, "expected a positive number");
  return n * 1000;
}

/** The `--admin-port` flag's name, in errors. */
const ADMIN_PORT_FLAG = "--admin-port";

/**
 * The mesh configuration from the environment, with `--admin-port` (when given) in place of
 * `EDG_ADMIN_PORT`: cross-checked as that port (an ingress or egress port is refused naming the
 * flag); `0` (ephemeral, for tests) collides with nothing.
 *
 * @throws {MeshConfigError} naming the variable or the flag
 */
function meshConfigOf(adminPortFlag: string | undefined): MeshConfig {
  const ephemeral = adminPortFlag === "0";
  const config = parseMeshConfig({
    ingress: env(INGRESS_ENV),
    egress: env(EGRESS_ENV),
    admin: adminPortFlag === undefined ? env(ADMIN_PORT_ENV) : ephemeral ? "" : adminPortFlag,
    podPorts: env(POD_PORTS_ENV),
    egressSans: env(EGRESS_SANS_ENV),
  }, adminPortFlag === undefined ? ENV_SOURCES : { ...ENV_SOURCES, admin: ADMIN_PORT_FLAG });
  return ephemeral ? { ...config, adminPort: 0 } : config;
}

/** Runs the proxy with `args` until a signal stops it; returns the exit code. */
export async function meshProxyMain(
  args: string[],
  signals: { onReady?: (proxy: MeshProxy) => void; stop?: Promise<void> } = {},
): Promise<number> {
  const command = new Command("meshproxy")
    .description("contrast service-mesh proxy: attested mutual TLS between pods")
    .option(
      "--tls-config-dir <dir>",
      "the initializer's TLS files",
      env("CONTRAST_TLS_CONFIG_DIR") ?? DEFAULT_TLS_CONFIG_DIR,
    )
    .option("--no-transparent", "do not install the iptables rules (explicit mode)")
    .option(
      "--inbound-host <ip>",
      "address of the inbound listeners (any: every IPv4 and IPv6 address)",
      ANY_ADDRESS,
    )
    .option(
      "--inbound-port-base <port>",
      "first inbound listener port, also what the transparent-mode rules redirect to (0: ephemeral, explicit mode only)",
      "15100",
    )
    .option("--upstream-host <ip>", "where the application listens", "127.0.0.1")
    .option("--upstream-port <p=q>", "application port override (repeatable)", collect, [])
    .option("--resolve <host:port=ip:port>", "egress address override (repeatable)", collect, [])
    .option(
      "--admin-host <ip>",
      "address of the admin interface (any: every IPv4 and IPv6 address)",
      ANY_ADDRESS,
    )
    .option(
      "--admin-port <port>",
      "admin port in place of EDG_ADMIN_PORT, cross-checked like it (0: ephemeral, for tests)",
    )
    .option(
      "--credentials-wait-seconds <n>",
      "give up when no valid credentials appear within this time",
      env("CONTRAST_MESH_CREDENTIALS_WAIT_SECONDS") ?? "60",
    )
    .option("--reload-interval-seconds <n>", "how often the TLS files are re-read", "2")
    .option(
      "--max-connections <n>",
      "connections one listener holds at once (default: from --max-open-files and the memory " +
        "limit, CONTRAST_MESH_MEMORY_LIMIT or the cgroup memory.max)",
    )
    .option(
      "--max-handshakes <n>",
      "of those, unfinished TLS handshakes (default: a quarter of the cap, at most 1024)",
    )
    .addOption(
      new Option(
        "--on-handshake-limit <action>",
        "when the handshake limit is reached (default close-oldest)",
      ).choices(["close-oldest", "refuse-new"]),
    )
    .option(
      "--idle-timeout-seconds <n>",
      "close established connections idle this long (default 3600)",
    )
    .option(
      "--handshake-timeout-seconds <n>",
      "close TLS handshakes not finished this long (default 10)",
    )
    .option(
      "--max-open-files <n>",
      "descriptor limit the default caps are derived from (default 20000)",
    )
    .addOption(
      new Option(
        "--admin-remote-access <who>",
        "probes: off loopback only /ready and /live (default); all: every endpoint",
      ).choices(["probes", "all"]),
    )
    .option(
      "--ready-file <path>",
      "once serving, write {listeners, adminPort} as JSON here (for supervisors and tests)",
    )
    .addOption(
      new Option("--log-level <level>", "lowest level logged").choices([
        "debug",
        "info",
        "warn",
        "error",
      ]).default(env("CONTRAST_LOG_LEVEL") ?? "info"),
    )
    .exitOverride();
  const program = addLogFormatOption(command);
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    return usageExitCode(error); // 0 after --help, 2 for a usage error
  }
  const o = program.opts();
  const logger = new Logger("meshproxy", {
    format: o.logFormat as LogFormat,
    level: o.logLevel as LogLevel,
  });
  let proxy: MeshProxy | undefined;
  try {
    const config = meshConfigOf(o.adminPort);
    const transparent = o.transparent !== false &&
      booleanEnv("CONTRAST_MESH_TRANSPARENT", true);
    const overrides = parseResolveOverrides(o.resolve);
    const memoryLimit = await readMemoryLimit(env(MEMORY_LIMIT_ENV));
    if (memoryLimit.kind === "unreadable") {
      logger.warn("memory limit not known: default connection caps from descriptors only", {
        reason: memoryLimit.reason,
      });
    }
    proxy = new MeshProxy({
      config,
      tlsConfigDir: o.tlsConfigDir,
      transparent,
      inboundHost: o.inboundHost,
      inboundPortBase: o.inboundPortBase === "0"
        ? 0
        : parsePort(o.inboundPortBase, "--inbound-port-base"),
      upstreamHost: o.upstreamHost,
      upstreamPorts: parseUpstreamPorts(o.upstreamPort),
      resolve: (host, port) => overrides.get(`${host}:${port}`) ?? { host, port },
      adminHost: o.adminHost,
      credentialsWaitMs: seconds(o.credentialsWaitSeconds, "credentials-wait-seconds"),
      limits: limitSettings(o),
      memoryLimit,
      reloadIntervalMs: seconds(o.reloadIntervalSeconds, "reload-interval-seconds"),
      logger,
    });
    const stop = signals.stop ?? new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGTERM", () => resolve());
      Deno.addSignalListener("SIGINT", () => resolve());
    });
    const stopped = stop.then(() => "stopped" as const);
    const started = proxy.start().then(() => "started" as const);
    if (await Promise.race([started, stopped]) === "started") {
      if (o.readyFile) {
        await writeFileAtomic(
          o.readyFile,
          JSON.stringify({ listeners: proxy.listeners(), adminPort: proxy.adminPort ?? null }),
        );
      }
      signals.onReady?.(proxy);
      await stopped;
    }
    logger.info("stopping");
    await proxy.close();
    return 0;
  } catch (error) {
    await proxy?.close().catch(() => undefined);
    return fatalExitCode(logger, "mesh proxy failed", error);
  }
}

if (import.meta.main) {
  Deno.exit(await meshProxyMain(Deno.args));
}

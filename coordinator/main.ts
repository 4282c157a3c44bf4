/**
 * The Coordinator process.
 *
 * ```
 * deno run -A coordinator/main.ts --history-dir DIR [--host 0.0.0.0] [--user-port 1313]
 *   [--mesh-port 7777] [--probe-port 9102] [--log-format json|text] [--log-level info]
 *   [--evidence configfs-tsm [--configfs-tsm-dir DIR] | --evidence simulated-snp --allow-simulated
 *      --simulated-authority DIR --simulated-host-data HEX [--simulated-measurement HEX]]
 *   [--peer HOST:7777] [--transit-port 8200] [--transit-san NAME]... [--ready-file PATH]
 *   [--max-connections 1024] [--max-connections-per-address 64]
 *   [--max-busy-connections N] [--max-busy-per-address N]
 *   [--vendor-lookup-burst 4] [--vendor-lookups-per-minute 6]
 *   [--client-request-burst 256] [--client-requests-per-minute 600]
 * ```
 * Every option can also come from the environment (`CONTRAST_HISTORY_DIR`, `CONTRAST_EVIDENCE`,
 * …). `--ready-file` receives `{"userPort","meshPort","probePort","transitPort"}` once all servers
 * listen.
 * SIGTERM/SIGINT stop the servers; state is durable in the history store at every moment.
 *
 * @module
 */
import "reflect-metadata";
import { Command, InvalidArgumentError, Option } from "commander";
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import { writeFileAtomic } from "../util/files/atomic_write.ts";
import { Coordinator } from "./coordinator.ts";
import {
  addEvidenceOptions,
  evidenceConfigFromOptions,
  evidenceSourceFrom,
  type SimulatedEvidenceLoader,
} from "../evidence/evidence_config.ts";
import { FileHistoryBackend } from "./history/file_backend.ts";
import { restoreHistoryBackup } from "./history/restore.ts";
import { parseHistoryBackup } from "../protocol/history_backup.ts";
import { readFileIfExists } from "../util/files/mod.ts";
import type { HistoryBackend } from "./history/backend.ts";
import { type PeerDiscovery, startReplication } from "./replication.ts";
import { CoordinatorMetrics } from "./http/metrics.ts";
import { type LogFormat, Logger, type LogLevel } from "../util/log/logger.ts";
import { BufferedStderr } from "../util/log/buffered_stderr.ts";
import {
  addLogFormatOption,
  envOption as env,
  fatalExitCode,
  usageExitCode,
} from "../util/process_options.ts";
import {
  defaultCollateralCacheDir,
  manifestVerifiersWithCollateral,
} from "../manifest/collateral_config.ts";
import { parseManifest } from "../manifest/manifest.ts";
import { DEFAULT_SERVICE_CONFIG, startService } from "./service.ts";
import { DEFAULT_CONNECTION_LIMITS } from "./http/connection_limits.ts";
import { DEFAULT_VENDOR_LOOKUP_BUDGET, VendorLookupBudget } from "../collateral/lookup_budget.ts";
import { DEFAULT_REQUEST_BUDGET } from "./http/request_budget.ts";
import { DEFAULT_TRANSIT_PORT, DEFAULT_TRANSIT_SANS, parseTransitSans } from "./transit/server.ts";
import {
  TEST_ONLY_VALIDITY_ENV,
  TEST_ONLY_VALIDITY_FLAG,
  testOnlyMeshCertificateValidityMs,
} from "./ca/test_only_validity.ts";
import {
  TEST_ONLY_CHALLENGE_TTL_ENV,
  TEST_ONLY_CHALLENGE_TTL_FLAG,
  testOnlyChallengeTtlMs,
} from "./test_only_challenge_ttl.ts";
import { NonceStore } from "./nonce_store.ts";

/**
 * The simulated TEE (`--evidence simulated-* --allow-simulated`, local runs and tests only): a
 * development aid, loaded only when asked for (the one sanctioned use of `testing/` by an
 * application, checked by `scripts/check_layers.ts`).
 */
const loadSimulatedEvidence: SimulatedEvidenceLoader = async (config) =>
  (await import("../testing/simulated_evidence.ts")).simulatedEvidenceSource(config);

/**
 * `value` as a positive integer.
 *
 * @throws {ParseError} naming `name` otherwise
 */
function readPositiveInteger(value: string, name: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new ParseError(name, `expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A command-line parser of the positive integer option `name`. */
function positiveInteger(name: string): (value: string) => number {
  return (value) => {
    try {
      return readPositiveInteger(value, name);
    } catch (error) {
      throw new InvalidArgumentError((error as ParseError).reason);
    }
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`bad port ${value}`);
  return n;
}

/**
 * The connection limits of the parsed options (`--max-connections`, `--max-connections-per-address`,
 * `--max-busy-connections`, `--max-busy-per-address` or their environment variables; the
 * deadlines are the defaults).
 *
 * @throws {ParseError} naming the option when a value from the environment is not a positive
 *   integer (command-line values are checked while parsing)
 */
export function connectionLimitsFromOptions(
  o: Record<string, unknown>,
): typeof DEFAULT_CONNECTION_LIMITS {
  return {
    ...DEFAULT_CONNECTION_LIMITS,
    // From the command line already numbers; from the environment still text.
    maxConnections: readPositiveInteger(String(o.maxConnections), "max-connections"),
    maxConnectionsPerAddress: readPositiveInteger(
      String(o.maxConnectionsPerAddress),
      "max-connections-per-address",
    ),
    ...(o.maxBusyConnections === undefined ? {} : {
      maxBusyConnections: readPositiveInteger(String(o.maxBusyConnections), "max-busy-connections"),
    }),
    ...(o.maxBusyPerAddress === undefined ? {} : {
      maxBusyPerAddress: readPositiveInteger(String(o.maxBusyPerAddress), "max-busy-per-address"),
    }),
  };
}

/**
 * The per-client budget of uncached vendor lookups of the parsed options
 * (`--vendor-lookup-burst`, `--vendor-lookups-per-minute` or their environment variables).
 *
 * @throws {ParseError} naming the option when a value from the environment is not a positive
 *   integer (command-line values are checked while parsing)
 */
export function vendorLookupBudgetFromOptions(
  o: Record<string, unknown>,
): { readonly burst: number; readonly perMinute: number } {
  return {
    burst: readPositiveInteger(String(o.vendorLookupBurst), "vendor-lookup-burst"),
    perMinute: readPositiveInteger(String(o.vendorLookupsPerMinute), "vendor-lookups-per-minute"),
  };
}

/**
 * The per-client budget of attestation and manifest requests of the parsed options
 * (`--client-request-burst`, `--client-requests-per-minute` or their environment variables).
 *
 * @throws {ParseError} naming the option when a value from the environment is not a positive
 *   integer (command-line values are checked while parsing)
 */
export function requestBudgetFromOptions(
  o: Record<string, unknown>,
): { readonly burst: number; readonly perMinute: number } {
  return {
    burst: readPositiveInteger(String(o.clientRequestBurst), "client-request-burst"),
    perMinute: readPositiveInteger(String(o.clientRequestsPerMinute), "client-requests-per-minute"),
  };
}

/** Builds the Coordinator's command line. */
export function coordinatorProgram(): Command {
  const command = new Command("coordinator")
    .description("contrast Coordinator: attestation, manifest enforcement and mesh CA")
    .addOption(
      new Option("--history-backend <kind>", "where the manifest history lives")
        .choices(["file", "kubernetes"]).default(env("CONTRAST_HISTORY_BACKEND") ?? "file"),
    )
    .option("--history-dir <dir>", "manifest history folder (file)", env("CONTRAST_HISTORY_DIR"))
    .option(
      "--kubeconfig <path>",
      "kubeconfig (kubernetes; default: the pod's ServiceAccount)",
      env("CONTRAST_KUBECONFIG"),
    )
    .option(
      "--service-account-root <dir>",
      "folder the in-cluster ServiceAccount files are under (kubernetes; default /)",
      env("CONTRAST_SERVICE_ACCOUNT_ROOT"),
    )
    .option(
      "--namespace <ns>",
      "namespace of the history ConfigMaps and peer Leases (kubernetes)",
      env("CONTRAST_NAMESPACE") ?? env("POD_NAMESPACE"),
    )
    .option(
      "--history-name <name>",
      "prefix of the history ConfigMaps and peer Leases (kubernetes)",
      env("CONTRAST_HISTORY_NAME") ?? "contrast-history",
    )
    .option(
      "--history-owner <apiVersion/Kind/name>",
      "owner of the history ConfigMaps, e.g. apps/v1/StatefulSet/coordinator (kubernetes)",
      env("CONTRAST_HISTORY_OWNER"),
    )
    .option(
      "--replica-name <name>",
      "this replica's name for peer discovery (kubernetes; default the pod name)",
      env("CONTRAST_REPLICA_NAME") ?? env("POD_NAME"),
    )
    .option(
      "--advertise-mesh-address <host:port>",
      "mesh API address peers reach this replica at (default $POD_IP:<mesh port>)",
      env("CONTRAST_MESH_ADDRESS"),
    )
    .option("--host <addr>", "address to bind", env("CONTRAST_HOST") ?? DEFAULT_SERVICE_CONFIG.host)
    .option("--user-port <n>", "user API port", port, Number(env("CONTRAST_USER_PORT") ?? 1313))
    .option("--mesh-port <n>", "mesh API port", port, Number(env("CONTRAST_MESH_PORT") ?? 7777))
    .option("--probe-port <n>", "probe port", port, Number(env("CONTRAST_PROBE_PORT") ?? 9102))
    .addOption(
      new Option(
        "--max-connections <n>",
        "open connections per port at most; as many more wait for a free slot, beyond that refused",
      ).argParser(positiveInteger("max-connections")).default(
        env("CONTRAST_MAX_CONNECTIONS") ?? String(DEFAULT_CONNECTION_LIMITS.maxConnections),
      ),
    )
    .addOption(
      new Option(
        "--max-connections-per-address <n>",
        "open connections per port and client address at most; beyond that refused",
      ).argParser(positiveInteger("max-connections-per-address")).default(
        env("CONTRAST_MAX_CONNECTIONS_PER_ADDRESS") ??
          String(DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress),
      ),
    )
    .addOption(
      new Option(
        "--max-busy-connections <n>",
        "connections per port at most from the TLS handshake to the end of an answer; further " +
          "new ones wait unread for one to finish (default: no bound)",
      ).argParser(positiveInteger("max-busy-connections")).default(
        env("CONTRAST_MAX_BUSY_CONNECTIONS"),
      ),
    )
    .addOption(
      new Option(
        "--max-busy-per-address <n>",
        "busy connections (see --max-busy-connections) per port and client address at most " +
          "(default: no bound)",
      ).argParser(positiveInteger("max-busy-per-address")).default(
        env("CONTRAST_MAX_BUSY_PER_ADDRESS"),
      ),
    )
    .addOption(
      new Option(
        "--vendor-lookup-burst <n>",
        "uncached AMD KDS lookups one client address's evidence may cause at once (refunded " +
          "when it verifies); beyond that 429",
      ).argParser(positiveInteger("vendor-lookup-burst")).default(
        env("CONTRAST_VENDOR_LOOKUP_BURST") ?? String(DEFAULT_VENDOR_LOOKUP_BUDGET.burst),
      ),
    )
    .addOption(
      new Option(
        "--vendor-lookups-per-minute <n>",
        "rate at which a client address's budget of uncached AMD KDS lookups refills",
      ).argParser(positiveInteger("vendor-lookups-per-minute")).default(
        env("CONTRAST_VENDOR_LOOKUPS_PER_MINUTE") ??
          String(DEFAULT_VENDOR_LOOKUP_BUDGET.perMinute),
      ),
    )
    .addOption(
      new Option(
        "--client-request-burst <n>",
        "attestation, certificate, manifest and recover requests one client address may make at " +
          "once; beyond that 429",
      ).argParser(positiveInteger("client-request-burst")).default(
        env("CONTRAST_CLIENT_REQUEST_BURST") ?? String(DEFAULT_REQUEST_BUDGET.burst),
      ),
    )
    .addOption(
      new Option(
        "--client-requests-per-minute <n>",
        "rate at which a client address's budget of those requests refills",
      ).argParser(positiveInteger("client-requests-per-minute")).default(
        env("CONTRAST_CLIENT_REQUESTS_PER_MINUTE") ?? String(DEFAULT_REQUEST_BUDGET.perMinute),
      ),
    )
    .addOption(
      new Option("--log-level <l>", "log level").choices(["debug", "info", "warn", "error"])
        .default(env("CONTRAST_LOG_LEVEL") ?? "info"),
    )
    .option(
      "--collateral-cache <dir>",
      "vendor collateral disk cache",
      env("CONTRAST_COLLATERAL_CACHE"),
    )
    .option("--collateral-dir <dir>", "offline collateral bundle", env("CONTRAST_COLLATERAL_DIR"))
    .option("--offline", "never fetch collateral from AMD/Intel", env("CONTRAST_OFFLINE") === "1")
    .option("--kds-url <url>", "AMD KDS base URL (default AMD's)", env("CONTRAST_KDS_URL"))
    .option("--pcs-url <url>", "Intel PCS base URL (default Intel's)", env("CONTRAST_PCS_URL"))
    .option(
      "--root-ca-crl-url <url>",
      "Intel SGX root CA CRL URL for real TDX, whatever --pcs-url is (default Intel's published one)",
      env("CONTRAST_ROOT_CA_CRL_URL"),
    )
    .option(
      "--amd-crl-url <url>",
      "base URL of AMD's CRLs for real SNP, whatever --kds-url is (default AMD's KDS)",
      env("CONTRAST_AMD_CRL_URL"),
    )
    .option(
      "--simulated-tdx-collateral <dir>",
      "collateral of a simulated TDX authority",
      env("CONTRAST_SIMULATED_TDX_COLLATERAL"),
    )
    .option(
      "--peer <host:port>",
      "in recovery mode, ask this active Coordinator's mesh API for the seed (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      env("CONTRAST_PEER") ? [env("CONTRAST_PEER")!] : [],
    )
    .option(
      "--transit-port <n>",
      "transit KMS API port (HTTPS, mesh certificates)",
      port,
      Number(env("CONTRAST_TRANSIT_PORT") ?? DEFAULT_TRANSIT_PORT),
    )
    .option(
      "--transit-san <name...>",
      "SANs of the transit API's certificate (default coordinator, localhost, 127.0.0.1)",
      env("CONTRAST_TRANSIT_SANS")?.split(",") ?? [...DEFAULT_TRANSIT_SANS],
    )
    .option(
      "--restore-history <file>",
      "into an empty store, first restore the history backup `contrast verify` wrote " +
        "(verify/history.json); then recover the seed as usual",
      env("CONTRAST_RESTORE_HISTORY"),
    )
    .option("--ready-file <path>", "write bound ports here once listening")
    .option(
      `--${TEST_ONLY_VALIDITY_FLAG} <n>`,
      "TESTS ONLY, simulated TEE only (refused otherwise): issue mesh certificates valid for n " +
        "seconds instead of one year",
      env(TEST_ONLY_VALIDITY_ENV),
    )
    .option(
      `--${TEST_ONLY_CHALLENGE_TTL_FLAG} <n>`,
      "TESTS ONLY, simulated TEE only (refused otherwise): mesh challenge nonces live n seconds " +
        "instead of 60",
      env(TEST_ONLY_CHALLENGE_TTL_ENV),
    )
    .exitOverride();
  return addEvidenceOptions(addLogFormatOption(command));
}

/** Runs the Coordinator until SIGTERM/SIGINT; returns the exit code. */
async function runCoordinator(args: string[]): Promise<number> {
  const program = coordinatorProgram();
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    return usageExitCode(error);
  }
  const o = program.opts();
  // Lines are written together every 20 ms at most (error lines and the process's end at once).
  const stderr = new BufferedStderr();
  const logger = new Logger("coordinator", {
    format: o.logFormat as LogFormat,
    level: o.logLevel as LogLevel,
    sink: stderr.sink,
  });
  try {
    const history = await historyFromOptions(o);
    if (o.restoreHistory) await restoreFromBackup(history.backend, o.restoreHistory, logger);
    const metrics = new CoordinatorMetrics({ droppedLogBatches: () => stderr.droppedWrites });
    const verifiers = manifestVerifiersWithCollateral({
      cacheDir: o.collateralCache ?? defaultCollateralCacheDir(),
      offline: o.offline === true,
      importDirs: o.collateralDir ? [o.collateralDir] : [],
      ...(o.kdsUrl ? { kdsBaseUrl: o.kdsUrl } : {}),
      ...(o.pcsUrl ? { pcsBaseUrl: o.pcsUrl } : {}),
      ...(o.rootCaCrlUrl ? { rootCaCrlUrl: o.rootCaCrlUrl } : {}),
      ...(o.amdCrlUrl ? { amdCrlUrl: o.amdCrlUrl } : {}),
      simulatedTdxCollateralDir: o.simulatedTdxCollateral,
    });
    const evidenceConfig = evidenceConfigFromOptions(o);
    const meshCertificateValidityMs = testOnlyMeshCertificateValidityMs(
      o.testOnlyMeshCertificateValiditySeconds,
      evidenceConfig.kind,
    );
    const challengeTtlMs = testOnlyChallengeTtlMs(
      o.testOnlyChallengeTtlSeconds,
      evidenceConfig.kind,
    );
    if (challengeTtlMs !== undefined) {
      logger.warn("TEST ONLY: mesh challenge nonces live longer than normal", {
        ttlSeconds: challengeTtlMs / 1000,
      });
    }
    if (meshCertificateValidityMs !== undefined) {
      logger.warn("TEST ONLY: mesh certificates are issued with a short validity", {
        validitySeconds: meshCertificateValidityMs / 1000,
      });
    }
    const coordinator = await Coordinator.start({
      evidenceSource: await evidenceSourceFrom(evidenceConfig, loadSimulatedEvidence),
      ...(meshCertificateValidityMs !== undefined ? { meshCertificateValidityMs } : {}),
      ...(challengeTtlMs !== undefined
        ? { nonces: new NonceStore({ ttlMs: challengeTtlMs }) }
        : {}),
      historyBackend: history.backend,
      parseManifest,
      verifyEvidence: (m, e, v) => verifiers.verify(m, e, v),
      vendorLookupBudget: new VendorLookupBudget(vendorLookupBudgetFromOptions(o)),
      logger,
      metrics,
      // Discovery starts once the mesh port is bound (it is the address peers are told).
      readyPeers: async () => (await peers.discovery?.readyPeers()) ?? [],
    });
    const peers: { discovery?: PeerDiscovery } = {};
    const service = await startService(
      coordinator,
      {
        ...DEFAULT_SERVICE_CONFIG,
        host: o.host,
        userPort: o.userPort,
        meshPort: o.meshPort,
        probePort: o.probePort,
        connections: connectionLimitsFromOptions(o),
        requestBudget: requestBudgetFromOptions(o),
        transit: {
          ...DEFAULT_SERVICE_CONFIG.transit!,
          port: o.transitPort,
          sans: parseTransitSans(o.transitSan),
        },
      },
      logger,
      metrics,
    );
    if (o.readyFile) {
      await writeFileAtomic(
        o.readyFile,
        JSON.stringify({
          userPort: service.userPort,
          meshPort: service.meshPort,
          probePort: service.probePort,
          transitPort: service.transitPort,
          pid: Deno.pid,
        }),
      );
    }
    peers.discovery = await history.discovery?.(service.meshPort);
    const replication = startReplication(coordinator, logger, {
      discovery: peers.discovery,
      staticPeers: o.peer,
    });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      Deno.addSignalListener("SIGTERM", stop);
      Deno.addSignalListener("SIGINT", stop);
    });
    logger.info("stopping");
    await replication.stop();
    await coordinator.close();
    await service.close();
    return 0;
  } catch (error) {
    return fatalExitCode(logger, "fatal", error);
  } finally {
    stderr.flush();
  }
}

/**
 * Restores the history backup at `file` into `backend` when the store has no history yet (a
 * store that has one is left alone: the backup is only for a lost store).
 *
 * @throws {ContrastError} naming the backup's field when it does not check out
 */
async function restoreFromBackup(
  backend: HistoryBackend,
  file: string,
  logger: Logger,
): Promise<void> {
  if (await backend.readLatest() !== undefined) {
    logger.info("history present: --restore-history ignored", { file });
    return;
  }
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new ParseError("--restore-history", `cannot read ${file}`);
  const backup = await parseHistoryBackup(bytes, parseManifest, file);
  await restoreHistoryBackup(backend, backup);
  logger.info("history restored from backup: recover the seed next", {
    file,
    manifests: backup.manifests.length,
  });
}

/** The history backend the options choose, and peer discovery when it is shared. */
async function historyFromOptions(o: Record<string, string | undefined>): Promise<{
  backend: HistoryBackend;
  discovery?: (meshPort: number) => Promise<PeerDiscovery | undefined>;
}> {
  if (o.historyBackend === "file") {
    if (!o.historyDir) {
      throw new ContrastError("history-dir", "required (or CONTRAST_HISTORY_DIR)");
    }
    return { backend: await FileHistoryBackend.open(o.historyDir) };
  }
  // Loaded only for this backend: the file backend never loads the Kubernetes client.
  const kube = await import("./kube/mod.ts");
  const connection = kube.loadKubeConnection({
    kubeconfig: o.kubeconfig,
    namespace: o.namespace,
    serviceAccountRoot: o.serviceAccountRoot,
  });
  const owner = o.historyOwner ? await kube.resolveOwner(connection, o.historyOwner) : undefined;
  const historyName = o.historyName ?? kube.DEFAULT_HISTORY_NAME;
  return {
    backend: new kube.KubernetesHistoryBackend({ connection, name: historyName, owner }),
    discovery: (meshPort) => {
      if (!o.replicaName) return Promise.resolve(undefined);
      const podIp = Deno.env.get("POD_IP");
      const meshAddress = o.advertiseMeshAddress ??
        (podIp ? `${podIp.includes(":") ? `[${podIp}]` : podIp}:${meshPort}` : undefined);
      if (!meshAddress) {
        throw new ContrastError(
          "advertise-mesh-address",
          "required for peer discovery (or POD_IP from the downward API)",
        );
      }
      return Promise.resolve(
        new kube.LeasePeerRegistry({
          connection,
          historyName,
          replicaName: o.replicaName,
          meshAddress,
        }),
      );
    },
  };
}

if (import.meta.main) {
  Deno.exit(await runCoordinator(Deno.args));
}

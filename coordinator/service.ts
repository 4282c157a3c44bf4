/**
 * Runs a {@link Coordinator} on its ports: user API (HTTPS, 1313), mesh API (HTTPS, 7777; no
 * client certificate asked for: initializers authenticate with evidence), probes + metrics (plain
 * HTTP, 9102) and the transit KMS API (HTTPS with client certificates requested, 8200; see
 * `transit/server.ts`).
 *
 * @module
 */
import type { Coordinator } from "./coordinator.ts";
import type { CoordinatorMetrics } from "./http/metrics.ts";
import { probeRoutes } from "./http/probes.ts";
import {
  createRequestHandler,
  listenHttp,
  listenHttps,
  type RunningServer,
} from "./http/server.ts";
import type { Logger } from "../util/log/logger.ts";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./http/connection_limits.ts";
import { meshRoutes, userRoutes } from "./routes.ts";
import { RequestBudget, type RequestBudgetOptions } from "./http/request_budget.ts";
import type { SubjectAltName } from "../manifest/sans.ts";
import {
  DEFAULT_TRANSIT_PORT,
  DEFAULT_TRANSIT_SANS,
  parseTransitSans,
  startTransitServer,
} from "./transit/server.ts";

/** Ports, address and limits of the servers. */
export interface ServiceConfig {
  /** Address to bind (default `0.0.0.0`; tests use `127.0.0.1`). */
  readonly host: string;
  /** User API port (1313; 0 for any free port). */
  readonly userPort: number;
  /** Mesh API port (7777). */
  readonly meshPort: number;
  /** Probe and metrics port (9102). */
  readonly probePort: number;
  /** Largest user API request body (manifest + policies), bytes. */
  readonly maxUserBodyBytes: number;
  /** Largest mesh API request body (evidence), bytes. */
  readonly maxMeshBodyBytes: number;
  /** Time allowed per request (body and answer), milliseconds. */
  readonly requestTimeoutMs: number;
  /**
   * Bounds on the connections of the user, mesh and probe ports (handshake, head and idle
   * deadlines; connection caps), each port counted on its own.
   */
  readonly connections: Omit<ConnectionLimits, "requestTimeoutMs">;
  /**
   * The per-client budget of attestation and manifest requests, shared by the user and mesh ports
   * (`http/request_budget.ts`; absent: its defaults).
   */
  readonly requestBudget?: RequestBudgetOptions;
  /** The transit KMS API (HTTPS, 8200); absent: not served. */
  readonly transit?: {
    /** Port (0 for any free port). */
    readonly port: number;
    /** SANs of its server certificate. */
    readonly sans: readonly SubjectAltName[];
    /** Largest request body, bytes. */
    readonly maxBodyBytes: number;
  };
}

/**
 * Shape bound of user- and mesh-API bodies: their messages have a handful of keys (manifests and
 * policies travel base64-encoded), so a body with more is refused before it is parsed. Their one
 * array is `/manifest`'s `policies` (one initdata document per policy of the manifest), so a body
 * with more than 65,536 elements is refused too: 32 MiB of `""` elements had cost 2.6 GB of
 * memory and 17 s of CPU in parsing, before any signature was checked.
 */
export const API_JSON_SHAPE = { maxKeys: 256, maxDepth: 16, maxSeparators: 65_536 } as const;

/**
 * Bytes of request bodies a port holds at once, all connections together, per largest body: two
 * of the user API's (an update and a retry, or two owners), 128 of the mesh API's (a mesh request
 * is ~8 KB, so ~4,000 of those). Each connection's body is bounded on its own too, but without a
 * total 24 connections of one address holding 31 MiB of unfinished `/manifest` bodies each had
 * grown a Coordinator from 101 to 1,126 MiB resident (its pod's limit is 512 MiB) before anything
 * was authenticated.
 */
export const BODIES_IN_FLIGHT = { user: 2, mesh: 128 } as const;

/**
 * Bytes of answers the user and mesh ports each send at once, all connections together. An
 * `/attest` answer holds every manifest and policy document (4 MB with three 1 MB policies, or
 * ~25 pods of 120 KB), and a client that pipelines requests and never reads had the Coordinator
 * hold a few of them per connection: 60 such connections of one address grew it from 128 to 822
 * MiB resident. Contrast's own clients read their answers at once, so this is never reached by
 * them unless tens of 4 MB answers are in flight together.
 */
export const ANSWER_BYTES_IN_FLIGHT = 64 * 1024 * 1024;

/**
 * Largest transit request body by default: a full batch (10,000 items, `kms/transit_requests.ts`)
 * of ~400-byte items, e.g. 32-byte data keys (~100 bytes each as JSON) with room to spare, or one
 * plaintext of ~3 MiB (base64). Transit is for keys and small secrets (bulk data: encrypt it with a
 * data key); with 32 MiB bodies a compromised pod's unfinished bodies held 434 MiB (60
 * connections) of a Coordinator limited to 512 MiB.
 */
export const DEFAULT_TRANSIT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Connection caps of the transit port, below the other ports': every connection a client keeps
 * sending on costs memory the server cannot bound by itself (Deno 2.9.6's `node:tls` reads each
 * connection's bytes into native buffers as fast as they come, and what it hands over is garbage
 * until V8 collects it), so it is their number that bounds a compromised pod's flood. A pod's
 * Vault client needs a few connections (the benchmark's 8 requests in flight, 8); further ones
 * are closed at once, and beyond the total as many wait unread for a free slot.
 */
export const TRANSIT_CONNECTION_CAPS = { perAddress: 16, total: 64 } as const;

/** `limits` with the transit port's lower caps. */
function transitConnectionLimits(limits: ConnectionLimits): ConnectionLimits {
  // No busy bound: a Vault client's requests in flight stream bodies over several connections
  // at once from one address, bounded by the caps below.
  const { maxBusyConnections: _total, maxBusyPerAddress: _perAddress, ...rest } = limits;
  return {
    ...rest,
    maxConnections: Math.min(limits.maxConnections, TRANSIT_CONNECTION_CAPS.total),
    maxConnectionsPerAddress: Math.min(
      limits.maxConnectionsPerAddress,
      TRANSIT_CONNECTION_CAPS.perAddress,
    ),
  };
}

/** Default service configuration (DESIGN.md ports). */
export const DEFAULT_SERVICE_CONFIG: ServiceConfig = {
  host: "0.0.0.0",
  userPort: 1313,
  meshPort: 7777,
  probePort: 9102,
  maxUserBodyBytes: 32 * 1024 * 1024,
  maxMeshBodyBytes: 256 * 1024,
  requestTimeoutMs: 30_000,
  connections: DEFAULT_CONNECTION_LIMITS,
  transit: {
    port: DEFAULT_TRANSIT_PORT,
    sans: parseTransitSans(DEFAULT_TRANSIT_SANS),
    maxBodyBytes: DEFAULT_TRANSIT_MAX_BODY_BYTES,
  },
};

/** The running servers. */
export interface RunningService {
  /** Bound user API port. */
  readonly userPort: number;
  /** Bound mesh API port. */
  readonly meshPort: number;
  /** Bound probe port. */
  readonly probePort: number;
  /** Bound transit API port (when served). */
  readonly transitPort?: number;
  /** Resolves once the transit server presents the current generation's certificate. */
  transitReady(): Promise<void>;
  /** Stops all servers. */
  close(): Promise<void>;
}

/** Starts the servers of `coordinator`. */
export async function startService(
  coordinator: Coordinator,
  config: ServiceConfig,
  logger: Logger,
  metrics: CoordinatorMetrics,
): Promise<RunningService> {
  const servers: RunningServer[] = [];
  let started = false;
  const limits: ConnectionLimits = {
    ...config.connections,
    requestTimeoutMs: config.requestTimeoutMs,
  };
  const requestBudget = new RequestBudget(config.requestBudget);
  try {
    const user = await listenHttps(
      {
        port: config.userPort,
        host: config.host,
        certPem: coordinator.tls.certPem,
        keyPem: coordinator.tls.keyPem,
        limits,
        bodyBytesInFlight: BODIES_IN_FLIGHT.user * config.maxUserBodyBytes,
        answerBytesInFlight: ANSWER_BYTES_IN_FLIGHT,
      },
      createRequestHandler({
        api: "user",
        routes: userRoutes(coordinator),
        limits: { maxBodyBytes: config.maxUserBodyBytes, jsonShape: API_JSON_SHAPE },
        requestBudget,
        logger,
        metrics,
      }),
    );
    servers.push(user);
    const mesh = await listenHttps(
      {
        port: config.meshPort,
        host: config.host,
        certPem: coordinator.tls.certPem,
        keyPem: coordinator.tls.keyPem,
        limits,
        bodyBytesInFlight: BODIES_IN_FLIGHT.mesh * config.maxMeshBodyBytes,
        answerBytesInFlight: ANSWER_BYTES_IN_FLIGHT,
      },
      createRequestHandler({
        api: "mesh",
        routes: meshRoutes(coordinator),
        limits: { maxBodyBytes: config.maxMeshBodyBytes, jsonShape: API_JSON_SHAPE },
        requestBudget,
        logger,
        metrics,
      }),
    );
    servers.push(mesh);
    const probe = await listenHttp(
      { port: config.probePort, host: config.host, limits },
      createRequestHandler({
        api: "probe",
        routes: probeRoutes({ started: () => started, ready: () => coordinator.ready() }, metrics),
        limits: { maxBodyBytes: 0 },
        logger,
        metrics,
      }),
    );
    servers.push(probe);
    const transit = config.transit
      ? await startTransitServer(
        coordinator,
        {
          host: config.host,
          port: config.transit.port,
          sans: config.transit.sans,
          maxBodyBytes: config.transit.maxBodyBytes,
          limits: transitConnectionLimits(limits),
        },
        logger,
        metrics,
      )
      : undefined;
    if (transit) servers.push(transit);
    started = true;
    logger.info("listening", {
      host: config.host,
      userPort: user.port,
      meshPort: mesh.port,
      probePort: probe.port,
      transitPort: transit?.port,
    });
    return {
      userPort: user.port,
      meshPort: mesh.port,
      probePort: probe.port,
      ...(transit ? { transitPort: transit.port } : {}),
      transitReady: () => transit?.certificateReady() ?? Promise.resolve(),
      close: async () => {
        await Promise.all(servers.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
}

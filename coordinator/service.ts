/**
 * Runs a {@link Coordinator} on its three ports: user API (HTTPS, 1313), mesh API (HTTPS with
 * client certificates requested, 7777) and probes + metrics (plain HTTP, 9102).
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
import { meshRoutes, userRoutes } from "./routes.ts";

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
  /** Time allowed per request, milliseconds. */
  readonly requestTimeoutMs: number;
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
};

/** The running servers. */
export interface RunningService {
  /** Bound user API port. */
  readonly userPort: number;
  /** Bound mesh API port. */
  readonly meshPort: number;
  /** Bound probe port. */
  readonly probePort: number;
  /** Stops all three servers. */
  close(): Promise<void>;
}

/** Starts the three servers of `coordinator`. */
export async function startService(
  coordinator: Coordinator,
  config: ServiceConfig,
  logger: Logger,
  metrics: CoordinatorMetrics,
): Promise<RunningService> {
  const servers: RunningServer[] = [];
  let started = false;
  try {
    const user = await listenHttps(
      {
        port: config.userPort,
        host: config.host,
        certPem: coordinator.tls.certPem,
        keyPem: coordinator.tls.keyPem,
      },
      createRequestHandler({
        api: "user",
        routes: userRoutes(coordinator),
        limits: {
          maxBodyBytes: config.maxUserBodyBytes,
          requestTimeoutMs: config.requestTimeoutMs,
        },
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
        requestCert: true,
      },
      createRequestHandler({
        api: "mesh",
        routes: meshRoutes(coordinator),
        limits: {
          maxBodyBytes: config.maxMeshBodyBytes,
          requestTimeoutMs: config.requestTimeoutMs,
        },
        logger,
        metrics,
      }),
    );
    servers.push(mesh);
    const probe = await listenHttp(
      { port: config.probePort, host: config.host },
      createRequestHandler({
        api: "probe",
        routes: probeRoutes({ started: () => started, ready: () => coordinator.ready() }, metrics),
        limits: { maxBodyBytes: 0, requestTimeoutMs: config.requestTimeoutMs },
        logger,
        metrics,
      }),
    );
    servers.push(probe);
    started = true;
    logger.info("listening", {
      host: config.host,
      userPort: user.port,
      meshPort: mesh.port,
      probePort: probe.port,
    });
    return {
      userPort: user.port,
      meshPort: mesh.port,
      probePort: probe.port,
      close: async () => {
        await Promise.all(servers.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
}

/**
 * The admin interface (HTTP, on the annotated port): `GET /ready` (200 once every listener
 * serves with valid credentials, else 503 with the reason), `GET /live` (200 while the process
 * runs), `GET /metrics` (Prometheus text) and `GET /listeners` (JSON: each listener's name,
 * mode and ports).
 *
 * @module
 */
import { ANY_ADDRESS, ipv4PortHeldError, ipv6ListenerTakesIpv4 } from "./any_address.ts";
import type { ProxyMetrics } from "./metrics.ts";

/** What the admin interface reports. */
interface AdminState {
  /** Undefined when ready, else why not. */
  readonly notReadyReason: () => string | undefined;
  readonly metrics: ProxyMetrics;
  readonly listeners: () => unknown;
}

/** Answers one admin request. */
function adminResponse(request: Request, state: AdminState): Response {
  const url = new URL(request.url);
  if (request.method !== "GET") return new Response("method not allowed\n", { status: 405 });
  switch (url.pathname) {
    case "/ready": {
      const reason = state.notReadyReason();
      return reason === undefined
        ? new Response("ready\n")
        : new Response(`not ready: ${reason}\n`, { status: 503 });
    }
    case "/live":
      return new Response("live\n");
    case "/metrics":
      return new Response(state.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    case "/listeners":
      return Response.json(state.listeners());
    default:
      return new Response("not found\n", { status: 404 });
  }
}

/** The running admin interface. */
export interface AdminServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops serving. */
  shutdown(): Promise<void>;
}

/**
 * Serves the admin interface on `host:port`; {@link ANY_ADDRESS}: every IPv4 and IPv6 address,
 * bound as `any_address.ts` explains (`[::]`, plus `0.0.0.0` where `[::]` does not take IPv4).
 */
export async function serveAdmin(
  host: string,
  port: number,
  state: AdminState,
): Promise<AdminServer> {
  const serve = (hostname: string, at: number) =>
    Deno.serve(
      { hostname, port: at, onListen: () => {} },
      (request) => adminResponse(request, state),
    );
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  if (host !== ANY_ADDRESS) servers.push(serve(host, port));
  else {
    try {
      servers.push(serve("::", port));
    } catch (error) {
      if (
        !(error instanceof Deno.errors.AddrNotAvailable ||
          error instanceof Deno.errors.NotSupported)
      ) {
        throw error;
      }
      servers.push(serve("0.0.0.0", port));
    }
    if (servers[0]!.addr.hostname === "::") {
      try {
        servers.push(serve("0.0.0.0", servers[0]!.addr.port));
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse) || !(await ipv6ListenerTakesIpv4())) {
          void servers[0]!.shutdown();
          throw error instanceof Deno.errors.AddrInUse
            ? ipv4PortHeldError(servers[0]!.addr.port)
            : error;
        }
      }
    }
  }
  return {
    port: servers[0]!.addr.port,
    shutdown: async () => {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}

/**
 * The admin interface (HTTP, on the annotated port): `GET /ready` (200 once every listener
 * serves with valid credentials, else 503 with the reason), `GET /live` (200 while the process
 * runs), `GET /metrics` (Prometheus text) and `GET /listeners` (JSON: each listener's name,
 * mode and ports).
 *
 * @module
 */
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

/** Serves the admin interface on `host:port`. */
export function serveAdmin(
  host: string,
  port: number,
  state: AdminState,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: host, port, onListen: () => {} },
    (request) => adminResponse(request, state),
  );
}

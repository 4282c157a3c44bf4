/**
 * The admin interface (HTTP/1.x, on the annotated port): `GET /ready` (200 once every listener
 * serves with valid credentials, else 503 with the reason), `GET /live` (200 while the process
 * runs), `GET /metrics` (Prometheus text) and `GET /listeners` (JSON: each listener's name,
 * mode and ports).
 *
 * The port is reachable from the cluster (the kubelet's probes come from the node to the pod's
 * address), so by default (`probes`) a client that is not on loopback gets `/ready` and `/live`
 * only: `/metrics` and `/listeners` name the egress destinations and count each listener's
 * connections and bytes, so they answer 403 to it (`meshproxy_admin_refusals_total{reason=
 * "not_loopback"}`); the pod's own containers reach them on `127.0.0.1`/`::1`. `all` serves
 * every endpoint to anyone.
 *
 * One request per connection, answered with `Connection: close`; at most
 * {@link ADMIN_MAX_CONNECTIONS} connections at once (more are closed at once,
 * `reason="connection_limit"`), each closed {@link ADMIN_DEADLINE_MS} after it was accepted, a
 * request head of at most {@link ADMIN_MAX_HEAD_BYTES}. It is served by this small responder
 * rather than `Deno.serve` (or `node:http`, built on it in Deno) because those can neither cap
 * the connections they hold nor bound how long an idle one stays open.
 *
 * @module
 */
import { ANY_ADDRESS, ipv4PortHeldError, ipv6ListenerTakesIpv4 } from "./any_address.ts";
import { acceptLoop } from "./accept_loop.ts";
import { ADMIN_MAX_CONNECTIONS } from "./limits.ts";
import type { ProxyMetrics } from "./metrics.ts";
import type { AdminRemoteAccess } from "../protocol/mesh_config.ts";

/** How long one admin connection may stay open, ms. */
export const ADMIN_DEADLINE_MS = 5_000;
/** The longest request head read, bytes. */
const ADMIN_MAX_HEAD_BYTES = 8 * 1024;

/** What the admin interface reports. */
interface AdminState {
  /** Undefined when ready, else why not. */
  readonly notReadyReason: () => string | undefined;
  readonly metrics: ProxyMetrics;
  readonly listeners: () => unknown;
  /** Who gets `/metrics` and `/listeners` (default `probes`: loopback clients only). */
  readonly remoteAccess?: AdminRemoteAccess;
}

/** An answer: status, content type, body. */
interface AdminAnswer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

/** The request line of an admin request, or why it cannot be served. */
type AdminRequest =
  | { readonly method: string; readonly path: string }
  | { readonly error: string };

/**
 * Parses an admin request head's first line (`GET /ready HTTP/1.1`). Pure.
 *
 * @param head the bytes up to the blank line that ends the head, as latin1 text
 */
export function parseAdminRequest(head: string): AdminRequest {
  const line = head.split(/\r?\n/, 1)[0]!;
  const m = /^([A-Z]{1,16}) (\/[\x21-\x7e]*) HTTP\/1\.[01]$/.exec(line);
  if (!m) return { error: "malformed request line" };
  const path = m[2]!.split("?", 1)[0]!;
  return { method: m[1]!, path };
}

/** Whether `hostname` is a loopback address (127.0.0.0/8, `::1`, IPv4-mapped 127.x). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::1" ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const LOOPBACK_ONLY = new Set(["/metrics", "/listeners"]);

/** Answers one admin request from `remote`. */
export function adminAnswer(
  request: AdminRequest,
  remote: string,
  state: AdminState,
): AdminAnswer {
  const text = (status: number, body: string): AdminAnswer => ({
    status,
    type: "text/plain; charset=utf-8",
    body,
  });
  if ("error" in request) return text(400, "bad request\n");
  if (request.method !== "GET") return text(405, "method not allowed\n");
  if (
    LOOPBACK_ONLY.has(request.path) && (state.remoteAccess ?? "probes") === "probes" &&
    !isLoopback(remote)
  ) {
    state.metrics.add("meshproxy_admin_refusals_total", { reason: "not_loopback" });
    return text(403, `forbidden: ${request.path} is served to loopback clients only\n`);
  }
  switch (request.path) {
    case "/ready": {
      const reason = state.notReadyReason();
      return reason === undefined ? text(200, "ready\n") : text(503, `not ready: ${reason}\n`);
    }
    case "/live":
      return text(200, "live\n");
    case "/metrics":
      return { status: 200, type: "text/plain; version=0.0.4", body: state.metrics.render() };
    case "/listeners":
      return { status: 200, type: "application/json", body: JSON.stringify(state.listeners()) };
    default:
      return text(404, "not found\n");
  }
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  503: "Service Unavailable",
};

/** The HTTP/1.1 response bytes of `answer`. */
function responseBytes(answer: AdminAnswer): Uint8Array {
  const body = new TextEncoder().encode(answer.body);
  const head = `HTTP/1.1 ${answer.status} ${REASONS[answer.status] ?? ""}\r\n` +
    `content-type: ${answer.type}\r\ncontent-length: ${body.length}\r\n` +
    "cache-control: no-store\r\nconnection: close\r\n\r\n";
  const headBytes = new TextEncoder().encode(head);
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}

/** Index just past the blank line ending a request head in `bytes[0, length)`, or -1. */
function headEnd(bytes: Uint8Array, length: number): number {
  for (let i = 0; i < length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (i >= 1 && bytes[i - 1] === 0x0a) return i + 1;
    if (i >= 2 && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a) return i + 1;
  }
  return -1;
}

/** Reads one request head (null when the client closed or sent too much first). */
async function readHead(conn: Deno.Conn): Promise<string | null> {
  const buffer = new Uint8Array(ADMIN_MAX_HEAD_BYTES);
  let length = 0;
  while (length < buffer.length) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return null;
    length += n;
    const end = headEnd(buffer, length);
    if (end >= 0) return new TextDecoder("latin1").decode(buffer.subarray(0, end));
  }
  return null;
}

/** Serves one admin connection: one request, one answer, closed by the deadline at the latest. */
async function serveConnection(conn: Deno.TcpConn, state: AdminState): Promise<void> {
  const deadline = setTimeout(() => closeQuietly(conn), ADMIN_DEADLINE_MS);
  try {
    const head = await readHead(conn);
    const request: AdminRequest = head === null
      ? { error: "no complete request head" }
      : parseAdminRequest(head);
    if ("error" in request) {
      state.metrics.add("meshproxy_admin_refusals_total", { reason: "bad_request" });
    }
    const bytes = responseBytes(adminAnswer(request, conn.remoteAddr.hostname, state));
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  } catch {
    // the client went away, or the deadline closed the connection
  } finally {
    clearTimeout(deadline);
    closeQuietly(conn);
  }
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch { /* already closed */ }
}

/** The running admin interface. */
export interface AdminServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops serving (open admin connections end by their deadline). */
  shutdown(): Promise<void>;
}

/** Binds `host:port`; {@link ANY_ADDRESS}: `[::]`, plus `0.0.0.0` where `[::]` takes no IPv4. */
async function bind(host: string, port: number): Promise<Deno.TcpListener[]> {
  const listen = (hostname: string, at: number) =>
    Deno.listen({ hostname, port: at, transport: "tcp" });
  if (host !== ANY_ADDRESS) return [listen(host, port)];
  let v6: Deno.TcpListener;
  try {
    v6 = listen("::", port);
  } catch (error) {
    if (
      !(error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.NotSupported)
    ) {
      throw error;
    }
    return [listen("0.0.0.0", port)];
  }
  try {
    return [v6, listen("0.0.0.0", v6.addr.port)];
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse && await ipv6ListenerTakesIpv4()) return [v6];
    v6.close();
    throw error instanceof Deno.errors.AddrInUse ? ipv4PortHeldError(v6.addr.port) : error;
  }
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
  const listeners = await bind(host, port);
  const open = new Set<Promise<void>>();
  const wake = new Set<() => void>();
  const loops = listeners.map((listener) =>
    acceptLoop({
      accept: () => listener.accept(),
      isClosed: (error) =>
        error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted,
      onConnection: (conn) => {
        if (open.size >= ADMIN_MAX_CONNECTIONS) {
          state.metrics.add("meshproxy_admin_refusals_total", { reason: "connection_limit" });
          closeQuietly(conn);
          return;
        }
        const served = serveConnection(conn, state);
        open.add(served);
        void served.finally(() => open.delete(served));
      },
      onError: () => {},
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            wake.delete(done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          wake.add(done);
        }),
    })
  );
  return {
    port: listeners[0]!.addr.port,
    shutdown: async () => {
      for (const l of listeners) closeQuietly(l);
      for (const w of wake) w();
      await Promise.all(loops);
      await Promise.all([...open]);
    },
  };
}

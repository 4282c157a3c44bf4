/**
 * Connection bounds for a `node:https` server (the transit API, which needs client certificates
 * and so stays on `node:https`): the same limits as the Coordinator's own HTTP layer, applied
 * through the server's events because Deno's `node:http` (2.9.6) does not enforce
 * `headersTimeout` (a connection holding half a head stayed open) and enforces
 * `keepAliveTimeout` only coarsely. Its `handshakeTimeout` does hold (measured), so the
 * handshake deadline is left to it.
 *
 * - per client address and in all, at most `maxConnectionsPerAddress` / `maxConnections`
 *   connections: further ones are closed at once;
 * - after the handshake, and again after every answer, a complete request head must arrive
 *   within `headersTimeoutMs` (after an answer: `idleTimeoutMs` + `headersTimeoutMs`), else the
 *   connection is closed;
 * - at most {@link MAX_REQUESTS_IN_FLIGHT} requests in flight per connection: `node:http` hands
 *   every pipelined request to the handler at once, so a client pipelining without waiting for
 *   answers made the server hold hundreds of thousands of requests (6 MiB of GETs: heap 274 MiB in
 *   5 s, before any client certificate is checked); a connection beyond it is closed;
 * - every socket gets `TCP_NODELAY`.
 *
 * @module
 */
import type https from "node:https";
import type net from "node:net";
import type tls from "node:tls";
import type { ConnectionLimits } from "./connection_limits.ts";
import type { ConnectionCloseReason } from "./http1_server.ts";

/**
 * Requests in flight (handed to the handler, not yet answered) on one connection at most; HTTP
 * clients send one at a time (none the transit API serves pipelines).
 */
const MAX_REQUESTS_IN_FLIGHT = 4;

/**
 * The `node:https` server options that carry the handshake deadline of `limits`.
 */
export function handshakeOptions(limits: ConnectionLimits): { handshakeTimeout: number } {
  return { handshakeTimeout: limits.handshakeTimeoutMs };
}

/**
 * Applies `limits` to `server`'s connections; `onClosed` counts every connection closed or
 * refused by them. Returns a function that clears the pending deadlines (call it on close).
 */
export function boundNodeHttpsServer(
  server: https.Server,
  limits: ConnectionLimits,
  onClosed: (reason: ConnectionCloseReason) => void,
): () => void {
  const perAddress = new Map<string, number>();
  let open = 0;
  const deadlines = new Map<tls.TLSSocket, ReturnType<typeof setTimeout>>();
  const arm = (socket: tls.TLSSocket, ms: number, reason: ConnectionCloseReason) => {
    clearTimeout(deadlines.get(socket));
    deadlines.set(
      socket,
      setTimeout(() => {
        deadlines.delete(socket);
        onClosed(reason);
        socket.destroy();
      }, ms),
    );
  };
  const disarm = (socket: tls.TLSSocket) => {
    clearTimeout(deadlines.get(socket));
    deadlines.delete(socket);
  };

  server.on("connection", (raw: net.Socket) => {
    raw.setNoDelay(true);
    const address = raw.remoteAddress ?? "";
    const count = perAddress.get(address) ?? 0;
    if (count >= limits.maxConnectionsPerAddress || open >= limits.maxConnections) {
      onClosed(count >= limits.maxConnectionsPerAddress ? "address_limit" : "connection_limit");
      raw.destroy();
      return;
    }
    perAddress.set(address, count + 1);
    open++;
    raw.once("close", () => {
      open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  server.on("tlsClientError", () => onClosed("tls_handshake_failed"));
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    arm(socket, limits.headersTimeoutMs, "head_timeout");
    socket.once("close", () => disarm(socket));
  });
  const inFlight = new WeakMap<net.Socket, number>();
  server.on("request", (req, res) => {
    const socket = req.socket as tls.TLSSocket;
    const count = (inFlight.get(socket) ?? 0) + 1;
    inFlight.set(socket, count);
    res.once("close", () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    if (count > MAX_REQUESTS_IN_FLIGHT) {
      if (!socket.destroyed) {
        onClosed("framing");
        socket.destroy();
      }
      return;
    }
    disarm(socket);
    res.once("finish", () => {
      if (!socket.destroyed) {
        arm(socket, limits.idleTimeoutMs + limits.headersTimeoutMs, "idle_timeout");
      }
    });
  });
  return () => {
    for (const timer of deadlines.values()) clearTimeout(timer);
    deadlines.clear();
  };
}

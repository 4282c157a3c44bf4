/**
 * Connection limits for the HTTP server tests that set one timeout for every phase.
 *
 * @module
 */
import type { ConnectionLimits } from "../../../coordinator/http/connection_limits.ts";

/**
 * Limits whose four timeouts (handshake, headers, idle, request) are all `timeoutMs`, with 100
 * connections in all and per address (more than any of these tests opens); tests spread their own
 * bounds over it.
 */
export function uniformLimits(timeoutMs: number): ConnectionLimits {
  return {
    handshakeTimeoutMs: timeoutMs,
    headersTimeoutMs: timeoutMs,
    idleTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
    maxConnections: 100,
    maxConnectionsPerAddress: 100,
  };
}

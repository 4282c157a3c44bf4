/**
 * How many connections each listener may hold, how many of them may still be in their TLS
 * handshake, and how long an established connection may stay idle: the defaults are derived from
 * the number of file descriptors the process may open, split evenly among its listeners, so that
 * a flood on one listener (anyone on the cluster network can open TCP connections to an inbound
 * port) can neither use up the proxy's descriptors nor take another listener's share.
 *
 * Pure: no I/O.
 *
 * @module
 */
import type { HandshakeLimitAction, MeshLimitSettings } from "../protocol/mesh_config.ts";
import { memoryConnectionCap, type MemoryLimit } from "./memory_limit.ts";

/**
 * Open files the proxy's process may hold by default: the `nofile` hard limit the images run
 * with (podman: `nofile=1024:20000`). Deno raises its soft limit to the hard limit at start
 * (measured: a process started with `prlimit --nofile=1024:20000` reads 20000 in
 * `/proc/self/limits`), and the proxy image may not read `/proc` to find it out itself.
 */
export const DEFAULT_MAX_OPEN_FILES = 20_000;

/**
 * Descriptors kept out of the listeners' shares: the runtime's own, the admin interface's
 * ({@link ADMIN_MAX_CONNECTIONS}), credential reloads and the iptables commands.
 */
export const RESERVED_FILES = 256;

/** Unfinished handshakes a listener admits by default, at most. */
const DEFAULT_MAX_HANDSHAKES = 1024;

/** Default time a TLS handshake may take, s. */
const DEFAULT_HANDSHAKE_TIMEOUT_SECONDS = 10;

/** Default idle timeout of an established connection, s (Envoy's TCP proxy default, 1 hour). */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 3600;

/** Connections the admin interface serves at once (more are closed at once). */
export const ADMIN_MAX_CONNECTIONS = 32;

/** The limits one listener enforces. */
export interface ListenerLimits {
  /**
   * Connections the listener holds at once, handshaking or established; a connection beyond it
   * is closed as soon as it is accepted (`reason="connection_limit"`).
   */
  readonly maxConnections: number;
  /** Of those, connections still in their TLS handshake (inbound listeners only). */
  readonly maxHandshakes: number;
  /** What a new connection does when {@link maxHandshakes} are under way. */
  readonly onHandshakeLimit: HandshakeLimitAction;
  /** An established connection without a byte in either direction for this long is closed, ms. */
  readonly idleTimeoutMs: number;
  /**
   * A TLS handshake not finished this long after the connection was accepted (inbound) or made
   * (egress) is closed, ms.
   */
  readonly handshakeTimeoutMs: number;
}

/**
 * The limits every listener gets: those set explicitly, the rest derived. Each listener may hold
 * two descriptors per connection (the peer's and the application's side), so the default cap is
 * `(maxOpenFiles - RESERVED_FILES) / (2 × listeners)`: the listeners at their caps together stay
 * below the process's limit.
 *
 * `settings.maxOpenFiles` is the process's descriptor limit (default
 * {@link DEFAULT_MAX_OPEN_FILES}). When the cgroup's memory limit is known, the default cap is
 * also at most what half of that memory holds ({@link memoryConnectionCap}), whichever is
 * smaller. An explicit `settings.maxConnections` wins over both.
 *
 * @param listeners how many ingress and egress listeners the proxy runs
 * @param memory the cgroup's memory limit (default: not known, the descriptor cap alone)
 */
export function listenerLimits(
  settings: MeshLimitSettings,
  listeners: number,
  memory: MemoryLimit = { kind: "absent" },
): ListenerLimits {
  const maxOpenFiles = settings.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES;
  const share = Math.floor((maxOpenFiles - RESERVED_FILES) / (2 * Math.max(1, listeners)));
  const memoryCap = memoryConnectionCap(memory, listeners) ?? Number.POSITIVE_INFINITY;
  const maxConnections = settings.maxConnections ?? Math.max(1, Math.min(share, memoryCap));
  const maxHandshakes = settings.maxHandshakes ??
    Math.max(1, Math.min(DEFAULT_MAX_HANDSHAKES, Math.floor(maxConnections / 4)));
  return {
    maxConnections,
    maxHandshakes: Math.min(maxHandshakes, maxConnections),
    onHandshakeLimit: settings.onHandshakeLimit ?? "close-oldest",
    idleTimeoutMs: (settings.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    handshakeTimeoutMs: (settings.handshakeTimeoutSeconds ?? DEFAULT_HANDSHAKE_TIMEOUT_SECONDS) *
      1000,
  };
}

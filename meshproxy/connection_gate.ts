/**
 * Admission of one listener's connections: at most `maxConnections` at once (handshaking or
 * established), of which at most `maxHandshakes` still in their TLS handshake. A connection over
 * the connection cap is refused; one over the handshake cap either is refused (`refuse-new`) or
 * makes the longest-waiting handshake close (`close-oldest`), so that clients holding handshakes
 * open without finishing them cannot keep a mesh peer, whose handshake finishes in milliseconds,
 * out for longer than it takes them to open `maxHandshakes` new connections.
 *
 * Pure bookkeeping over connection objects; the caller closes what it is told to.
 *
 * @module
 */
import type { HandshakeLimitAction } from "../protocol/mesh_config.ts";

/**
 * Why a connection was refused or closed by a limit (the metric's `reason` label):
 * `connection_limit` and `handshake_limit` name the cap a refused new connection met,
 * `handshake_evicted` an unfinished handshake closed to make room for a new connection.
 */
export type LimitReason = "connection_limit" | "handshake_limit" | "handshake_evicted";

/** The outcome of {@link ConnectionGate.admit}. */
export type Admission<T> =
  | { readonly admitted: true; readonly evicted?: T }
  | { readonly admitted: false; readonly reason: Exclude<LimitReason, "handshake_evicted"> };

/** The caps a {@link ConnectionGate} enforces. */
interface GateLimits {
  readonly maxConnections: number;
  readonly maxHandshakes: number;
  readonly onHandshakeLimit: HandshakeLimitAction;
}

/** Counts one listener's connections against its caps. */
export class ConnectionGate<T> {
  readonly #limits: GateLimits;
  /** Connections in their handshake, oldest first (a Map keeps insertion order). */
  readonly #handshaking = new Map<T, true>();
  readonly #established = new Set<T>();

  constructor(limits: GateLimits) {
    this.#limits = limits;
  }

  /** Connections held (handshaking and established). */
  get connections(): number {
    return this.#handshaking.size + this.#established.size;
  }

  /** Connections still in their handshake. */
  get handshakes(): number {
    return this.#handshaking.size;
  }

  /**
   * Admits a new connection into its handshake, or refuses it. When a cap is reached, under
   * `close-oldest` the longest-waiting handshake makes room (if there is one: established
   * connections are never closed for a new one); it is no longer counted and the caller must close
   * it (`reason="handshake_evicted"`). Under `refuse-new` the new connection is refused.
   */
  admit(connection: T): Admission<T> {
    const l = this.#limits;
    const fullConnections = this.connections >= l.maxConnections;
    const fullHandshakes = this.#handshaking.size >= l.maxHandshakes;
    if (!fullConnections && !fullHandshakes) {
      this.#handshaking.set(connection, true);
      return { admitted: true };
    }
    if (l.onHandshakeLimit === "refuse-new" || this.#handshaking.size === 0) {
      return { admitted: false, reason: fullHandshakes ? "handshake_limit" : "connection_limit" };
    }
    const evicted = this.#handshaking.keys().next().value as T;
    this.#handshaking.delete(evicted);
    this.#handshaking.set(connection, true);
    return { admitted: true, evicted };
  }

  /**
   * Moves a connection from its handshake to established. False when it is no longer counted
   * (evicted, or released): the caller must close it.
   */
  established(connection: T): boolean {
    if (!this.#handshaking.delete(connection)) return false;
    this.#established.add(connection);
    return true;
  }

  /** Whether `connection` is counted (handshaking or established). */
  holds(connection: T): boolean {
    return this.#handshaking.has(connection) || this.#established.has(connection);
  }

  /** Stops counting a connection (once it is closed). */
  release(connection: T): void {
    this.#handshaking.delete(connection);
    this.#established.delete(connection);
  }
}

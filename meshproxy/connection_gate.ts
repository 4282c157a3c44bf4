/**
 * Admission of one listener's connections: at most `maxConnections` at once (handshaking or
 * established), of which at most `maxHandshakes` still in their TLS handshake. A connection over
 * the connection cap is refused; one over the handshake cap either is refused (`refuse-new`) or
 * makes a waiting handshake close (`close-oldest`): the oldest one of the source address with the
 * most handshakes under way, so that a flood of handshakes that are never finished, from one
 * address or a few, closes its own connections and not a mesh peer's (whose handshake finishes in
 * milliseconds).
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
type Admission<T> =
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
  /** Connections in their handshake, oldest first (a Map keeps insertion order), with source. */
  readonly #handshaking = new Map<T, string>();
  /** Per source, its connections in their handshake, oldest first. */
  readonly #bySource = new Map<string, Set<T>>();
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
   * Admits a new connection from `source` (the peer's address) into its handshake, or refuses
   * it. When a cap is reached, under `close-oldest` the oldest handshake of the source with the
   * most handshakes under way makes room (if there is one: established connections are never
   * closed for a new one), so a flood from one address closes its own connections rather than a
   * peer's; the evicted connection is no longer counted and the caller must close it
   * (`reason="handshake_evicted"`). Under `refuse-new` the new connection is refused.
   */
  admit(connection: T, source: string): Admission<T> {
    const l = this.#limits;
    const fullConnections = this.connections >= l.maxConnections;
    const fullHandshakes = this.#handshaking.size >= l.maxHandshakes;
    if (!fullConnections && !fullHandshakes) {
      this.#add(connection, source);
      return { admitted: true };
    }
    if (l.onHandshakeLimit === "refuse-new" || this.#handshaking.size === 0) {
      return { admitted: false, reason: fullHandshakes ? "handshake_limit" : "connection_limit" };
    }
    const evicted = this.#oldestOfHeaviestSource(source);
    this.release(evicted);
    this.#add(connection, source);
    return { admitted: true, evicted };
  }

  /**
   * The oldest handshake of the source with the most handshakes under way, counting the new
   * connection for its source (ties: the new connection's own source, else the first found).
   */
  #oldestOfHeaviestSource(newSource: string): T {
    let heaviest: Set<T> | undefined;
    let most = 0;
    const own = this.#bySource.get(newSource);
    if (own) {
      heaviest = own;
      most = own.size + 1;
    }
    for (const [source, set] of this.#bySource) {
      if (source !== newSource && set.size > most) {
        heaviest = set;
        most = set.size;
      }
    }
    return heaviest!.values().next().value as T;
  }

  #add(connection: T, source: string): void {
    this.#handshaking.set(connection, source);
    let set = this.#bySource.get(source);
    if (!set) this.#bySource.set(source, set = new Set());
    set.add(connection);
  }

  /** Removes `connection` from the handshakes; false when it was not among them. */
  #leaveHandshake(connection: T): boolean {
    const source = this.#handshaking.get(connection);
    if (source === undefined) return false;
    this.#handshaking.delete(connection);
    const set = this.#bySource.get(source)!;
    set.delete(connection);
    if (set.size === 0) this.#bySource.delete(source);
    return true;
  }

  /**
   * Moves a connection from its handshake to established. False when it is no longer counted
   * (evicted, or released): the caller must close it.
   */
  established(connection: T): boolean {
    if (!this.#leaveHandshake(connection)) return false;
    this.#established.add(connection);
    return true;
  }

  /** Whether `connection` is counted (handshaking or established). */
  holds(connection: T): boolean {
    return this.#handshaking.has(connection) || this.#established.has(connection);
  }

  /** Stops counting a connection (once it is closed). */
  release(connection: T): void {
    this.#leaveHandshake(connection);
    this.#established.delete(connection);
  }
}

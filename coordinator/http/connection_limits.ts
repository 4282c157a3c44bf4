/**
 * Bounds on the connections of one listener: how many are open (in all and per client address)
 * and how long each may stay in each phase: waiting for a free slot, the TLS handshake, a
 * request head, keep-alive idleness between requests, a request (body and handling), writing
 * the answer and the lingering close after an answer that ends the connection. Over the total
 * cap a new connection waits, unread, in a queue as long as the cap (beyond it, and over the
 * per-address cap, it is closed at once). Connections busy at once (from the handshake to the end
 * of an answer) may be bounded too (`maxBusyConnections`, `maxBusyPerAddress`): over it a new
 * connection waits in the same queue, oldest first, so that under overload the server finishes a
 * few connections at a time instead of handshaking every arrival and serving all of them slowly
 * together. One timer per listener sweeps the connections; one
 * past its deadline is closed (a request past its deadline is first answered 408 by the
 * connection's owner). Setting a phase costs an assignment and a clock read, so the bounds cost
 * nothing measurable per request.
 *
 * @module
 */

/** Limits of one listener. */
export interface ConnectionLimits {
  /** Time for the TLS handshake after the connection is accepted, ms. */
  readonly handshakeTimeoutMs: number;
  /** Time for a request head to arrive in full (from the handshake or its first byte), ms. */
  readonly headersTimeoutMs: number;
  /** Time a connection may sit idle between an answer and the next request, ms. */
  readonly idleTimeoutMs: number;
  /** Time for reading a request's body and answering it, ms (408 after it). */
  readonly requestTimeoutMs: number;
  /**
   * Open connections at most; as many more wait (unread, up to the handshake timeout) for a free
   * slot, and any beyond are closed at once.
   */
  readonly maxConnections: number;
  /** Open connections per client address at most; further ones are closed at once. */
  readonly maxConnectionsPerAddress: number;
  /**
   * Longest lingering close after an answer that ends the connection, ms (default
   * {@link DEFAULT_LINGER}); the connection keeps its slot meanwhile.
   */
  readonly lingerTimeoutMs?: number;
  /** Most bytes discarded in a lingering close (default {@link DEFAULT_LINGER}). */
  readonly lingerMaxBytes?: number;
  /**
   * Connections at most that are busy at once: from the TLS handshake to the end of an answer
   * (the request head, the request being read and handled, its answer being written; none when
   * absent). Beyond it a new connection waits, unread, in the queue (FIFO, up to the handshake
   * timeout) until one of those ends or goes idle, so that under overload a few connections
   * finish instead of all progressing slowly together. Connections already open are never held
   * back (an idle one's next request is served at once and counts from its first byte).
   */
  readonly maxBusyConnections?: number;
  /**
   * Busy connections (see {@link maxBusyConnections}) per client address at most (none when
   * absent): one address cannot hold every busy slot with connections that stall.
   */
  readonly maxBusyPerAddress?: number;
}

/**
 * Bounds of the lingering close (`http1_server.ts`): after an answer that ends the connection the
 * server half-closes and reads and discards what the client still sends, for at most this long
 * and this many bytes, so that the client reads the answer before a reset can lose it (as nginx's
 * `lingering_close` and Go's `closeWriteAndWait`). Measured on loopback, curl uploading 16 MiB
 * regardless of a 413 sent up to 7.5 MiB more before it closed (12 at once; within 13 ms), and a
 * Deno TLS client 3.9 MiB; with a 1 MiB bound most of both lost the answer. Discarding over TLS
 * costs ~1.1 ms of CPU per MiB (256 MiB: 280 ms), so a connection costs at most ~18 ms; its bytes
 * are never held. The time (half the handshake and head deadlines) frees the slot of a client
 * that neither closes nor sends much.
 *
 * @example
 * ```ts
 * import { DEFAULT_LINGER } from "./connection_limits.ts";
 * console.log(DEFAULT_LINGER.lingerTimeoutMs); // 5000
 * ```
 */
export const DEFAULT_LINGER = { lingerTimeoutMs: 5_000, lingerMaxBytes: 16 * 1024 * 1024 } as const;

/**
 * Defaults. The idle time is far longer than the keep-alive the Coordinator's own clients use
 * (`KEEP_ALIVE_IDLE_MS`, 2 s), so they never reuse a connection the server is closing; clients
 * that keep idle connections without a limit (Node's agent) race the close only after 30 s
 * (with 5 s, an e2e client whose event loop was busy for seconds under load wrote into a
 * connection closed meanwhile: EPIPE).
 */
export const DEFAULT_CONNECTION_LIMITS: Omit<ConnectionLimits, "requestTimeoutMs"> = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 64,
};

/** What a connection is waiting for; each phase has its own deadline. */
type ConnectionPhase =
  | "queued"
  | "handshake"
  | "head"
  | "idle"
  | "request"
  | "answer"
  | "linger";

/**
 * The phases bounded by `maxBusyConnections`: from the handshake to the end of an answer (a head
 * after the handshake is a request about to be handled). Waiting in the queue, idle between
 * requests and lingering after the last answer cost next to nothing.
 */
const BUSY_PHASES: ReadonlySet<ConnectionPhase> = new Set([
  "handshake",
  "head",
  "request",
  "answer",
]);

/** Why the tracker closed a connection (a metric label). */
export type ExpiryReason = `${ConnectionPhase}_timeout`;

/** One open connection under a tracker's deadlines. */
export class TrackedConnection {
  /** The client's address (per-address count). */
  readonly address: string;
  readonly #close: () => void;
  readonly #limits: ConnectionLimits;
  #phase: ConnectionPhase = "queued";
  #deadline: number;
  #onRequestExpiry?: () => void;
  #closed = false;
  readonly #onBusy?: (tracked: TrackedConnection, busy: boolean) => void;

  /**
   * A connection from `address` that `close` destroys; `onBusy` learns when it enters or leaves
   * a busy phase (handshake, head, request, answer) or closes in one.
   */
  constructor(
    close: () => void,
    address: string,
    limits: ConnectionLimits,
    onBusy?: (tracked: TrackedConnection, busy: boolean) => void,
  ) {
    this.#close = close;
    this.address = address;
    this.#limits = limits;
    this.#onBusy = onBusy;
    this.#deadline = performance.now() + limits.handshakeTimeoutMs;
  }

  /** Whether it is open and in a busy phase (handshake, head, request, answer). */
  get busy(): boolean {
    return !this.#closed && BUSY_PHASES.has(this.#phase);
  }

  #setPhase(phase: ConnectionPhase): void {
    const was = this.busy;
    this.#phase = phase;
    if (was !== this.busy) this.#onBusy?.(this, !was);
  }

  /** Whether it was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The current phase. */
  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** Enters `phase` with its deadline counted from now. */
  enter(phase: Exclude<ConnectionPhase, "request">): void {
    this.#setPhase(phase);
    this.#onRequestExpiry = undefined;
    const limits = this.#limits;
    this.#deadline = performance.now() +
      (phase === "handshake"
        ? limits.handshakeTimeoutMs
        : phase === "head"
        ? limits.headersTimeoutMs
        : phase === "idle"
        ? limits.idleTimeoutMs
        : phase === "linger"
        ? limits.lingerTimeoutMs ?? DEFAULT_LINGER.lingerTimeoutMs
        : limits.requestTimeoutMs);
  }

  /** Enters the request phase: `onExpiry` runs at its deadline (the owner answers 408). */
  enterRequest(onExpiry: () => void): void {
    this.#setPhase("request");
    this.#onRequestExpiry = onExpiry;
    this.#deadline = performance.now() + this.#limits.requestTimeoutMs;
  }

  /**
   * Called by the sweep: past the deadline, a request is handed to its expiry callback (and
   * given the answer phase to write the 408); anything else is closed. Returns the reason when
   * the deadline passed.
   */
  expireIfDue(now: number): ExpiryReason | undefined {
    if (this.#closed || now < this.#deadline) return undefined;
    const reason: ExpiryReason = `${this.#phase}_timeout`;
    const onExpiry = this.#onRequestExpiry;
    if (onExpiry) {
      this.enter("answer");
      onExpiry();
    } else {
      this.close();
    }
    return reason;
  }

  /** Closes the connection (pending reads and writes end with an error). */
  close(): void {
    if (this.#closed) return;
    const was = this.busy;
    this.#closed = true;
    if (was) this.#onBusy?.(this, false);
    this.#close();
  }
}

/** Why a new connection was refused. */
export type RefusalReason = "address_limit" | "connection_limit";

/** Counts, caps and deadlines of one listener's connections. */
export class ConnectionTracker {
  readonly #limits: ConnectionLimits;
  readonly #open = new Set<TrackedConnection>();
  readonly #queue: { tracked: TrackedConnection; start: (tracked: TrackedConnection) => void }[] =
    [];
  readonly #perAddress = new Map<string, number>();
  readonly #busyPerAddress = new Map<string, number>();
  #busy = 0;
  #starting = false;
  readonly #onExpiry: (reason: ExpiryReason) => void;
  readonly #sweep: ReturnType<typeof setInterval>;

  /** Tracks connections under `limits`; `onExpiry` learns of every deadline that passed. */
  constructor(limits: ConnectionLimits, onExpiry: (reason: ExpiryReason) => void) {
    this.#limits = limits;
    this.#onExpiry = onExpiry;
    const shortest = Math.min(
      limits.handshakeTimeoutMs,
      limits.headersTimeoutMs,
      limits.idleTimeoutMs,
      limits.requestTimeoutMs,
      limits.lingerTimeoutMs ?? DEFAULT_LINGER.lingerTimeoutMs,
    );
    // Deadlines hold to within a quarter of the shortest timeout (at most 1 s late).
    this.#sweep = setInterval(
      () => this.#expire(),
      Math.min(1000, Math.max(10, Math.floor(shortest / 4))),
    );
  }

  /** Number of open connections (queued ones not counted). */
  get size(): number {
    return this.#open.size;
  }

  /** Number of connections in a busy phase (handshake, head, request, answer). */
  get busy(): number {
    return this.#busy;
  }

  /** Number of connections waiting in the queue for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Admits a new connection from `address` that `close` destroys: `start` runs now when a slot
   * is free (an open connection under `maxConnections` and a busy one under `maxBusyConnections`
   * and `maxBusyPerAddress`; connections still waiting go first), or later when one frees up
   * (the connection waits in the queue until then, at most the handshake timeout). Returns why
   * it was refused instead (the caller closes it).
   */
  admit(
    address: string,
    close: () => void,
    start: (tracked: TrackedConnection) => void,
  ): TrackedConnection | RefusalReason {
    const count = this.#perAddress.get(address) ?? 0;
    if (count >= this.#limits.maxConnectionsPerAddress) return "address_limit";
    const roomNow = this.#room(address);
    if (!roomNow && this.#queue.length >= this.#limits.maxConnections) return "connection_limit";
    this.#perAddress.set(address, count + 1);
    const tracked = new TrackedConnection(
      close,
      address,
      this.#limits,
      (t, busy) => this.#busyChanged(t, busy),
    );
    this.#queue.push({ tracked, start });
    this.#startQueued();
    return tracked;
  }

  /** Stops tracking `tracked` (after it closed) and starts queued connections into free slots. */
  release(tracked: TrackedConnection): void {
    const wasOpen = this.#open.delete(tracked);
    const queued = wasOpen ? -1 : this.#queue.findIndex((q) => q.tracked === tracked);
    if (!wasOpen && queued < 0) return;
    if (queued >= 0) this.#queue.splice(queued, 1);
    const count = this.#perAddress.get(tracked.address) ?? 1;
    if (count <= 1) this.#perAddress.delete(tracked.address);
    else this.#perAddress.set(tracked.address, count - 1);
    this.#startQueued();
  }

  /** Whether a connection from `address` may start now. */
  #room(address: string): boolean {
    const limits = this.#limits;
    return this.#open.size < limits.maxConnections &&
      (limits.maxBusyConnections === undefined || this.#busy < limits.maxBusyConnections) &&
      (limits.maxBusyPerAddress === undefined ||
        (this.#busyPerAddress.get(address) ?? 0) < limits.maxBusyPerAddress);
  }

  #busyChanged(tracked: TrackedConnection, busy: boolean): void {
    const count = (this.#busyPerAddress.get(tracked.address) ?? 0) + (busy ? 1 : -1);
    if (count <= 0) this.#busyPerAddress.delete(tracked.address);
    else this.#busyPerAddress.set(tracked.address, count);
    this.#busy += busy ? 1 : -1;
    if (!busy) this.#startQueued();
  }

  /**
   * Starts queued connections, oldest first, while there is room: one whose address holds its
   * share of busy slots stays queued and the next one is tried.
   */
  #startQueued(): void {
    if (this.#starting) return;
    this.#starting = true;
    try {
      for (let i = 0; i < this.#queue.length && this.#open.size < this.#limits.maxConnections;) {
        const next = this.#queue[i]!;
        if (next.tracked.closed) {
          i++;
          continue;
        }
        if (!this.#room(next.tracked.address)) {
          if (
            this.#limits.maxBusyConnections !== undefined &&
            this.#busy >= this.#limits.maxBusyConnections
          ) break;
          i++;
          continue;
        }
        this.#queue.splice(i, 1);
        this.#open.add(next.tracked);
        next.tracked.enter("handshake");
        next.start(next.tracked);
      }
    } finally {
      this.#starting = false;
    }
  }

  #expire(): void {
    const now = performance.now();
    for (const tracked of this.#open) {
      const reason = tracked.expireIfDue(now);
      if (reason !== undefined) this.#onExpiry(reason);
    }
    for (const { tracked } of [...this.#queue]) {
      const reason = tracked.expireIfDue(now);
      if (reason !== undefined) this.#onExpiry(reason);
    }
  }

  /** Stops the sweep and closes every connection, open or queued. */
  close(): void {
    clearInterval(this.#sweep);
    for (const tracked of this.#open) tracked.close();
    for (const { tracked } of this.#queue) tracked.close();
  }
}

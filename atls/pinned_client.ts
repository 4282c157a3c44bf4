/**
 * An HTTPS JSON client that pins the Coordinator's TLS key: the first connection learns the
 * key (the caller then checks that the Coordinator's evidence binds exactly that key), and every
 * later connection is refused before a single request byte is written unless the server proves
 * possession of the same key. The check reads the certificate the TLS handshake actually
 * delivered (`getPeerCertificate`), never a certificate from a response body.
 *
 * Requests reuse the last connection while it is fresh (HTTP/1.1 keep-alive, at most
 * {@link KEEP_ALIVE_IDLE_MS} idle), so an exchange of several requests costs one TLS handshake on
 * both sides; the reused connection is the one whose key was checked when it was opened. An idle
 * connection never keeps the process alive, and {@link PinnedHttpsClient.close} closes it.
 *
 * Connections are TLS 1.3 only (`minVersion`), so every one has a unique channel binding
 * (`channel_binding.ts`). {@link PinnedHttpsClient.bindConnection} reads the binding of the
 * connection the next request will use, and {@link PinnedHttpsClient.requestOnBinding} sends a
 * request on exactly that connection: the initializer's evidence binds it, and a new connection
 * (another binding) would make the Coordinator refuse the evidence. If that connection closed in
 * between, it fails with {@link BoundConnectionClosedError} (retryable: bind a new connection and
 * make new evidence) instead of reconnecting.
 *
 * @module
 */
import https from "node:https";
import tls from "node:tls";
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import {
  ContrastError,
  ParseError,
  UnavailableError,
  VerificationError,
} from "../util/errors/mod.ts";
import { constantTimeEqual, sha256 } from "../util/bytes/mod.ts";
import { selfSignedSpki } from "./certificate.ts";
import { clientChannelBinding } from "./channel_binding.ts";
import { parseRetryAfter } from "../util/http/retry_after.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from "./coordinator_answers.ts";

// Defined apart (see coordinator_answers.ts), exported here too: the errors this client throws.
export {
  type CoordinatorAnswer,
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from "./coordinator_answers.ts";

/**
 * How long an idle connection is reused, ms: well below the 5 s after which a `node:http(s)`
 * server (the Coordinator's transit API) closes idle keep-alive connections, so a request rarely
 * meets a connection the server is closing (the user and mesh APIs, on `Deno.serve`, keep them).
 */
export const KEEP_ALIVE_IDLE_MS = 2000;

/** Options of a {@link PinnedHttpsClient}. */
export interface PinnedClientOptions {
  /** SHA-256 of the SPKI to require from the first connection on (else learnt on first use). */
  readonly pinnedSpkiSha256?: Uint8Array;
  /** Connect + request + response deadline in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Largest response body accepted (default 64 MiB). */
  readonly maxResponseBytes?: number;
  /** Reuse a connection for the next request while it is fresh (default true). */
  readonly keepAlive?: boolean;
  /** How long an idle connection stays reusable, ms (default {@link KEEP_ALIVE_IDLE_MS}). */
  readonly keepAliveIdleMs?: number;
  /**
   * Local address to connect from (default: the system's choice). The load test gives each
   * simulated pod its own loopback address, as every real pod has its own.
   */
  readonly localAddress?: string;
}

/** A `host:port` pair. */
export interface HostPort {
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/**
 * `HOST:PORT` parsed; IPv6 literals in brackets.
 *
 * @throws {ParseError} naming `field` when the port is missing or out of range
 */
export function parseHostPort(address: string, field = "coordinator"): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address.trim());
  if (!m) throw new ParseError(field, `expected HOST:PORT, got ${JSON.stringify(address)}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new ParseError(field, `port ${port} out of range`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * The connection whose channel binding a request was to travel on closed (or was replaced)
 * before the request was sent. Nothing was sent: the caller binds a new connection and makes new
 * evidence (an {@link UnavailableError}: the initializer retries it).
 *
 * @example
 * ```ts
 * import { BoundConnectionClosedError } from "./pinned_client.ts";
 * import { UnavailableError } from "../util/errors/mod.ts";
 * console.assert(new BoundConnectionClosedError() instanceof UnavailableError);
 * ```
 */
export class BoundConnectionClosedError extends UnavailableError {
  constructor(reason = "closed before the request was sent") {
    super(
      "channelBinding",
      `the TLS connection the evidence binds ${reason}; a new connection has another binding: ` +
        "start the exchange again",
    );
  }
}

/**
 * The typed error for an error answer `{error, field?}` with `status` and the answer's
 * `Retry-After` (parsed at `nowMs`).
 */
function errorForAnswer(
  status: number,
  body: unknown,
  retryAfterHeader: string | undefined,
  nowMs: number,
): ContrastError {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const reason = `coordinator answered ${status}: ${
    typeof b.error === "string" ? b.error : "no reason given"
  }`;
  const field = typeof b.field === "string" ? b.field : "coordinator";
  if (status === 400 || status === 413) {
    return new CoordinatorBadRequestError(status, field, reason);
  }
  if (status === 412 || status === 429 || status >= 500) {
    const retryAfter = parseRetryAfter(retryAfterHeader, nowMs);
    return new CoordinatorUnavailableError(status, field, reason, retryAfter);
  }
  return new CoordinatorRejectedError(status, field, reason);
}

/** An HTTPS JSON client bound to one Coordinator TLS key. */
export class PinnedHttpsClient {
  readonly #target: HostPort;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #keepAlive: boolean;
  readonly #keepAliveIdleMs: number;
  readonly #localAddress?: string;
  #pinned?: Uint8Array;
  #certificate?: Uint8Array;
  /**
   * The connection whose channel binding {@link bindConnection} handed out, kept for
   * {@link requestOnBinding} (no idle expiry: evidence may take seconds to make; the server's
   * idle deadline still applies).
   */
  #bound?: tls.TLSSocket;
  /** The connection kept open after the last answer, and since when (performance.now()). */
  #idle?: {
    readonly socket: tls.TLSSocket;
    readonly since: number;
    /** Closes the connection once it is too old to reuse (does not hold the process open). */
    readonly expiry: ReturnType<typeof setTimeout>;
  };

  constructor(address: string | HostPort, options: PinnedClientOptions = {}) {
    this.#target = typeof address === "string" ? parseHostPort(address) : address;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.#pinned = options.pinnedSpkiSha256;
    this.#keepAlive = options.keepAlive ?? true;
    this.#keepAliveIdleMs = options.keepAliveIdleMs ?? KEEP_ALIVE_IDLE_MS;
    this.#localAddress = options.localAddress;
  }

  /** Closes the idle and the bound connection, if any (later requests open a new one). */
  close(): void {
    this.#bound?.destroy();
    this.#bound = undefined;
    this.#closeIdle();
  }

  /** Closes the idle connection, if any. */
  #closeIdle(): void {
    if (this.#idle === undefined) return;
    clearTimeout(this.#idle.expiry);
    this.#idle.socket.destroy();
    this.#idle = undefined;
  }

  /** The idle connection if it is still open and fresh; else closes it. */
  #takeIdle(): tls.TLSSocket | undefined {
    const idle = this.#idle;
    this.#idle = undefined;
    if (idle === undefined) return undefined;
    clearTimeout(idle.expiry);
    if (
      idle.socket.destroyed || !idle.socket.readable || !idle.socket.writable ||
      performance.now() - idle.since > this.#keepAliveIdleMs
    ) {
      idle.socket.destroy();
      return undefined;
    }
    idle.socket.ref();
    return idle.socket;
  }

  /** Keeps `socket` for the next request (without holding the process open). */
  #park(socket: tls.TLSSocket): void {
    this.#closeIdle();
    socket.unref();
    const expiry = setTimeout(() => {
      if (this.#idle?.socket === socket) this.#closeIdle();
    }, this.#keepAliveIdleMs);
    expiry.unref();
    this.#idle = { socket, since: performance.now(), expiry };
  }

  /** `host:port` for messages (IPv6 in brackets). */
  get #address(): string {
    const host = this.#target.host.includes(":") ? `[${this.#target.host}]` : this.#target.host;
    return `${host}:${this.#target.port}`;
  }

  /** SHA-256 of the pinned SPKI, once known. */
  get pinnedSpkiSha256(): Uint8Array | undefined {
    return this.#pinned;
  }

  /** DER of the server certificate of the first connection, once known. */
  get serverCertificate(): Uint8Array | undefined {
    return this.#certificate;
  }

  /** Opens a TLS connection and checks (or learns) the server key before returning it. */
  async #connect(): Promise<tls.TLSSocket> {
    const socket = tls.connect({
      host: this.#target.host,
      port: this.#target.port,
      // The server is authenticated by its attested key below, not by a Web PKI chain.
      rejectUnauthorized: false,
      // TLS 1.3 only: the channel binding of a connection (channel_binding.ts) is unique only
      // there, and the Coordinator speaks it.
      minVersion: "TLSv1.3",
      ...(this.#localAddress !== undefined ? { localAddress: this.#localAddress } : {}),
      ...(isIP(this.#target.host) !== 0 ? {} : { servername: this.#target.host }),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new UnavailableError(
                "coordinator",
                `no TLS connection to ${this.#address} within ${this.#timeoutMs / 1000} s`,
              ),
            ),
          this.#timeoutMs,
        );
        socket.once("secureConnect", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once("error", (cause: Error) => {
          clearTimeout(timer);
          reject(
            new UnavailableError(
              "coordinator",
              `cannot connect to ${this.#address}: ${cause.message}`,
              { cause },
            ),
          );
        });
      });
      const peer = socket.getPeerCertificate(true);
      if (!peer?.raw) throw new VerificationError("coordinator.tls", "server sent no certificate");
      const der = new Uint8Array(peer.raw);
      // Not certificateSpki alone: when webpki cannot parse the certificate, Deno's TLS client
      // skips the handshake signature check, so only the certificate's own signature shows that
      // whoever made it holds the key (see selfSignedSpki).
      const spkiHash = await sha256(await selfSignedSpki(der, "coordinator.tls"));
      if (this.#pinned === undefined) {
        this.#pinned = spkiHash;
        this.#certificate = der;
      } else if (!constantTimeEqual(spkiHash, this.#pinned)) {
        throw new VerificationError(
          "coordinator.tls",
          "server TLS key differs from the attested (pinned) key",
        );
      }
      return socket;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  /**
   * Sends `body` as JSON with `method` to `path` over a pinned connection and returns the
   * parsed JSON answer.
   *
   * @throws {CoordinatorBadRequestError | CoordinatorRejectedError | CoordinatorUnavailableError}
   *   on an error status
   * @throws {VerificationError} when the server key is not the pinned one
   * @throws {UnavailableError} when the server cannot be reached or times out
   */
  async request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    return this.#send(this.#takeIdle() ?? await this.#connect(), method, path, body);
  }

  /**
   * The channel binding (`channel_binding.ts`) of the connection that
   * {@link requestOnBinding} will use: the open idle connection, or a new pinned one. The
   * connection is kept for that request (until {@link close}, or until the server closes it).
   *
   * @throws {VerificationError} when the server key is not the pinned one
   * @throws {import("./channel_binding.ts").ChannelBindingError} when the connection is not TLS
   *   1.3
   * @throws {UnavailableError} when the server cannot be reached or times out
   */
  async bindConnection(): Promise<Uint8Array> {
    const socket = this.#takeIdle() ?? await this.#connect();
    let binding: Uint8Array;
    try {
      binding = clientChannelBinding(socket);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    this.#bound?.destroy();
    socket.unref();
    this.#bound = socket;
    return binding;
  }

  /**
   * Sends a request as {@link request} does, on exactly the connection whose channel binding
   * {@link bindConnection} returned as `binding` (never on another one).
   *
   * @throws {BoundConnectionClosedError} when that connection is closed, or no connection with
   *   `binding` is held (nothing is sent)
   * @throws {CoordinatorBadRequestError | CoordinatorRejectedError | CoordinatorUnavailableError}
   *   on an error status
   * @throws {UnavailableError} when the server does not answer in time
   */
  requestOnBinding(
    binding: Uint8Array,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    const socket = this.#bound;
    this.#bound = undefined;
    if (socket === undefined) {
      return Promise.reject(
        new BoundConnectionClosedError("is not held (bind a connection first)"),
      );
    }
    let current: Uint8Array | undefined;
    try {
      current = socket.destroyed || !socket.readable || !socket.writable
        ? undefined
        : clientChannelBinding(socket);
    } catch {
      current = undefined;
    }
    if (current === undefined || !constantTimeEqual(current, binding)) {
      socket.destroy();
      return Promise.reject(
        new BoundConnectionClosedError(
          current === undefined ? "closed before the request was sent" : "is not the one held",
        ),
      );
    }
    socket.ref();
    return this.#send(socket, method, path, body);
  }

  /** Sends one request on `socket` (parked for reuse after a complete answer, else closed). */
  async #send(
    socket: tls.TLSSocket,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let reusable = false;
    try {
      const { status, text, retryAfter } = await new Promise<
        { status: number; text: string; retryAfter?: string }
      >(
        (resolve, reject) => {
          const timer = setTimeout(() => {
            socket.destroy();
            reject(
              new UnavailableError(
                "coordinator",
                `no answer to ${method} https://${this.#address}${path} within ${
                  this.#timeoutMs / 1000
                } s`,
              ),
            );
          }, this.#timeoutMs);
          const req = https.request(
            {
              method,
              path,
              host: this.#target.host,
              port: this.#target.port,
              headers: {
                "content-type": "application/json",
                connection: this.#keepAlive ? "keep-alive" : "close",
                ...(payload !== undefined
                  ? { "content-length": String(new TextEncoder().encode(payload).length) }
                  : {}),
              },
              createConnection: () => socket,
            } as https.RequestOptions,
            (res: IncomingMessage) => {
              const chunks: Uint8Array[] = [];
              let size = 0;
              res.on("data", (chunk: Uint8Array) => {
                size += chunk.length;
                if (size > this.#maxResponseBytes) {
                  clearTimeout(timer);
                  socket.destroy();
                  reject(new UnavailableError("coordinator", "response too large"));
                  return;
                }
                chunks.push(chunk);
              });
              res.on("end", () => {
                clearTimeout(timer);
                reusable = this.#keepAlive && size <= this.#maxResponseBytes &&
                  !/\bclose\b/i.test(String(res.headers.connection ?? ""));
                const all = new Uint8Array(size);
                let o = 0;
                for (const c of chunks) {
                  all.set(c, o);
                  o += c.length;
                }
                const header = res.headers["retry-after"];
                resolve({
                  status: res.statusCode ?? 0,
                  text: new TextDecoder().decode(all),
                  retryAfter: typeof header === "string" ? header : undefined,
                });
              });
              res.on("error", (cause: Error) => {
                clearTimeout(timer);
                reject(
                  new UnavailableError("coordinator", `${this.#address}: ${cause.message}`, {
                    cause,
                  }),
                );
              });
            },
          );
          req.on("error", (cause: Error) => {
            clearTimeout(timer);
            reject(
              new UnavailableError("coordinator", `${this.#address}: ${cause.message}`, { cause }),
            );
          });
          req.end(payload);
        },
      );
      let parsed: unknown;
      try {
        parsed = text.length > 0 ? JSON.parse(text) : undefined;
      } catch (cause) {
        // An error status decides even without a JSON body (a 503 or 429 of a proxy in front
        // is as retryable as the Coordinator's own).
        if (status < 200 || status >= 300) {
          throw errorForAnswer(status, undefined, retryAfter, Date.now());
        }
        throw new ParseError("coordinator.response", `answer to ${path} is not JSON`, { cause });
      }
      if (status < 200 || status >= 300) {
        throw errorForAnswer(status, parsed, retryAfter, Date.now());
      }
      return parsed;
    } finally {
      if (reusable && !socket.destroyed) this.#park(socket);
      else socket.destroy();
    }
  }
}

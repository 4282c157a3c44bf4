/**
 * The Coordinator's HTTP/1.1 server: its own accept loop (`node:net`, each socket with
 * `TCP_NODELAY`, TLS by `node:tls` for the user and mesh API, plain for probes; see
 * `stream_connection.ts` for why not `Deno.listenTls`), so that every connection is bounded
 * ({@link ConnectionTracker}): the TLS handshake, each request head and keep-alive idleness have
 * deadlines, a request that does not finish in time is answered 408, and the number of open
 * connections is capped in all (further clients wait, unread, in a queue as long as the cap) and
 * per client address (further connections are closed at once), and so is the number busy from
 * the handshake to the end of an answer (further new connections wait in the same queue). `Deno.serve` (2.9.6) offers none
 * of these and hands out no connection to close.
 *
 * Requests are framed strictly (`request_head.ts`), one at a time per connection (pipelined
 * requests wait in the buffer); an answer goes out as one write of head and body, so no part of
 * it waits behind Nagle's algorithm for the client's delayed ACK. Framing errors are answered
 * with their status and `connection: close`; a connection the server ends after an answer
 * lingers (half-closed, discarding, bounded) so that the client reads it (`closeAfterAnswer`).
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { ConnectionReader, ReaderBuffers } from "./connection_reader.ts";
import {
  type ConnectionLimits,
  ConnectionTracker,
  DEFAULT_LINGER,
  type ExpiryReason,
  type RefusalReason,
  type TrackedConnection,
} from "./connection_limits.ts";
import { type ByteConnection, StreamConnection } from "./stream_connection.ts";
import { HttpFramingError, type RequestHead } from "./request_head.ts";
import { BodyBudget } from "./body_budget.ts";

/** One request as the connection layer hands it to an API. */
export interface IncomingRequest {
  /** The method. */
  readonly method: string;
  /** The path (without the query). */
  readonly path: string;
  /** The client's IP address. */
  readonly clientAddress: string;
  /** Aborted when the request's deadline passed and it was answered 408 without the handler. */
  readonly signal: AbortSignal;
  /**
   * Aborted when nobody will read the answer: the connection closed (the client gave up, reset
   * it, or a deadline closed it) or {@link signal} was aborted. A handler checks it before each
   * expensive step (a signature, a verification) and stops there; its answer is dropped.
   * Absent: never aborted.
   */
  readonly gone?: AbortSignal;
  /**
   * The connection's peer, one object per connection (a key for per-connection caches): its
   * client certificate when the server asks for one (`tls.requestCert`), and the connection's
   * channel binding.
   */
  readonly peer: ConnectionPeer;
  /** The body's length as the head declares it (0 without a body; `undefined` when chunked). */
  readonly declaredBodyBytes: number | undefined;
  /**
   * Reads the body (at most `limit` bytes).
   *
   * @throws {PayloadTooLargeError} (from `protocol/errors.ts`) naming `body` beyond `limit`
   * @throws {HttpFramingError} for malformed chunked framing
   */
  body(limit: number): Promise<Uint8Array>;
}

/** The peer of one connection. */
export interface ConnectionPeer {
  /**
   * DER of the client's leaf certificate, unverified (the API verifies it), when the server asks
   * for one and the client sent one.
   */
  readonly certificate?: Uint8Array;
  /**
   * The connection's TLS channel binding (`atls/channel_binding.ts`): read on the first call,
   * once per connection, the same value (not to be modified) or error after.
   *
   * @throws {ChannelBindingError} (`atls/channel_binding.ts`) over plain TCP or TLS other than
   *   1.3
   */
  channelBinding(): Uint8Array;
}

/** An answer to send. */
export interface OutgoingAnswer {
  /** HTTP status. */
  readonly status: number;
  /** Content type of the body. */
  readonly contentType: string;
  /** The body. */
  readonly body: Uint8Array;
  /** More response headers (lower-case names, values without line breaks), e.g. `retry-after`. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The body holds a secret: it is zeroed, with the bytes it was written in, once the
   * connection took them (or when the answer is dropped: timed out, over the answer budget).
   */
  readonly sensitive?: boolean;
}

/** Zeroes a sensitive answer's body and `written` (the bytes it was encoded in), if any. */
function wipeSensitive(answer: OutgoingAnswer, written?: Uint8Array): void {
  if (!answer.sensitive) return;
  answer.body.fill(0);
  written?.fill(0);
}

/** What the connection layer needs of an API. */
export interface ApiHandler {
  /** Answers one request (never throws: errors become answers). */
  handle(request: IncomingRequest): Promise<OutgoingAnswer>;
  /**
   * The answer for a request refused before or instead of `handle` (a framing error, or 408 when
   * its deadline passed); logs and counts it. `request` is absent when no head was read.
   */
  refuse(
    request: Pick<IncomingRequest, "method" | "path"> | undefined,
    status: number,
    error: string,
    field?: string,
  ): OutgoingAnswer;
  /** Counts a connection the layer closed or refused, by reason. */
  connectionClosed(reason: ConnectionCloseReason): void;
}

/** Why the layer closed or refused a connection. */
type ConnectionCloseReason =
  | ExpiryReason
  | RefusalReason
  | "tls_handshake_failed"
  | "framing"
  | "linger_bytes"
  | "queued_peer_closed";

/** A listening server. */
export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting, closes open connections and waits for their loops to end. */
  close(): Promise<void>;
}

/** A listening TLS server whose certificate can be replaced. */
interface RunningTlsServer extends RunningServer {
  /** Serves `certPem` and `keyPem` to connections accepted from now on. */
  setCredentials(credentials: TlsCredentials): void;
}

/** A TLS certificate (chain) and its key, PEM. */
interface TlsCredentials {
  /** The certificate chain. */
  readonly certPem: string;
  /** The private key. */
  readonly keyPem: string;
}

/** Options of {@link serveHttp1}. */
interface Http1ServerOptions {
  /** Port (0 for any free port). */
  readonly port: number;
  /** Address to bind. */
  readonly host: string;
  /**
   * TLS certificate and key (PEM); plain TCP without. With `requestCert` every client is asked for
   * a certificate (not verified here, nor required: handed to the API as
   * {@link IncomingRequest.peer}). TLS 1.3 only unless `allowTls12` (a port whose clients are
   * other parties' TLS stacks, and that binds nothing to the connection).
   */
  readonly tls?: TlsCredentials & {
    readonly requestCert?: boolean;
    readonly allowTls12?: boolean;
  };
  /** Connection bounds. */
  readonly limits: ConnectionLimits;
  /** Longest request head accepted, bytes (431 beyond). */
  readonly maxHeadBytes?: number;
  /**
   * Bytes of request bodies this port holds at once, all connections together (none when
   * absent): a body that would exceed it is refused with 503 naming `body` (`body_budget.ts`).
   */
  readonly bodyBytesInFlight?: number;
  /**
   * Bytes of a declared body (up to `perBody`) that may arrive unread while the handler decides
   * whether to read it, at most `inAll` for all connections together (beyond, a connection gets
   * none; none at all when absent): for an API that authorises a caller asynchronously before
   * reading its body, whose client sends head and body in one burst (the transit API; a 3.9 MiB
   * body had its connection cut off as a flood before the caller was authorised).
   */
  readonly bodyAllowanceBeforeRead?: { readonly perBody: number; readonly inAll: number };
  /**
   * Bytes of answers this port is sending at once, all connections together (none when absent):
   * an answer beyond is replaced by a 503 naming `answer` and the connection closed.
   */
  readonly answerBytesInFlight?: number;
}

/** The byte budgets of one port. */
interface PortBudgets {
  /** Bodies' bytes allowed unread before the handler reads them (see {@link exchange}). */
  readonly beforeRead?: { readonly perBody: number; readonly inAll: BodyBudget };
  /** Request bodies being received. */
  readonly bodies?: BodyBudget;
  /** Answers being sent. */
  readonly answers?: BodyBudget;
}

/** The reason of an answer refused over the port's budget of answers being sent. */
const ANSWERS_REFUSED = "too many answers are being sent: retry later";

/** Default longest request head. */
const DEFAULT_MAX_HEAD_BYTES = 16 * 1024;

/** Reason phrases of the statuses the Coordinator answers. */
const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const ASCII = new TextEncoder();
const CONTINUE = ASCII.encode("HTTP/1.1 100 Continue\r\n\r\n");

/** The `date` header's value, computed at most once a second. */
const httpDate = (() => {
  let second = -1;
  let text = "";
  return (): string => {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      text = new Date(now).toUTCString();
    }
    return text;
  };
})();

/** Head and body of `answer` as one byte array (one allocation: the head is encoded into it). */
function encodeAnswer(answer: OutgoingAnswer, close: boolean, withBody: boolean): Uint8Array {
  let head = `HTTP/1.1 ${answer.status} ${REASONS[answer.status] ?? "Status"}\r\n` +
    `date: ${httpDate()}\r\ncontent-type: ${answer.contentType}\r\n` +
    `cache-control: no-store\r\n` +
    (answer.status === 204 ? "" : `content-length: ${answer.body.length}\r\n`);
  const headers = answer.headers;
  if (headers) { for (const name of Object.keys(headers)) head += `${name}: ${headers[name]}\r\n`; }
  head += close ? "connection: close\r\n\r\n" : "\r\n";
  const body = withBody ? answer.body : undefined;
  // An ASCII head takes one byte per character; anything else is encoded apart.
  const bytes = new Uint8Array(head.length + (body?.length ?? 0));
  const { read, written } = ASCII.encodeInto(head, bytes);
  if (read !== head.length || written !== head.length) {
    const encoded = ASCII.encode(head);
    if (!body || body.length === 0) return encoded;
    const whole = new Uint8Array(encoded.length + body.length);
    whole.set(encoded);
    whole.set(body, encoded.length);
    return whole;
  }
  if (body) bytes.set(body, head.length);
  return bytes;
}

/** Writes all of `bytes`. */
function writeAll(conn: ByteConnection, bytes: Uint8Array): Promise<void> {
  return conn.write(bytes);
}

/** Serves one request read off `reader`; returns whether the connection may carry another. */
async function exchange(
  conn: ByteConnection,
  reader: ConnectionReader,
  head: RequestHead,
  tracked: TrackedConnection,
  handler: ApiHandler,
  budgets: PortBudgets,
  peer: ConnectionPeer,
): Promise<boolean> {
  const budget = budgets.bodies;
  let held = 0;
  const lease: BodyLease = {
    grow: (bytes) => {
      try {
        budget?.take(bytes);
      } catch (error) {
        // Refused: what the body held is given back now, not once its answer is written (other
        // connections' bodies may grow meanwhile).
        lease.drop();
        throw error;
      }
      held += bytes;
    },
    drop: () => {
      budget?.release(held);
      held = 0;
    },
  };
  const before = budgets.beforeRead;
  let allowed = 0;
  try {
    if (before && (head.chunked || head.contentLength !== undefined)) {
      const wanted = Math.min(before.perBody, head.contentLength ?? before.perBody);
      if (before.inAll.tryTake(wanted)) {
        allowed = wanted;
        conn.allowBody(wanted);
      }
    }
    return await answerExchange(conn, reader, head, tracked, handler, lease, budgets.answers, peer);
  } finally {
    // The body is given back once answered (the handler no longer holds it).
    lease.drop();
    before?.inAll.release(allowed);
    conn.allowBody(0);
  }
}

/** The body's share of the port's budget. */
interface BodyLease {
  /** Takes `bytes` more for the body's buffer (throws when the budget does not hold them). */
  grow(bytes: number): void;
  /** Gives back all of it (the body is dropped). */
  drop(): void;
}

/** {@link exchange}, the body's buffer taken from `lease`. */
async function answerExchange(
  conn: ByteConnection,
  reader: ConnectionReader,
  head: RequestHead,
  tracked: TrackedConnection,
  handler: ApiHandler,
  lease: BodyLease,
  answers: BodyBudget | undefined,
  peer: ConnectionPeer,
): Promise<boolean> {
  let bodyState: "unread" | "reading" | "read" = head.contentLength === undefined && !head.chunked
    ? "read"
    : "unread";
  const abandon = new AbortController();
  // `gone` is aborted by the connection's close or by `abandon`, linked by a callback the
  // connection drops once answered (`AbortSignal.any` cost 2.6-4.7 us per request, and its
  // weak references linger in the connection's signal until a GC).
  const gone = new AbortController();
  const unwatch = conn.onClose((reason) => gone.abort(reason));
  let expired!: () => void;
  tracked.enterRequest(() => {
    abandon.abort();
    gone.abort(abandon.signal.reason);
    expired();
  });
  const request: IncomingRequest = {
    method: head.method,
    path: head.path,
    clientAddress: tracked.address,
    signal: abandon.signal,
    gone: gone.signal,
    peer,
    declaredBodyBytes: head.chunked ? undefined : head.contentLength ?? 0,
    body: async (limit) => {
      if (bodyState !== "unread") {
        if (bodyState === "read") return new Uint8Array();
        throw new Error("body read twice");
      }
      bodyState = "reading";
      if (head.expectContinue && (head.contentLength ?? 0) <= limit) {
        await writeAll(conn, CONTINUE);
      }
      conn.allowBody(Math.min(limit, head.contentLength ?? limit));
      try {
        const body = await reader.readBody(head, limit, lease.grow);
        bodyState = "read";
        return body;
      } catch (error) {
        // A body not read whole is dropped at once: its buffer is garbage.
        lease.drop();
        throw error;
      } finally {
        conn.allowBody(0);
      }
    },
  };
  let outcome: OutgoingAnswer | "timeout";
  try {
    outcome = await new Promise<OutgoingAnswer | "timeout">((resolve, reject) => {
      let timedOut = false;
      expired = () => {
        timedOut = true;
        resolve("timeout");
      };
      handler.handle(request).then((late) => {
        // An answer after the deadline is never sent: a secret in it is wiped at once.
        if (timedOut) wipeSensitive(late);
        else resolve(late);
      }, reject);
    });
  } finally {
    unwatch();
  }
  let answer = outcome === "timeout" ? handler.refuse(head, 408, "request timed out") : outcome;
  if (outcome !== "timeout") tracked.enter("answer");
  // An unread or partly read body leaves the stream unframed: the connection ends after this.
  let close = head.close || outcome === "timeout" || bodyState !== "read";
  // Nothing more is read on a connection that ends: what the client still sends is dropped.
  if (close) conn.discardInput();
  let bytes = encodeAnswer(answer, close, head.method !== "HEAD");
  if (answers && !answers.tryTake(bytes.length)) {
    // A client that does not read its answers keeps them in memory until its deadline closes
    // the connection: over the port's budget of answers being sent, a short refusal instead.
    wipeSensitive(answer, bytes);
    answer = handler.refuse(head, 503, ANSWERS_REFUSED, "answer");
    close = true;
    conn.discardInput();
    bytes = encodeAnswer(answer, close, head.method !== "HEAD");
    await writeAll(conn, bytes);
    return false;
  }
  try {
    await writeAll(conn, bytes);
  } finally {
    answers?.release(bytes.length);
    wipeSensitive(answer, bytes);
  }
  return !close;
}

/** Answers a framing error (best effort) before the connection is closed. */
async function refuseFraming(
  conn: ByteConnection,
  tracked: TrackedConnection,
  handler: ApiHandler,
  error: HttpFramingError,
): Promise<void> {
  handler.connectionClosed("framing");
  tracked.enter("answer");
  const answer = handler.refuse(undefined, error.status, error.reason, error.field);
  conn.discardInput();
  await writeAll(conn, encodeAnswer(answer, true, true)).catch(() => {});
}

/**
 * Closes a connection whose last answer was written and that the server ends (an error answer,
 * 408, `connection: close`) as HTTP servers do (nginx's lingering close, Go's `closeWriteAndWait`).
 * Closed at once, its kernel answers the client's further bytes (a body it is still uploading, a
 * head beyond the limit) with a reset: the client's writes fail, and a client that gives up at a
 * failed write (Deno's `node:tls` socket, Node's HTTP client) never reads the answer (measured on
 * loopback: a TLS client
 * uploading 12 MiB regardless of the 413 lost it in 12 of 12 concurrent test runs; curl in 2 of
 * 30). So the server half-closes (`close_notify`, then FIN, after the answer) and discards what
 * arrives (never held) until the client ends its side, at most the linger time (the `linger`
 * phase's deadline, swept like every other; the connection keeps its place in both connection
 * caps meanwhile) and bytes (`ConnectionLimits.lingerMaxBytes`, counted from when the server
 * decided to end the connection, what it had received unread included).
 */
async function closeAfterAnswer(
  conn: ByteConnection,
  tracked: TrackedConnection,
  handler: ApiHandler,
): Promise<void> {
  if (tracked.closed) return;
  tracked.enter("linger");
  if (await conn.closeLingering() === "bytes") handler.connectionClosed("linger_bytes");
}

/**
 * Whether the client of `raw`, a connection that waited (paused, unread) in the queue, closed it
 * meanwhile: a paused socket does not notice the client's FIN or reset, and a client that gave up
 * waiting (sent its ClientHello, then closed) would still cost a TLS handshake (the server's key
 * share and signature) once its turn came. So before the handshake what the client sent is read
 * and put back (`unshift`: the TLS socket reads it as if never taken), and a connection whose end
 * or reset arrives right behind it is dropped. The end is read within one turn of the event loop
 * after the data (Deno 2.9.6, loopback: ~0.2 ms after it, before a `setImmediate` queued at the
 * data), so an honest client's handshake starts about that much later; a client that has sent
 * nothing yet is not waited for (`setTimeout` 0). Best effort: an end that arrives later is
 * noticed by the handshake, as before.
 */
function peerClosedWhileQueued(raw: net.Socket): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const chunks: Uint8Array[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(nothingYet);
      raw.off("data", onData);
      raw.off("end", onEnd);
      raw.off("close", onEnd);
      if (!closed) {
        raw.pause();
        for (let i = chunks.length - 1; i >= 0; i--) raw.unshift(chunks[i]!);
      }
      resolve(closed);
    };
    const onData = (chunk: Uint8Array) => {
      chunks.push(chunk);
      if (chunks.length === 1) {
        clearTimeout(nothingYet);
        setImmediate(() => finish(false));
      }
    };
    const onEnd = () => finish(true);
    raw.on("data", onData);
    raw.once("end", onEnd);
    raw.once("close", onEnd);
    const nothingYet = setTimeout(() => finish(false), 0);
    if (raw.destroyed) return finish(true);
    raw.resume();
  });
}

/** Serves requests on one accepted connection until it ends. */
async function serveConnection(
  conn: ByteConnection,
  tracked: TrackedConnection,
  handler: ApiHandler,
  maxHeadBytes: number,
  budgets: PortBudgets,
  readerBuffers: ReaderBuffers,
): Promise<void> {
  let reader: ConnectionReader | undefined;
  try {
    try {
      await conn.handshake();
    } catch {
      if (tracked.phase === "handshake" && !tracked.closed) {
        handler.connectionClosed("tls_handshake_failed");
      }
      return;
    }
    tracked.enter("head");
    const certificate = conn.peerCertificate();
    const channelBinding = () => conn.channelBinding();
    const peer: ConnectionPeer = certificate ? { certificate, channelBinding } : { channelBinding };
    reader = new ConnectionReader(conn, readerBuffers);
    for (;;) {
      let head: RequestHead | undefined;
      try {
        head = await reader.readHead(maxHeadBytes, () => {
          if (tracked.phase === "idle") tracked.enter("head");
        });
      } catch (error) {
        if (error instanceof HttpFramingError) await refuseFraming(conn, tracked, handler, error);
        return;
      }
      if (head === undefined) return;
      let again: boolean;
      try {
        again = await exchange(conn, reader, head, tracked, handler, budgets, peer);
      } catch (error) {
        // A framing error inside the body (chunked) is answered; anything else (the connection
        // closed by its deadline or the peer) just ends it.
        if (error instanceof HttpFramingError) await refuseFraming(conn, tracked, handler, error);
        return;
      }
      if (!again) return;
      tracked.enter(reader.hasBuffered ? "head" : "idle");
    }
  } catch {
    // The peer went away or a deadline closed the connection.
  } finally {
    // A connection that ends after an answer (its input discarded since) lingers first.
    if (conn.discarding) await closeAfterAnswer(conn, tracked, handler);
    tracked.close();
    conn.close();
    // Closed, the connection writes into no buffer any more: its reader's goes back for reuse.
    reader?.release();
  }
}

/**
 * Serves `handler` on `options.port` over TLS (with `options.tls`) or plain TCP, with the
 * connection bounds of `options.limits`.
 */
export async function serveHttp1(
  options: Http1ServerOptions,
  handler: ApiHandler,
): Promise<RunningTlsServer> {
  // TLS 1.3 only by default: the Coordinator's own clients speak it (the pinned client connects
  // with nothing older), and a mesh request's channel binding is unique only there
  // (`atls/channel_binding.ts`, which also refuses anything older per request).
  const minVersion = options.tls?.allowTls12 === true ? "TLSv1.2" : "TLSv1.3";
  const secureContext = (credentials: TlsCredentials) =>
    tls.createSecureContext({ cert: credentials.certPem, key: credentials.keyPem, minVersion });
  let context = options.tls ? secureContext(options.tls) : undefined;
  const requestCert = options.tls?.requestCert === true;
  const maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
  const lingerMaxBytes = options.limits.lingerMaxBytes ?? DEFAULT_LINGER.lingerMaxBytes;
  const budgets: PortBudgets = {
    ...(options.bodyAllowanceBeforeRead
      ? {
        beforeRead: {
          perBody: options.bodyAllowanceBeforeRead.perBody,
          inAll: new BodyBudget(options.bodyAllowanceBeforeRead.inAll),
        },
      }
      : {}),
    bodies: options.bodyBytesInFlight === undefined
      ? undefined
      : new BodyBudget(options.bodyBytesInFlight),
    answers: options.answerBytesInFlight === undefined
      ? undefined
      : new BodyBudget(options.answerBytesInFlight, "answer", "answers"),
  };
  const readerBuffers = new ReaderBuffers();
  const tracker = new ConnectionTracker(
    options.limits,
    (reason) => handler.connectionClosed(reason),
  );
  const running = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const tracked = work.finally(() => running.delete(tracked));
    running.add(tracked);
  };
  const start = (raw: net.Socket, queued: () => boolean) => (tracked: TrackedConnection) => {
    if (!queued()) return serve(raw, tracked);
    track((async () => {
      if (await peerClosedWhileQueued(raw)) {
        if (!tracked.closed) handler.connectionClosed("queued_peer_closed");
        tracked.close();
        return;
      }
      if (tracked.closed) return;
      serve(raw, tracked);
    })());
  };
  const serve = (raw: net.Socket, tracked: TrackedConnection) => {
    const socket = context
      ? new tls.TLSSocket(raw, {
        isServer: true,
        secureContext: context,
        // Asked for, not required or verified here: the API decides what a certificate is worth.
        ...(requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
      })
      : raw;
    const conn = new StreamConnection(socket, raw, lingerMaxBytes);
    track(serveConnection(conn, tracked, handler, maxHeadBytes, budgets, readerBuffers));
  };
  // Sockets start paused: a queued connection is not read until it gets a slot.
  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    raw.on("error", () => {});
    raw.setNoDelay(true);
    // Started at once (in `admit`), or later after waiting in the queue.
    let admitting = true;
    const admitted = tracker.admit(
      raw.remoteAddress ?? "",
      () => raw.destroy(),
      start(raw, () => !admitting),
    );
    admitting = false;
    if (typeof admitted === "string") {
      handler.connectionClosed(admitted);
      raw.destroy();
      return;
    }
    raw.once("close", () => tracker.release(admitted));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as net.AddressInfo).port,
    setCredentials: (credentials) => {
      if (!context) throw new Error("a plain TCP server has no TLS credentials");
      context = secureContext(credentials);
    },
    close: () =>
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        tracker.close();
        await Promise.all([...running]);
        await closed;
      })(),
  };
}

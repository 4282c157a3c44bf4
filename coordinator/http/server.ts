/**
 * The Coordinator's HTTP plumbing: a JSON router with body-size limits, request timeouts,
 * typed error answers, latency metrics and access logs, served by `Deno.serve` over TLS (user and
 * mesh API) or plain HTTP (probes and metrics).
 *
 * `Deno.serve` parses HTTP in Rust; the `node:https` compatibility layer it replaced spent about
 * a millisecond of CPU per mesh exchange (handshake plus two requests) in JavaScript stream and
 * parser code, as much as a quarter of what an attestation costs in all (measured with
 * `scripts/load_test.ts`). Neither API asks for client certificates (the transit API, which does,
 * keeps `node:https`: `Deno.serve` cannot request them).
 *
 * Slow and idle clients: the request timeout (408) is enforced here, around reading the body and
 * handling it; a 408 answers `connection: close` and cancels the body read when the body is
 * chunked or declared longer than 64 KB (shorter ones finish collecting). Connections on which
 * no complete request head arrives are not bounded by this module: `Deno.serve` (2.9.6) calls the
 * handler only once a request head is complete and offers no header, handshake or idle timeout,
 * no connection count and no handle on a connection (measured: a TCP connection that sends
 * nothing, a TLS connection that sends nothing or half a head, one whose body stops after the
 * 408, and one idle after an answer all stayed open for 75 s). Serving HTTP on connections this
 * module accepts itself needs `Deno.serveHttp` (deprecated, no longer in Deno's types) or an
 * internal symbol, so the remaining bounds are the process's file-descriptor limit and memory
 * (~33 KB per connection holding half a head, measured over 1,000). The `node:https` layer this
 * replaced did not enforce its `headersTimeout`/`keepAliveTimeout` either (70 s against 3 s).
 *
 * @module
 */
import type http from "node:http";
import { concatBytes } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import type { Logger } from "../../util/log/logger.ts";
import { checkJsonShape, type JsonShapeLimits, parseJsonText } from "../../util/json/mod.ts";
import type { CoordinatorMetrics } from "./metrics.ts";
import { errorAnswer } from "./errors.ts";
import { NotFoundError, PayloadTooLargeError } from "../../protocol/errors.ts";

/** One request as a handler sees it. */
interface ApiRequest {
  /** The parsed JSON body (`undefined` for an empty body). */
  readonly body: unknown;
  /** The client's IP address, as the connection reports it. */
  readonly clientAddress?: string;
}

/** A handler's answer: JSON body (or plain text for metrics) and status. */
interface ApiAnswer {
  /** HTTP status (default 200). */
  readonly status?: number;
  /** JSON-serialisable body, or a string sent as `text/plain`. */
  readonly body: unknown;
}

/** A route: method, exact path and handler. */
export interface Route {
  /** HTTP method. */
  readonly method: "GET" | "POST";
  /** Exact path, e.g. `/attest`. */
  readonly path: string;
  /** Handles one request; throws typed errors for refusals. */
  handle(request: ApiRequest): Promise<ApiAnswer> | ApiAnswer;
}

/** Limits applied to every request. */
interface RequestLimits {
  /** Largest accepted body in bytes. */
  readonly maxBodyBytes: number;
  /** Time allowed for receiving and answering a whole request, in milliseconds. */
  readonly requestTimeoutMs: number;
  /**
   * Bounds on a JSON body's object keys and nesting, checked by a linear scan before parsing
   * (none when absent).
   */
  readonly jsonShape?: JsonShapeLimits;
}

/** Options of {@link createRequestHandler}. */
interface HandlerOptions {
  /** Name of the API, for logs and metrics (`user`, `mesh`, `probe`). */
  readonly api: string;
  /** Routes served. */
  readonly routes: readonly Route[];
  /** Limits. */
  readonly limits: RequestLimits;
  /** Access and error log. */
  readonly logger: Logger;
  /** Latency and failure metrics. */
  readonly metrics: CoordinatorMetrics;
}

/** A request handler for `Deno.serve`. */
type ApiHandler = (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;

/**
 * Reads a `node:http` request body of at most `limit` bytes (413 beyond); for the transit API,
 * which stays on `node:https` for client certificates.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (Number.isFinite(declared) && declared > limit) {
      reject(new PayloadTooLargeError("body", `larger than ${limit} bytes`));
      return;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > limit) {
        reject(new PayloadTooLargeError("body", `larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      const all = new Uint8Array(size);
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.length;
      }
      resolve(all);
    });
    req.on("error", reject);
  });
}

const UTF8 = new TextEncoder();

/**
 * Answers up to this many bytes go out as a byte array; longer ones as a one-chunk stream. With
 * a byte-array body of about 450 bytes or more, `Deno.serve` (2.9) over TLS writes head and body
 * separately without TCP_NODELAY, and the body waits for the client's delayed ACK of the head:
 * ~40 ms on Linux per answer (measured on loopback: 43-54 ms at 450 bytes and above, under 1 ms
 * at 400 and below, 1-3 ms as a stream). A stream body is sent chunked and costs ~0.1 ms more CPU
 * per exchange than bytes (a Blob ~0.25 ms), so short answers (a challenge) stay byte arrays.
 */
const LONGEST_BYTES_ANSWER = 256;

/** The response for `status` and `body` (JSON, or plain text for a string). */
function respond(status: number, body: unknown, close = false): Response {
  const text = typeof body === "string";
  const bytes = UTF8.encode(text ? body : JSON.stringify(body));
  return new Response(
    bytes.length <= LONGEST_BYTES_ANSWER ? bytes : new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    }),
    {
      status,
      headers: {
        "content-type": text ? "text/plain; version=0.0.4; charset=utf-8" : "application/json",
        "cache-control": "no-store",
        ...(close ? { connection: "close" } : {}),
      },
    },
  );
}

/**
 * Declared body lengths up to this are read with one uncancellable `request.bytes()` (see
 * {@link readRequestBody}); a mesh request with (simulated) SNP evidence and its certificate
 * chain is ~8 KB.
 */
const SHORT_BODY_BYTES = 64 * 1024;

/**
 * Reads a request body of at most `limit` bytes.
 *
 * @throws {PayloadTooLargeError} naming `body` when the declared or received length is larger
 */
async function readRequestBody(
  request: Request,
  limit: number,
  abandoned: AbortSignal,
): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const declared = length === null ? Number.NaN : Number(length);
  if (Number.isFinite(declared) && declared > limit) {
    throw new PayloadTooLargeError("body", `larger than ${limit} bytes`);
  }
  if (request.body === null) return new Uint8Array();
  // A short body with a Content-Length is read in one call (no stream chunks through JavaScript:
  // reading every mesh request through a reader cost ~10 % more Coordinator CPU per attestation
  // in the load test). `request.bytes()` locks the stream and cannot be cancelled, so after a 408
  // it goes on collecting up to the declared length: here at most SHORT_BODY_BYTES, the order of
  // what any open connection costs (~33 KB measured). Longer declared bodies and chunked ones go through a
  // reader, counted as they come and cancelled on a timeout.
  if (declared <= SHORT_BODY_BYTES) return await request.bytes();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  abandoned.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) throw new PayloadTooLargeError("body", `larger than ${limit} bytes`);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
}

/** The JSON value of `raw` (`undefined` when empty), shape-checked, strict UTF-8, no duplicates. */
function parseBody(raw: Uint8Array, shape: JsonShapeLimits | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (shape) checkJsonShape(raw, shape, "body");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (cause) {
    throw new ParseError("body", "not valid UTF-8 JSON", { cause });
  }
  // Duplicate keys are refused too: `manifest` twice in a request would be read one way here
  // and another way by whoever checks the request.
  return parseJsonText(text, "body");
}

/** A `Deno.serve` handler serving `routes` as JSON with limits, errors and metrics. */
export function createRequestHandler(options: HandlerOptions): ApiHandler {
  const { api, routes, limits, logger, metrics } = options;
  return async (request, info) => {
    const started = performance.now();
    const url = request.url;
    // The path: from the first "/" after the scheme's "//" up to "?" (no URL object per request).
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const query = url.indexOf("?", pathStart);
    const path = pathStart < 0 ? "/" : url.slice(pathStart, query < 0 ? undefined : query);
    const route = routes.find((r) => r.path === path && r.method === request.method);
    const routeName = route ? route.path : "unknown";
    const answer = async (): Promise<{ status: number; body: unknown; reason?: string }> => {
      try {
        if (!route) throw new NotFoundError("path", `no ${request.method} ${path}`);
        const raw = await readRequestBody(request, limits.maxBodyBytes, abandon.signal);
        const body = parseBody(raw, limits.jsonShape);
        const remote = info.remoteAddr as Deno.NetAddr;
        const result = await route.handle({
          body,
          ...(remote.hostname ? { clientAddress: remote.hostname } : {}),
        });
        return { status: result.status ?? 200, body: result.body };
      } catch (error) {
        // After a timeout the abandoned read fails too; that was answered (408) already.
        if (abandon.signal.aborted) return { status: 408, body: { error: "request timed out" } };
        const { status, body } = errorAnswer(error);
        if (status === 500) {
          logger.error("unexpected error", {
            path,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
        }
        return { status, body, reason: body.field ? `${body.field}: ${body.error}` : body.error };
      }
    };
    // A timed-out request is answered 408 and logged once; the body read it abandons is
    // cancelled, and whatever the handler still does is not answered.
    const abandon = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<{ status: number; body: unknown; reason?: string }>((resolve) => {
      timer = setTimeout(() => {
        abandon.abort();
        resolve({ status: 408, body: { error: "request timed out" }, reason: "request timed out" });
      }, limits.requestTimeoutMs);
    });
    const { status, body, reason } = await Promise.race([answer(), timeout]);
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    metrics.requestSeconds.observe(seconds, { api, route: routeName, status: String(status) });
    if (status >= 400) metrics.failures.inc({ api, route: routeName, status: String(status) });
    if (api !== "probe" || status >= 400) {
      logger[status >= 500 ? "error" : status >= 400 ? "warn" : "info"]("request", {
        api,
        method: request.method,
        path,
        status,
        ms: Math.round(seconds * 1000),
        reason,
      });
    }
    return respond(status, body, abandon.signal.aborted);
  };
}

/** A listening server. */
export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

/** Options of {@link listenHttps}. */
interface HttpsListenOptions {
  /** Port (0 for any free port). */
  readonly port: number;
  /** Address to bind. */
  readonly host: string;
  /** PEM of the TLS certificate. */
  readonly certPem: string;
  /** PEM of the TLS private key. */
  readonly keyPem: string;
}

function serve(
  options: Deno.ServeTcpOptions | (Deno.ServeTcpOptions & Deno.TlsCertifiedKeyPem),
  handler: ApiHandler,
): Promise<RunningServer> {
  const abort = new AbortController();
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        ...options,
        signal: abort.signal,
        onListen: (addr) => {
          resolve({
            port: addr.port,
            close: async () => {
              abort.abort();
              await server.finished;
            },
          });
        },
        // Handlers answer every error themselves; this only sees failures of the plumbing.
        onError: () => respond(500, { error: "internal error" }),
      }, handler);
    } catch (error) {
      reject(error);
    }
  });
}

/** Serves `handler` over HTTPS. */
export function listenHttps(
  options: HttpsListenOptions,
  handler: ApiHandler,
): Promise<RunningServer> {
  return serve({
    port: options.port,
    hostname: options.host,
    cert: options.certPem,
    key: options.keyPem,
  }, handler);
}

/** Serves `handler` over plain HTTP (probes and metrics only). */
export function listenHttp(
  options: { port: number; host: string },
  handler: ApiHandler,
): Promise<RunningServer> {
  return serve({ port: options.port, hostname: options.host }, handler);
}

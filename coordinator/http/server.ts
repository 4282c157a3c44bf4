/**
 * The Coordinator's HTTP plumbing: a JSON router with body-size limits, request timeouts,
 * typed error answers, latency metrics and access logs, served over `node:https` (user and mesh
 * API) or plain `node:http` (probes and metrics).
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
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
  /** DER of the client's TLS certificate, when it presented one. */
  readonly clientCertificate?: Uint8Array;
  /** The client's IP address, as the socket reports it. */
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
  /** Time allowed for receiving a whole request, in milliseconds. */
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

/** Reads a request body of at most `limit` bytes (413 beyond). */
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

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = UTF8.encode(typeof body === "string" ? body : JSON.stringify(body));
  res.writeHead(status, {
    "content-type": typeof body === "string"
      ? "text/plain; version=0.0.4; charset=utf-8"
      : "application/json",
    "content-length": String(bytes.length),
    "cache-control": "no-store",
  });
  res.end(bytes);
}

/** A `node:http` request listener serving `routes` as JSON with limits, errors and metrics. */
export function createRequestHandler(
  options: HandlerOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { api, routes, limits, logger, metrics } = options;
  return (req, res) => {
    const started = performance.now();
    const path = (req.url ?? "/").split("?")[0]!;
    const route = routes.find((r) => r.path === path && r.method === req.method);
    const routeName = route ? route.path : "unknown";
    // A timed-out request is answered 408 and logged once; the read it aborts then fails, and
    // that failure is expected, not an internal error.
    let finished = false;
    const timer = setTimeout(() => {
      finish(408, { error: "request timed out" }, "request timed out");
      req.destroy();
    }, limits.requestTimeoutMs);
    const finish = (status: number, body: unknown, reason?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      send(res, status, body);
      const seconds = (performance.now() - started) / 1000;
      metrics.requestSeconds.observe(seconds, { api, route: routeName, status: String(status) });
      if (status >= 400) metrics.failures.inc({ api, route: routeName, status: String(status) });
      if (api !== "probe" || status >= 400) {
        logger[status >= 500 ? "error" : status >= 400 ? "warn" : "info"]("request", {
          api,
          method: req.method,
          path,
          status,
          ms: Math.round(seconds * 1000),
          reason,
        });
      }
    };
    (async () => {
      if (!route) throw new NotFoundError("path", `no ${req.method} ${path}`);
      const raw = await readBody(req, limits.maxBodyBytes);
      let body: unknown = undefined;
      if (raw.length > 0) {
        if (limits.jsonShape) checkJsonShape(raw, limits.jsonShape, "body");
        let text: string;
        try {
          text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
        } catch (cause) {
          throw new ParseError("body", "not valid UTF-8 JSON", { cause });
        }
        // Duplicate keys are refused too: `manifest` twice in a request would be read one way
        // here and another way by whoever checks the request.
        body = parseJsonText(text, "body");
      }
      const socket = req.socket as TLSSocket;
      const peer = typeof socket.getPeerCertificate === "function"
        ? socket.getPeerCertificate(true)
        : undefined;
      const answer = await route.handle({
        body,
        ...(req.socket.remoteAddress ? { clientAddress: req.socket.remoteAddress } : {}),
        ...(peer?.raw ? { clientCertificate: new Uint8Array(peer.raw) } : {}),
      });
      finish(answer.status ?? 200, answer.body);
    })().catch((error: unknown) => {
      if (finished) return;
      const { status, body } = errorAnswer(error);
      if (status === 500) {
        logger.error("unexpected error", {
          path,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
      finish(status, body, body.field ? `${body.field}: ${body.error}` : body.error);
    });
  };
}

/** A listening server. */
export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

function listen(server: http.Server | https.Server, port: number, host: string) {
  return new Promise<RunningServer>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as http.Server).closeAllConnections?.();
          }),
      });
    });
  });
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
  /** Whether to ask clients for a certificate (accepted unverified; handlers decide). */
  readonly requestCert?: boolean;
  /** Time allowed for headers, in milliseconds. */
  readonly headersTimeoutMs?: number;
}

/** Serves `handler` over HTTPS. */
export function listenHttps(
  options: HttpsListenOptions,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<RunningServer> {
  const server = https.createServer({
    cert: options.certPem,
    key: options.keyPem,
    requestCert: options.requestCert ?? false,
    rejectUnauthorized: false,
  }, handler);
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  return listen(server, options.port, options.host);
}

/** Serves `handler` over plain HTTP (probes and metrics only). */
export function listenHttp(
  options: { port: number; host: string },
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<RunningServer> {
  const server = http.createServer(handler);
  server.headersTimeout = 10_000;
  return listen(server, options.port, options.host);
}

/**
 * The Coordinator's HTTP plumbing: a JSON router with body-size limits, typed error answers,
 * latency metrics and access logs, served by the Coordinator's own HTTP/1.1 connection layer
 * (`http1_server.ts`) over TLS (user and mesh API) or plain TCP (probes and metrics).
 *
 * Slow and idle clients are bounded by that layer (`connection_limits.ts`): a TLS handshake, a
 * request head and keep-alive idleness each have a deadline after which the connection is
 * closed, a request whose body and answer do not finish in time is answered 408 with
 * `connection: close`, and open connections are capped in all and per client address. It
 * replaced `Deno.serve`, which (2.9.6) has none of these bounds, hands out no connection and
 * never sets `TCP_NODELAY` (its answers were split into writes that waited for the client's
 * delayed ACK); the `node:https` layer before it did not enforce its `headersTimeout` and
 * `keepAliveTimeout` either. The transit API (`transit/server.ts`) is served by the same layer, asking for client
 * certificates.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { Logger } from "../../util/log/logger.ts";
import { checkJsonTextShape, type JsonShapeLimits, parseJsonText } from "../../util/json/mod.ts";
import type { CoordinatorMetrics } from "./metrics.ts";
import { errorAnswer, refusalHeaders } from "./errors.ts";
import { EncodedJson } from "./encoded_json.ts";
import { NotFoundError } from "../../protocol/errors.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
import type { RequestBudget } from "./request_budget.ts";
import {
  type ApiHandler,
  type IncomingRequest,
  type OutgoingAnswer,
  type RunningServer,
  serveHttp1,
} from "./http1_server.ts";

export type { RunningServer } from "./http1_server.ts";

/** One request as a handler sees it. */
interface ApiRequest {
  /** The parsed JSON body (`undefined` for an empty body). */
  readonly body: unknown;
  /** The client's IP address, as the connection reports it. */
  readonly clientAddress?: string;
  /**
   * Aborted when nobody will read the answer (the connection closed, or the request was answered
   * 408): a handler checks it (`throwIfAborted`) before each expensive step. Absent: never.
   */
  readonly signal?: AbortSignal;
  /**
   * The TLS channel binding of the connection the request arrived on (`atls/channel_binding.ts`;
   * read once per connection, on the first call).
   *
   * @throws {ChannelBindingError} (`atls/channel_binding.ts`) when the connection has none (plain
   *   TCP, TLS other than 1.3)
   */
  channelBinding(): Uint8Array;
}

/** A handler's answer: JSON body (or plain text for metrics) and status. */
interface ApiAnswer {
  /** HTTP status (default 200). */
  readonly status?: number;
  /**
   * JSON-serialisable body, a serialised one ({@link EncodedJson}), or a string sent as
   * `text/plain`.
   */
  readonly body: unknown;
}

/** A route: method, exact path and handler. */
export interface Route {
  /** HTTP method. */
  readonly method: "GET" | "POST";
  /** Exact path, e.g. `/attest`. */
  readonly path: string;
  /**
   * Whether each request costs a token of its client's {@link HandlerOptions.requestBudget}
   * (requests that make the Coordinator sign or check signatures before anyone is authenticated).
   */
  readonly budgeted?: boolean;
  /** Handles one request; throws typed errors for refusals. */
  handle(request: ApiRequest): Promise<ApiAnswer> | ApiAnswer;
}

/** Limits applied to every request. */
interface RequestLimits {
  /** Largest accepted body in bytes. */
  readonly maxBodyBytes: number;
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
  /**
   * The per-client budget that {@link Route.budgeted} routes are charged to, by client address,
   * before their body is read (none when absent).
   */
  readonly requestBudget?: RequestBudget;
}

const UTF8 = new TextEncoder();

/**
 * The status recorded (metrics and access log; never sent) for a request whose connection closed
 * before its answer: nginx's 499 "client closed request".
 */
const GONE_STATUS = 499;

/** The reason logged for {@link GONE_STATUS}. */
const GONE_REASON = "the client closed the connection before the answer";

/**
 * The answer for `status` and `body` (JSON, an {@link EncodedJson} as it is, or plain text for a
 * string).
 */
function encodeBody(
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): OutgoingAnswer {
  if (body instanceof EncodedJson) {
    return {
      status,
      ...(headers ? { headers } : {}),
      contentType: "application/json",
      body: body.bytes,
      ...(body.sensitive ? { sensitive: true } : {}),
    };
  }
  const text = typeof body === "string";
  return {
    status,
    ...(headers ? { headers } : {}),
    contentType: text ? "text/plain; version=0.0.4; charset=utf-8" : "application/json",
    body: UTF8.encode(text ? body : JSON.stringify(body)),
  };
}

/** Strict UTF-8 (no replacement characters); one decoder for every body (nothing streams). */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON value of `raw` (`undefined` when empty): strict UTF-8, shape-checked, no duplicate
 * keys. The shape is checked on the decoded text, before parsing: decoding is one linear pass
 * over at most the body limit, and the text is needed for parsing anyway.
 */
function parseBody(raw: Uint8Array, shape: JsonShapeLimits | undefined): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = STRICT_UTF8.decode(raw);
  } catch (cause) {
    throw new ParseError("body", "not valid UTF-8 JSON", { cause });
  }
  if (shape) checkJsonTextShape(text, shape, "body");
  // Duplicate keys are refused too: `manifest` twice in a request would be read one way here
  // and another way by whoever checks the request.
  return parseJsonText(text, "body");
}

/** A status and JSON body, with the reason logged for refusals. */
interface Outcome {
  readonly status: number;
  readonly body: unknown;
  readonly reason?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An API handler serving `routes` as JSON with limits, errors, metrics and access logs. */
export function createRequestHandler(options: HandlerOptions): ApiHandler {
  const { api, routes, limits, logger, metrics, requestBudget } = options;
  const record = (
    method: string,
    path: string,
    route: string,
    outcome: Outcome,
    started: number,
  ) => {
    const seconds = (performance.now() - started) / 1000;
    const status = outcome.status;
    metrics.requestSeconds.observe(seconds, { api, route, status: String(status) });
    if (status >= 400) metrics.failures.inc({ api, route, status: String(status) });
    if (api !== "probe" || status >= 400) {
      logger[status >= 500 ? "error" : status >= 400 ? "warn" : "info"]("request", {
        api,
        method,
        path,
        status,
        ms: Math.round(seconds * 1000),
        reason: outcome.reason,
      });
    }
  };
  const answer = async (request: IncomingRequest, route: Route | undefined): Promise<Outcome> => {
    try {
      if (!route) throw new NotFoundError("path", `no ${request.method} ${request.path}`);
      if (route.budgeted) requestBudget?.charge(request.clientAddress ?? "", route.path);
      const body = parseBody(await request.body(limits.maxBodyBytes), limits.jsonShape);
      const gone = request.gone;
      gone?.throwIfAborted();
      const result = await route.handle({
        body,
        clientAddress: request.clientAddress,
        channelBinding: request.peer.channelBinding,
        ...(gone ? { signal: gone } : {}),
      });
      return { status: result.status ?? 200, body: result.body };
    } catch (error) {
      if (request.gone?.aborted && !request.signal.aborted) {
        // The client went away: nothing is answered, the rest of the work was skipped.
        return { status: GONE_STATUS, body: { error: GONE_REASON }, reason: GONE_REASON };
      }
      const { status, body, headers } = errorAnswer(error);
      if (status === 500 && !request.signal.aborted) {
        logger.error("unexpected error", {
          path: request.path,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
      return {
        status,
        body,
        reason: body.field ? `${body.field}: ${body.error}` : body.error,
        ...(headers ? { headers } : {}),
      };
    }
  };
  return {
    handle: async (request) => {
      const started = performance.now();
      const route = routes.find((r) => r.path === request.path && r.method === request.method);
      const outcome = await answer(request, route);
      // After a 408 (answered by the connection layer, logged there) nothing more is recorded.
      if (request.signal.aborted) return encodeBody(outcome.status, outcome.body);
      record(request.method, request.path, route ? route.path : "unknown", outcome, started);
      return encodeBody(outcome.status, outcome.body, outcome.headers);
    },
    refuse: (request, status, error, field) => {
      const route = request && routes.find((r) => r.path === request.path);
      const body = { error, ...(field ? { field } : {}) };
      record(
        request?.method ?? "-",
        request?.path ?? "-",
        route ? route.path : "unknown",
        { status, body, reason: field ? `${field}: ${error}` : error },
        performance.now(),
      );
      return encodeBody(status, body, refusalHeaders(status));
    },
    connectionClosed: (reason) => metrics.connectionsClosed.inc({ api, reason }),
  };
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
  /** Connection bounds. */
  readonly limits: ConnectionLimits;
  /** Bytes of request bodies held at once on this port (none when absent; see `body_budget.ts`). */
  readonly bodyBytesInFlight?: number;
  /** Bytes of answers being sent at once on this port (none when absent). */
  readonly answerBytesInFlight?: number;
}

/** Serves `handler` over HTTPS (HTTP/1.1). */
export function listenHttps(
  options: HttpsListenOptions,
  handler: ApiHandler,
): Promise<RunningServer> {
  return serveHttp1({
    port: options.port,
    host: options.host,
    tls: { certPem: options.certPem, keyPem: options.keyPem },
    limits: options.limits,
    ...(options.bodyBytesInFlight !== undefined
      ? { bodyBytesInFlight: options.bodyBytesInFlight }
      : {}),
    ...(options.answerBytesInFlight !== undefined
      ? { answerBytesInFlight: options.answerBytesInFlight }
      : {}),
  }, handler);
}

/** Serves `handler` over plain HTTP/1.1 (probes and metrics only). */
export function listenHttp(
  options: { port: number; host: string; limits: ConnectionLimits },
  handler: ApiHandler,
): Promise<RunningServer> {
  return serveHttp1(
    { port: options.port, host: options.host, limits: options.limits },
    handler,
  );
}

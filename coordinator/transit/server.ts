/**
 * The transit KMS server: HTTPS on its own port (8200 by default, like OpenBao/Vault), asking
 * every client for a certificate (`node:https`; `Deno.serve` cannot). Its server certificate is
 * issued by the current mesh CA to the Coordinator itself (SANs from `--transit-san`), so pods
 * verify it with the `mesh-ca.pem` (or root CA) the initializer gave them; it is re-issued after
 * every manifest update or recovery. Until a manifest is active the Coordinator's attested TLS
 * certificate is served and every request gets 503.
 *
 * @module
 */
import https from "node:https";
import type http from "node:http";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { ParseError } from "../../util/errors/mod.ts";
import { checkJsonShape } from "../../util/json/shape.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import type { Logger } from "../../util/log/logger.ts";
import { classifySan, type SubjectAltName } from "../../manifest/sans.ts";
import { readBody } from "../http/server.ts";
import { BodyBudget } from "../http/body_budget.ts";
import type { ConnectionLimits } from "../http/connection_limits.ts";
import { boundNodeHttpsServer, handshakeOptions } from "../http/node_server_bounds.ts";
import type { CoordinatorMetrics } from "../http/metrics.ts";
import { authorizeTransitClient, type TransitClient } from "./authorize.ts";
import { handleTransitRequest, transitErrorAnswer, type TransitHttpAnswer } from "./handler.ts";
import { TransitKeyRings } from "./key_rings.ts";
import { routeTransit } from "./routes.ts";
import type { TransitView } from "./view.ts";

/** Default port of the transit API. */
export const DEFAULT_TRANSIT_PORT = 8200;

/** Default SANs of the transit server certificate (the Coordinator's Service name first). */
export const DEFAULT_TRANSIT_SANS: readonly string[] = ["coordinator", "localhost", "127.0.0.1"];

/**
 * Parses the SANs of the transit server certificate.
 *
 * @throws {ParseError} naming `transit-san` for a value that is no IP address or DNS name
 */
export function parseTransitSans(values: readonly string[]): SubjectAltName[] {
  if (values.length === 0) throw new ParseError("transit-san", "at least one SAN is required");
  return values.map((value) => {
    const san = classifySan(value);
    if ("error" in san) throw new ParseError("transit-san", san.error);
    return san;
  });
}

/** What the server needs of the Coordinator. */
interface TransitSource {
  /** The current view (brought up to the stored latest), or `undefined` without a manifest. */
  transitView(): Promise<TransitView | undefined>;
  /** Calls `listener` after every change of the active state. */
  onActivate(listener: () => void): () => void;
  /** The Coordinator's attested TLS identity (served until a manifest is active). */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
}

/** Settings of the transit server. */
interface TransitServerConfig {
  /** Address to bind. */
  readonly host: string;
  /** Port (0 for any free port). */
  readonly port: number;
  /** SANs of the server certificate. */
  readonly sans: readonly SubjectAltName[];
  /** Largest request body in bytes. */
  readonly maxBodyBytes: number;
  /** Time allowed per request, milliseconds. */
  readonly requestTimeoutMs: number;
  /** Connection bounds (handshake, head and idle deadlines; caps). */
  readonly limits: ConnectionLimits;
  /** The clock. */
  readonly now?: () => Date;
}

/** A running transit server. */
interface RunningTransitServer {
  /** The bound port. */
  readonly port: number;
  /** Resolves once the certificate of the current generation is served. */
  certificateReady(): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

async function serverCredentials(
  view: TransitView,
  sans: readonly SubjectAltName[],
  now: Date,
) {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const leaf = await view.ca.issueLeaf({
    publicKey: spki,
    sans,
    commonName: "contrast-coordinator-transit",
    now,
  });
  const keyPem = encodePem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
  );
  return { cert: leaf.pem + view.ca.intermediatePem, key: keyPem };
}

function send(res: http.ServerResponse, answer: TransitHttpAnswer, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  // An answer given without reading the body (a refused caller) ends the connection: what the
  // client sends on is not read as a next request.
  if (close) res.setHeader("connection", "close");
  if (answer.body === undefined) {
    res.writeHead(answer.status, { "cache-control": "no-store" });
    res.end();
    return;
  }
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    "content-type": "application/json",
    "content-length": String(new TextEncoder().encode(text).length),
    "cache-control": "no-store",
  });
  res.end(text);
}

/** Largest bodies the transit port holds at once (see `../http/body_budget.ts`). */
const TRANSIT_BODIES_IN_FLIGHT = 2;

/**
 * Shape bound of a transit body, checked before it is parsed: at most 10,000 batch items
 * (`kms/transit_requests.ts`) of a handful of keys each, three levels deep
 * (`{"batch_input":[{…}]}`). Without it one 32 MiB body of nested brackets cost 7.7 s of CPU and
 * 1.7 GB of memory at its peak in `JSON.parse`.
 */
const TRANSIT_JSON_SHAPE = { maxKeys: 100_000, maxDepth: 8, maxSeparators: 100_000 } as const;

function parseJson(raw: Uint8Array): unknown {
  if (raw.length === 0) return undefined;
  checkJsonShape(raw, TRANSIT_JSON_SHAPE, "body");
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (cause) {
    throw new ParseError("body", "not valid UTF-8 JSON", { cause });
  }
}

/** Starts the transit server for `source`. */
export function startTransitServer(
  source: TransitSource,
  config: TransitServerConfig,
  logger: Logger,
  metrics: CoordinatorMetrics,
): Promise<RunningTransitServer> {
  const now = config.now ?? (() => new Date());
  const rings = new TransitKeyRings();
  // The caller of a connection, verified once per connection and manifest generation.
  const callers = new WeakMap<TLSSocket, { view: TransitView; client: Promise<TransitClient> }>();
  const authorize = (socket: TLSSocket) => (view: TransitView): Promise<TransitClient> => {
    let entry = callers.get(socket);
    if (!entry || entry.view !== view) {
      const der = socket.getPeerCertificate?.(false)?.raw;
      entry = {
        view,
        client: authorizeTransitClient(view, der ? new Uint8Array(der) : undefined, now()),
      };
      callers.set(socket, entry);
    }
    return entry.client.then((client) => {
      if (now() > client.notAfter) {
        callers.delete(socket);
        return authorizeTransitClient(view, undefined, now());
      }
      return client;
    });
  };

  // Request bodies held at once, all connections together: two of the largest. A caller is
  // authorised before its body is read, but a compromised pod holds a valid certificate: 24
  // connections each holding 31 MiB of an unfinished body had grown a Coordinator from 102 to
  // 1,039 MiB resident.
  const bodies = new BodyBudget(TRANSIT_BODIES_IN_FLIGHT * config.maxBodyBytes);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    const path = (req.url ?? "/").split("?")[0]!;
    // This request's share of the port's body budget, given back once it is answered.
    let held = 0;
    const releaseBody = () => {
      bodies.release(held);
      held = 0;
    };
    const takeBody = (bytes: number) => {
      try {
        bodies.take(bytes);
      } catch (error) {
        releaseBody();
        throw error;
      }
      held += bytes;
    };
    const timer = setTimeout(() => {
      releaseBody();
      send(res, { status: 408, body: { errors: ["request timed out"] } }, true);
      req.destroy();
    }, config.requestTimeoutMs);
    let client: TransitClient | undefined;
    let operation = "unknown";
    let bodyRead = false;
    const finish = (answer: TransitHttpAnswer) => {
      clearTimeout(timer);
      releaseBody();
      send(res, answer, !bodyRead);
      const seconds = (performance.now() - started) / 1000;
      const status = String(answer.status);
      metrics.requestSeconds.observe(seconds, { api: "transit", route: operation, status });
      if (answer.status >= 400) {
        metrics.failures.inc({ api: "transit", route: operation, status });
      }
      const reason = answer.status >= 400
        ? (answer.body as { errors?: string[] } | undefined)?.errors?.[0]
        : undefined;
      logger[answer.status >= 500 ? "error" : answer.status >= 400 ? "warn" : "debug"]("transit", {
        method: req.method,
        operation,
        status: answer.status,
        policy: client?.policyDigest,
        workloadSecretId: client?.workloadSecretId,
        ms: Math.round(seconds * 1000),
        reason,
      });
    };
    (async () => {
      const route = routeTransit(req.method ?? "", path);
      operation = route.operation;
      const answer = await handleTransitRequest({
        view: await source.transitView(),
        rings,
        route,
        readBody: async () => {
          const raw = await readBody(req, config.maxBodyBytes, takeBody);
          bodyRead = true;
          return parseJson(raw);
        },
        authorize: authorize(req.socket as TLSSocket),
      });
      client = answer.client;
      finish({ status: answer.status, body: answer.body });
    })().catch((error: unknown) => {
      const answer = transitErrorAnswer(error);
      if (answer.status === 500) {
        logger.error("transit: unexpected error", {
          error: error instanceof Error ? error.name : String(error),
        });
      }
      finish(answer);
    });
  };

  const server = https.createServer({
    cert: source.tls.certPem,
    key: source.tls.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    ...handshakeOptions(config.limits),
  }, handler);
  const unbound = boundNodeHttpsServer(
    server,
    config.limits,
    (reason) => metrics.connectionsClosed.inc({ api: "transit", reason }),
  );

  // Re-issue the server certificate whenever the active state (and so the mesh CA) changes.
  let certificate: Promise<void> = Promise.resolve();
  const refresh = () => {
    certificate = certificate.then(async () => {
      try {
        const view = await source.transitView();
        if (!view) return;
        server.setSecureContext(await serverCredentials(view, config.sans, now()));
      } catch (error) {
        logger.error("transit: cannot issue the server certificate", {
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    });
  };
  const unsubscribe = source.onActivate(refresh);
  refresh();

  return new Promise((resolve, reject) => {
    server.once("error", (error) => {
      unsubscribe();
      reject(error);
    });
    server.listen(config.port, config.host, () => {
      server.removeAllListeners("error");
      resolve({
        port: (server.address() as AddressInfo).port,
        certificateReady: () => certificate,
        close: () =>
          new Promise<void>((done) => {
            unsubscribe();
            unbound();
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}

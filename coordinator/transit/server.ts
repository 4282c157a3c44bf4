/**
 * The transit KMS server: HTTPS on its own port (8200 by default, like OpenBao/Vault), asking
 * every client for a certificate (the Coordinator's own HTTP layer, `../http/http1_server.ts`,
 * with `requestCert`; `Deno.serve` cannot ask). Its server certificate is
 * issued by the current mesh CA to the Coordinator itself (SANs from `--transit-san`), so pods
 * verify it with the `mesh-ca.pem` (or root CA) the initializer gave them; it is re-issued after
 * every manifest update or recovery. Until a manifest is active the Coordinator's attested TLS
 * certificate is served and every request gets 503.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import { checkJsonShape } from "../../util/json/shape.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import type { Logger } from "../../util/log/logger.ts";
import { classifySan, type SubjectAltName } from "../../manifest/sans.ts";
import type { ConnectionLimits } from "../http/connection_limits.ts";
import { BodyBudget } from "../http/body_budget.ts";
import { PayloadTooLargeError } from "../../protocol/errors.ts";
import {
  type ApiHandler,
  type ConnectionPeer,
  type OutgoingAnswer,
  serveHttp1,
} from "../http/http1_server.ts";
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
  /** Whether `view` is the active state's view now (in memory, no storage read). */
  isCurrentTransitView(view: TransitView): boolean;
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
  /** Connection bounds (handshake, head, request and idle deadlines; caps). */
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

const UTF8 = new TextEncoder();

/** `answer` as the connection layer sends it (Vault's JSON; 204 without a body). */
function encodeTransitAnswer(answer: TransitHttpAnswer): OutgoingAnswer {
  return {
    status: answer.status,
    contentType: "application/json",
    body: answer.body === undefined ? new Uint8Array() : UTF8.encode(JSON.stringify(answer.body)),
  };
}

/** Largest bodies the transit port holds at once (see `../http/body_budget.ts`). */
const TRANSIT_BODIES_IN_FLIGHT = 2;

/**
 * Answers the transit port sends at once, in bytes per largest body (an encrypt answer is about
 * 1.4 times its body: base64 ciphertexts with nonce and tag, in Vault's envelope): beyond, a
 * short 503 and the connection closed (a client that never reads its answers holds them).
 */
const TRANSIT_ANSWERS_IN_FLIGHT = 4;

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
export async function startTransitServer(
  source: TransitSource,
  config: TransitServerConfig,
  logger: Logger,
  metrics: CoordinatorMetrics,
): Promise<RunningTransitServer> {
  const now = config.now ?? (() => new Date());
  const rings = new TransitKeyRings();
  // The caller of a connection, verified once per connection and manifest generation.
  const callers = new WeakMap<
    ConnectionPeer,
    { view: TransitView; client: Promise<TransitClient> }
  >();
  const authorize = (peer: ConnectionPeer) => (view: TransitView): Promise<TransitClient> => {
    let entry = callers.get(peer);
    if (!entry || entry.view !== view) {
      entry = { view, client: authorizeTransitClient(view, peer.certificate, now()) };
      callers.set(peer, entry);
    }
    return entry.client.then((client) => {
      if (now() > client.notAfter) {
        callers.delete(peer);
        return authorizeTransitClient(view, undefined, now());
      }
      return client;
    });
  };

  const record = (
    method: string,
    operation: string,
    answer: TransitHttpAnswer,
    started: number,
    client?: TransitClient,
  ) => {
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
      method,
      operation,
      status: answer.status,
      policy: client?.policyDigest,
      workloadSecretId: client?.workloadSecretId,
      ms: Math.round(seconds * 1000),
      reason,
    });
  };

  // Bodies held at once, reserved at their declared length (chunked: the largest) before a byte
  // of them is read.
  const bodies = new BodyBudget(TRANSIT_BODIES_IN_FLIGHT * config.maxBodyBytes);
  const api: ApiHandler = {
    handle: async (request) => {
      const started = performance.now();
      let operation = "unknown";
      let answer: TransitHttpAnswer & { client?: TransitClient };
      let reserved = 0;
      try {
        const route = routeTransit(request.method, request.path);
        operation = route.operation;
        answer = await handleTransitRequest({
          view: await source.transitView(),
          rings,
          route,
          // Read only once the caller is authorised; a body left unread (a refused caller)
          // closes the connection after the answer.
          readBody: async () => {
            const declared = request.declaredBodyBytes ?? config.maxBodyBytes;
            if (declared > config.maxBodyBytes) {
              throw new PayloadTooLargeError("body", `larger than ${config.maxBodyBytes} bytes`);
            }
            bodies.take(declared);
            reserved = declared;
            return parseJson(await request.body(config.maxBodyBytes));
          },
          authorize: authorize(request.peer),
          stillCurrent: (view) => source.isCurrentTransitView(view),
        });
      } catch (error) {
        answer = transitErrorAnswer(error);
        if (answer.status === 500 && !request.signal.aborted) {
          logger.error("transit: unexpected error", {
            error: error instanceof Error ? error.name : String(error),
          });
        }
      } finally {
        bodies.release(reserved);
      }
      // After a 408 (answered and logged by the connection layer) nothing more is recorded.
      if (!request.signal.aborted) {
        record(request.method, operation, answer, started, answer.client);
      }
      return encodeTransitAnswer(answer);
    },
    refuse: (request, status, error) => {
      const answer = { status, body: { errors: [error] } };
      let operation = "unknown";
      try {
        if (request) operation = routeTransit(request.method, request.path).operation;
      } catch {
        // An unknown path stays "unknown".
      }
      record(request?.method ?? "-", operation, answer, performance.now());
      return encodeTransitAnswer(answer);
    },
    connectionClosed: (reason) => metrics.connectionsClosed.inc({ api: "transit", reason }),
  };

  // The Coordinator's own HTTP layer (`../http/http1_server.ts`) with client certificates asked
  // for: its connection bounds, strict framing, one request at a time per connection, bodies
  // read only when the handler asks (after authorisation) and a port-wide budget of bodies being
  // read. On `node:https` (Deno 2.9.6) a compromised pod holding unfinished bodies on 60
  // connections had grown a Coordinator to 561 MiB resident even with a body budget, because
  // `node:https` reads every connection's bytes ahead of the handler.
  const server = await serveHttp1({
    port: config.port,
    host: config.host,
    // Its clients are the workloads' own TLS stacks, some of which stop at TLS 1.2; the API
    // authorises each request by the client's mesh certificate and binds nothing to the
    // connection, so TLS 1.2 stays allowed here (the other ports: TLS 1.3 only).
    tls: { ...source.tls, requestCert: true, allowTls12: true },
    limits: config.limits,
    bodyBytesInFlight: TRANSIT_BODIES_IN_FLIGHT * config.maxBodyBytes,
    // A client sends its body right behind the head, before the caller is authorised: as much
    // as the body budget may be allowed unread meanwhile (a flood of connections each sending a
    // body before it is refused holds at most this much more than their 1 MiB each).
    bodyAllowanceBeforeRead: {
      perBody: config.maxBodyBytes,
      inAll: TRANSIT_BODIES_IN_FLIGHT * config.maxBodyBytes,
    },
    answerBytesInFlight: TRANSIT_ANSWERS_IN_FLIGHT * config.maxBodyBytes,
  }, api);

  // Re-issue the server certificate whenever the active state (and so the mesh CA) changes.
  let certificate: Promise<void> = Promise.resolve();
  const refresh = () => {
    certificate = certificate.then(async () => {
      try {
        const view = await source.transitView();
        if (!view) return;
        const { cert, key } = await serverCredentials(view, config.sans, now());
        server.setCredentials({ certPem: cert, keyPem: key });
      } catch (error) {
        logger.error("transit: cannot issue the server certificate", {
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    });
  };
  const unsubscribe = source.onActivate(refresh);
  refresh();

  return {
    port: server.port,
    certificateReady: () => certificate,
    close: async () => {
      unsubscribe();
      await server.close();
    },
  };
}

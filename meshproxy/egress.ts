/**
 * One egress listener: accepts plain connections from the application on a loopback address
 * and forwards each over mutual TLS to the remote service, presenting the pod's mesh
 * certificate and accepting only a server whose certificate chains to the mesh CA and carries
 * the expected SAN (the remote host). Nothing the application sends leaves the pod before that
 * handshake succeeded.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import type { Logger } from "../util/log/logger.ts";
import type { EgressEntry } from "../protocol/mesh_config.ts";
import { isIpv4 } from "../protocol/mesh_config.ts";
import type { MeshCredentials } from "./credentials.ts";
import { join } from "./forward.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { parseNodeSubjectAltName, sanMatches } from "./san.ts";
import { handshakeFailureReason } from "./tls_failure.ts";

/** Where to connect for an entry's remote (DNS by default; tests map names to loopback). */
export type Resolver = (host: string, port: number) => { host: string; port: number };

/** Options of {@link EgressListener}. */
interface EgressListenerOptions {
  readonly entry: EgressEntry;
  /** Current credentials (read for every new connection, so reloads apply). */
  readonly credentials: () => MeshCredentials;
  readonly resolve: Resolver;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** TLS handshake timeout, ms (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** The server's certificate lacks the expected SAN. */
class SanMismatchError extends Error {
  readonly code = "ERR_MESH_SAN_MISMATCH";
}

/** A plain-to-mTLS listener for one egress entry. */
export class EgressListener {
  readonly #o: EgressListenerOptions;
  readonly #server: net.Server;
  readonly #labels: Record<string, string>;

  constructor(options: EgressListenerOptions) {
    this.#o = options;
    this.#labels = { direction: "egress", listener: options.entry.name };
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => this.#onClient(socket));
  }

  /** Starts listening on the entry's address. */
  start(): Promise<void> {
    const { listenHost, listenPort } = this.#o.entry;
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(listenPort, listenHost, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #contexts = new WeakMap<MeshCredentials, tls.SecureContext>();

  /** One secure context per credential set (parsing keys per connection is costly). */
  #secureContext(credentials: MeshCredentials): tls.SecureContext {
    let context = this.#contexts.get(credentials);
    if (!context) {
      context = tls.createSecureContext({
        key: credentials.keyPem,
        cert: credentials.certChainPem,
        ca: credentials.meshCaPem,
        minVersion: "TLSv1.2",
      });
      this.#contexts.set(credentials, context);
    }
    return context;
  }

  #onClient(client: net.Socket): void {
    const o = this.#o;
    const entry = o.entry;
    const credentials = o.credentials();
    const target = o.resolve(entry.remoteHost, entry.remotePort);
    client.pause();
    client.setNoDelay(true);
    let verdict: Error | undefined;
    const upstream = tls.connect({
      host: target.host,
      port: target.port,
      ...(isIpv4(entry.remoteHost) ? {} : { servername: entry.remoteHost }),
      secureContext: this.#secureContext(credentials),
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => {
        const sans = parseNodeSubjectAltName(cert.subjectaltname);
        if (sanMatches(sans, entry.remoteHost)) return undefined;
        verdict = new SanMismatchError(
          `the server certificate's SANs [${sans.join(", ")}] do not cover ${entry.remoteHost}`,
        );
        return verdict;
      },
    });
    upstream.setNoDelay(true);
    const timer = setTimeout(
      () => upstream.destroy(new Error("TLS handshake timeout")),
      o.handshakeTimeoutMs ?? 10_000,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      const reason = handshakeFailureReason(verdict ?? error);
      o.metrics.add("meshproxy_handshake_failures_total", { ...this.#labels, reason });
      o.logger.warn("egress handshake failed; connection dropped", {
        listener: entry.name,
        remote: `${entry.remoteHost}:${entry.remotePort}`,
        reason,
        error: (verdict ?? error).message,
      });
      upstream.destroy();
      client.destroy();
    };
    upstream.once("error", fail);
    client.once("error", () => upstream.destroy());
    upstream.once("secureConnect", () => {
      clearTimeout(timer);
      if (!upstream.authorized || verdict) return fail(verdict ?? new Error("not authorised"));
      upstream.off("error", fail);
      o.metrics.add("meshproxy_connections_total", this.#labels);
      o.metrics.add("meshproxy_open_connections", this.#labels);
      join(client, upstream, {
        clientToUpstream: o.metrics.counter("meshproxy_bytes_total", {
          ...this.#labels,
          flow: "to_peer",
        }),
        upstreamToClient: o.metrics.counter("meshproxy_bytes_total", {
          ...this.#labels,
          flow: "from_peer",
        }),
      }, () => o.metrics.add("meshproxy_open_connections", this.#labels, -1));
      client.resume();
    });
  }
}

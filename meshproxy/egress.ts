/**
 * One egress listener: accepts plain connections from the application on a loopback address
 * and forwards each over mutual TLS to the remote service, presenting the pod's mesh
 * certificate and accepting only a server whose certificate chains to the mesh CA and carries
 * the expected SAN (the remote host). Nothing the application sends leaves the pod before that
 * handshake succeeded.
 *
 * The application's side is Deno's own socket (`Deno.listen`, see `conn_duplex.ts` for why); the
 * mTLS side is a plain `tls.connect`, which measured cheaper for sending than `node:tls` over a
 * Deno socket (`bench/meshproxy/socket_paths.ts`).
 *
 * @module
 */
import tls from "node:tls";
import type { Logger } from "../util/log/logger.ts";
import type { EgressEntry } from "../protocol/mesh_config.ts";
import { isIpv4 } from "../protocol/mesh_config.ts";
import { ConnDuplex } from "./conn_duplex.ts";
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
  readonly #labels: Record<string, string>;
  #listener?: Deno.TcpListener;
  #accepting?: Promise<void>;

  constructor(options: EgressListenerOptions) {
    this.#o = options;
    this.#labels = { direction: "egress", listener: options.entry.name };
  }

  /**
   * Starts listening on the entry's address.
   *
   * @throws {Deno.errors.AddrInUse} and the like when the address cannot be bound
   */
  start(): Promise<void> {
    const { listenHost, listenPort } = this.#o.entry;
    const listener = Deno.listen({ hostname: listenHost, port: listenPort });
    this.#listener = listener;
    this.#accepting = this.#accept(listener);
    return Promise.resolve();
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return; // closed
        this.#o.logger.warn("accept failed", {
          listener: this.#o.entry.name,
          error: (error as Error).message,
        });
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.#onClient(new ConnDuplex(conn));
    }
  }

  /** Stops listening; open connections finish on their own. */
  async close(): Promise<void> {
    try {
      this.#listener?.close();
    } catch {
      // closed already
    }
    await this.#accepting;
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

  #onClient(client: ConnDuplex): void {
    const o = this.#o;
    const entry = o.entry;
    const credentials = o.credentials();
    const target = o.resolve(entry.remoteHost, entry.remotePort);
    // Nothing is read from the application before the handshake succeeded.
    client.pause();
    let verdict: Error | undefined;
    const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      host: target.host,
      port: target.port,
      // Node's tls.connect passes this on to the TLSSocket: a FIN from the server must not end
      // what the application still sends.
      allowHalfOpen: true,
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
    };
    const upstream = tls.connect(options);
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

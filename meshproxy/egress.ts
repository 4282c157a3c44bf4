/**
 * One egress listener: accepts plain connections from the application on a loopback address
 * and forwards each over mutual TLS to the remote service, presenting the pod's mesh
 * certificate and accepting only a server whose certificate chains to the mesh CA and carries
 * the expected SAN (the entry's `expectedSan`, which `contrast generate` qualifies the way the
 * client's resolver does, else the remote host). Nothing the application sends leaves the pod before that
 * handshake succeeded.
 *
 * @module
 */
import tls from "node:tls";
import type { Logger } from "../util/log/logger.ts";
import type { EgressEntry } from "../protocol/mesh_config.ts";
import { isIpv4 } from "../protocol/mesh_config.ts";
import type { MeshCredentials } from "./credentials.ts";
import { IdleTimeoutError, join, ReadBufferPool } from "./forward.ts";
import type { ListenerLimits } from "./limits.ts";
import { acceptLoop } from "./accept_loop.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { certificateSans, sanMatches } from "./san.ts";
import { verifyPeerLeaf } from "./peer_trust.ts";
import { ChainCache } from "../x509/chain_cache.ts";
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
  /**
   * The connection cap (application connections held at once, handshaking with the remote or
   * established; more are closed as soon as they are accepted), the handshake and idle timeouts.
   */
  readonly limits: ListenerLimits;
}

/** The server's certificate lacks the expected SAN. */
class SanMismatchError extends Error {
  readonly code = "ERR_MESH_SAN_MISMATCH";
}

/** The server's certificate failed the proxy's own check (`peer_trust.ts`). */
class UntrustedServerError extends Error {
  readonly code = "ERR_MESH_UNTRUSTED_SERVER";
}

/**
 * A plain-to-mTLS listener for one egress entry. The application's side is Deno's own TCP socket
 * (see `forward.ts` for why), the mesh side `node:tls`.
 */
export class EgressListener {
  readonly #o: EgressListenerOptions;
  readonly #labels: Record<string, string>;
  #listener?: Deno.TcpListener;
  #accepting?: Promise<void>;
  /** Connections not yet closed on both sides (each resolves once it is). */
  readonly #open = new Set<Promise<void>>();
  readonly #readBuffers = new ReadBufferPool();
  /** Server chains this listener verified itself (positive results while valid). */
  readonly #verified = new ChainCache({ maxChains: 64, maxSignatures: 64 });

  constructor(options: EgressListenerOptions) {
    this.#o = options;
    this.#labels = { direction: "egress", listener: options.entry.name };
  }

  /** Starts listening on the entry's address (rejects when it cannot, e.g. the port is taken). */
  // deno-lint-ignore require-await
  async start(): Promise<void> {
    const { listenHost, listenPort } = this.#o.entry;
    const listener = Deno.listen({ hostname: listenHost, port: listenPort, transport: "tcp" });
    this.#listener = listener;
    this.#accepting = this.#accept(listener);
  }

  /** Stops listening; resolves once the open connections have closed. */
  async close(): Promise<void> {
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    for (const wake of this.#wakeSleepers) wake();
    await this.#accepting;
    await Promise.all([...this.#open]);
  }

  #accept(listener: Deno.TcpListener): Promise<void> {
    return acceptLoop({
      accept: () => listener.accept(),
      isClosed: (error) =>
        error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted,
      onConnection: (client) => {
        if (this.#open.size >= this.#o.limits.maxConnections) {
          this.#refuse(client);
          return;
        }
        this.#refusing = false;
        const closed = Promise.withResolvers<void>();
        this.#open.add(closed.promise);
        closed.promise.then(() => this.#open.delete(closed.promise));
        this.#onClient(client, closed.resolve);
      },
      onError: (error, backoffMs) =>
        this.#o.logger.warn("egress accept failed", {
          listener: this.#o.entry.name,
          error: error.message,
          retryInMs: backoffMs,
        }),
      sleep: (ms) => this.#sleep(ms),
    });
  }

  /** Resolves after `ms`, or at once when {@link close} is called. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeSleepers.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#wakeSleepers.add(wake);
    });
  }

  readonly #wakeSleepers = new Set<() => void>();

  /** Whether the last new connection was refused (logged once per run of refusals). */
  #refusing = false;

  /** Closes a connection over the cap, counted (`reason="connection_limit"`). */
  #refuse(client: Deno.TcpConn): void {
    try {
      client.close();
    } catch { /* already closed */ }
    const o = this.#o;
    o.metrics.add("meshproxy_limit_refusals_total", {
      ...this.#labels,
      reason: "connection_limit",
    });
    if (this.#refusing) return;
    this.#refusing = true;
    o.logger.warn("connection limit reached", {
      listener: o.entry.name,
      reason: "connection_limit",
      connections: this.#open.size,
      maxConnections: o.limits.maxConnections,
    });
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

  /**
   * Connects to the remote for one application connection; nothing is read from the
   * application before the handshake succeeded. `onClosed` runs once both sides are closed.
   */
  #onClient(client: Deno.TcpConn, onClosed: () => void): void {
    const o = this.#o;
    const entry = o.entry;
    const credentials = o.credentials();
    const target = o.resolve(entry.remoteHost, entry.remotePort);
    client.setNoDelay(true);
    let verdict: Error | undefined;
    const upstream = tls.connect({
      host: target.host,
      port: target.port,
      ...(isIpv4(entry.remoteHost) ? {} : { servername: entry.remoteHost }),
      secureContext: this.#secureContext(credentials),
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => {
        let sans: string[];
        try {
          sans = certificateSans(cert.raw);
        } catch (error) {
          verdict = new SanMismatchError(
            `the server certificate's SANs cannot be read: ${(error as Error).message}`,
          );
          return verdict;
        }
        const expected = entry.expectedSan ?? entry.remoteHost;
        if (sanMatches(sans, expected)) return undefined;
        verdict = new SanMismatchError(
          `the server certificate's SANs [${sans.join(", ")}] do not cover ${expected}` +
            (expected === entry.remoteHost ? "" : ` (the name ${entry.remoteHost} resolves to)`),
        );
        return verdict;
      },
    });
    upstream.setNoDelay(true);
    const timer = setTimeout(
      () => upstream.destroy(new Error("TLS handshake timeout")),
      o.limits.handshakeTimeoutMs,
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
      try {
        client.close();
      } catch { /* already closed */ }
      onClosed();
    };
    let failed = false;
    const onError = (error: Error) => {
      failed = true;
      fail(error);
    };
    upstream.once("error", onError);
    upstream.once("secureConnect", () => {
      if (!upstream.authorized || verdict) {
        failed = true;
        return fail(verdict ?? new Error("not authorised"));
      }
      // The proxy's own check of the server's leaf (Deno may accept a malformed certificate by
      // its issuer's name alone, see peer_trust.ts); nothing of the application's is read yet.
      const raw = upstream.getPeerCertificate()?.raw;
      verifyPeerLeaf(
        raw ? new Uint8Array(raw) : new Uint8Array(0),
        credentials.meshCa,
        new Date(),
        "serverAuth",
        this.#verified,
      ).then(() => {
        if (failed) return;
        clearTimeout(timer);
        upstream.off("error", onError);
        if (upstream.destroyed || upstream.readableEnded) {
          // The server closed during the check, having sent nothing unread: so does the
          // application's connection (as the join would have done).
          o.logger.info("egress: the server closed the connection at once", {
            listener: entry.name,
          });
          upstream.destroy();
          try {
            client.close();
          } catch { /* already closed */ }
          onClosed();
          return;
        }
        serve();
      }, (error: Error) => {
        if (failed) return;
        failed = true;
        fail(new UntrustedServerError(`the server certificate is refused: ${error.message}`));
      });
    });
    const serve = () => {
      o.metrics.add("meshproxy_connections_total", this.#labels);
      o.metrics.add("meshproxy_open_connections", this.#labels);
      join({
        plain: client,
        secure: upstream,
        counters: {
          plainToSecure: o.metrics.counter("meshproxy_bytes_total", {
            ...this.#labels,
            flow: "to_peer",
          }),
          secureToPlain: o.metrics.counter("meshproxy_bytes_total", {
            ...this.#labels,
            flow: "from_peer",
          }),
        },
        onClose: (error) => {
          o.metrics.add("meshproxy_open_connections", this.#labels, -1);
          if (error instanceof IdleTimeoutError) {
            o.metrics.add("meshproxy_idle_timeouts_total", this.#labels);
            o.logger.info("idle connection closed", { listener: entry.name, error: error.message });
          }
          onClosed();
        },
        readBuffers: this.#readBuffers,
        idleTimeoutMs: o.limits.idleTimeoutMs,
      });
    };
  }
}

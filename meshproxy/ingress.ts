/**
 * One ingress listener: terminates TLS for one application port with the pod's mesh
 * certificate and forwards the plain bytes to the application. In `mtls` mode the client must
 * present a certificate chaining to the mesh CA, checked during the handshake (a client without
 * one, or with one from another CA, or an expired one, never reaches the application); in `tls`
 * mode no client certificate is requested. The peer's identity reaches the application as an
 * `X-Forwarded-Client-Cert` header on every HTTP/1.x request (see `http_identity.ts`) and is
 * logged for every connection.
 *
 * @module
 */
import tls from "node:tls";
import type { Logger } from "../util/log/logger.ts";
import type { MeshCredentials } from "./credentials.ts";
import { ANY_ADDRESS, listenEverywhere, listenOn } from "./any_address.ts";
import { join, type Joined, ReadBufferPool } from "./forward.ts";
import { classifyFirstBytes, HttpIdentityInjector, peerIdentityValue } from "./http_identity.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { parseNodeSubjectAltName } from "./san.ts";
import { handshakeFailureReason } from "./tls_failure.ts";

/**
 * How long the first bytes of a connection may stay ambiguous (a prefix of an HTTP request
 * line) before they are forwarded as plain TCP, ms.
 */
const SNIFF_TIMEOUT_MS = 50;

/** How long a client has to finish the TLS handshake, ms. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options of {@link IngressListener}. */
interface IngressListenerOptions {
  /** Listener name (metrics label). */
  readonly name: string;
  /** `mtls`: client certificate required; `tls`: not requested. */
  readonly mode: "mtls" | "tls";
  /** Address and port to listen on ({@link ANY_ADDRESS}: every IPv4 and IPv6 address). */
  readonly listenHost: string;
  readonly listenPort: number;
  /** Where the application listens. */
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  readonly credentials: MeshCredentials;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** How long a client has to finish the TLS handshake, ms (default {@link HANDSHAKE_TIMEOUT_MS}). */
  readonly handshakeTimeoutMs?: number;
}

/** The identity of a mesh peer, as its certificate states it. */
interface PeerIdentity {
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly sans: readonly string[];
}

function subjectText(subject: unknown): string {
  if (!subject || typeof subject !== "object") return "";
  return Object.entries(subject as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`).join(",");
}

/** The peer identity of an authorised TLS socket, or undefined when it sent no certificate. */
function peerIdentityOf(socket: tls.TLSSocket): PeerIdentity | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.fingerprint256) return undefined;
  return {
    fingerprintSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(),
    subject: subjectText(cert.subject),
    sans: parseNodeSubjectAltName(cert.subjectaltname),
  };
}

function secureOptions(c: MeshCredentials): tls.SecureContextOptions {
  return { key: c.keyPem, cert: c.certChainPem, ca: c.meshCaPem, minVersion: "TLSv1.2" };
}

/** A TLS-terminating listener in front of one application port. */
export class IngressListener {
  readonly #o: IngressListenerOptions;
  readonly #labels: Record<string, string>;
  #servers: tls.Server[] = [];
  #secureOptions: tls.SecureContextOptions;
  #port = 0;
  #address = "";
  readonly #readBuffers = new ReadBufferPool();

  constructor(options: IngressListenerOptions) {
    this.#o = options;
    this.#labels = { direction: "ingress", listener: options.name };
    this.#secureOptions = secureOptions(options.credentials);
  }

  /** A TLS server with this listener's settings and handlers (one per address family bound). */
  #newServer(): tls.Server {
    const o = this.#o;
    const mtls = o.mode === "mtls";
    const server = tls.createServer({
      ...this.#secureOptions,
      requestCert: mtls,
      rejectUnauthorized: mtls,
      handshakeTimeout: o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      allowHalfOpen: true,
    }, (socket) => this.#onSecure(socket));
    server.on("tlsClientError", (error, socket) => {
      const reason = handshakeFailureReason(error);
      o.metrics.add("meshproxy_handshake_failures_total", { ...this.#labels, reason });
      o.logger.warn("TLS handshake refused", { listener: o.name, reason, error: error.message });
      socket.destroy();
    });
    return server;
  }

  /** The port actually listened on (after {@link start}). */
  get port(): number {
    return this.#port;
  }

  /** Where it listens (after {@link start}), e.g. `[::]:15100` or `127.0.0.1:15100`. */
  get address(): string {
    return this.#address;
  }

  /** Starts listening. */
  async start(): Promise<void> {
    const { listenHost, listenPort } = this.#o;
    if (listenHost === ANY_ADDRESS) {
      const listening = await listenEverywhere(() => this.#newServer(), listenPort);
      this.#servers = [...listening.servers];
      this.#port = listening.port;
      this.#address = listening.label;
      return;
    }
    const server = this.#newServer();
    this.#port = await listenOn(server, listenPort, listenHost);
    this.#servers = [server];
    this.#address = `${listenHost.includes(":") ? `[${listenHost}]` : listenHost}:${this.#port}`;
  }

  /** Serves new connections with `credentials` (existing ones keep theirs). */
  updateCredentials(credentials: MeshCredentials): void {
    this.#secureOptions = secureOptions(credentials);
    for (const server of this.#servers) server.setSecureContext(this.#secureOptions);
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    await Promise.all(
      this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }

  #onSecure(socket: tls.TLSSocket): void {
    const o = this.#o;
    const peer = o.mode === "mtls" ? peerIdentityOf(socket) : undefined;
    if (o.mode === "mtls" && (!socket.authorized || !peer)) {
      // rustls enforces this during the handshake; this is a second, independent check.
      o.metrics.add("meshproxy_handshake_failures_total", {
        ...this.#labels,
        reason: "untrusted_certificate",
      });
      socket.destroy();
      return;
    }
    o.metrics.add("meshproxy_connections_total", this.#labels);
    o.metrics.add("meshproxy_open_connections", this.#labels);
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const upstream = Deno.connect({
      hostname: o.upstreamHost,
      port: o.upstreamPort,
      transport: "tcp",
    }).then((conn) => {
      conn.setNoDelay(true);
      return conn;
    }, (error: Error) => {
      o.metrics.add("meshproxy_upstream_failures_total", this.#labels);
      o.logger.warn("application port unreachable", {
        listener: o.name,
        upstream: `${o.upstreamHost}:${o.upstreamPort}`,
        error: error.message,
      });
      throw error;
    });
    this.#forward(socket, upstream, peer, remote);
  }

  /** Bookkeeping once both sides of a connection are closed. */
  #closed(remote: string, error?: Error): void {
    const o = this.#o;
    o.metrics.add("meshproxy_open_connections", this.#labels, -1);
    if (error) {
      o.logger.info("connection closed with an error", {
        listener: o.name,
        remote,
        error: error.message,
      });
    }
  }

  /**
   * Forwards between the mesh peer and the application; with a peer certificate, HTTP/1.x
   * requests get the identity header (the first bytes decide whether it is HTTP).
   */
  #forward(
    socket: tls.TLSSocket,
    upstream: Promise<Deno.TcpConn>,
    peer: PeerIdentity | undefined,
    remote: string,
  ): void {
    const o = this.#o;
    let protocol: "http" | "tcp" | "undecided" = peer ? "undecided" : "tcp";
    let injector: HttpIdentityInjector | undefined;
    let head: Uint8Array = new Uint8Array(0);
    let sniffTimer: ReturnType<typeof setTimeout> | undefined;
    const fromPeer = o.metrics.counter("meshproxy_bytes_total", {
      ...this.#labels,
      flow: "from_peer",
    });
    const decide = (decision: "http" | "tcp"): Uint8Array => {
      clearTimeout(sniffTimer);
      protocol = decision;
      if (decision === "http") injector = new HttpIdentityInjector(peerIdentityValue(peer!));
      this.#logPeer(peer, remote, decision);
      const first = head;
      head = new Uint8Array(0);
      return first;
    };
    const rewrite = (chunk: Uint8Array): Uint8Array[] => {
      if (protocol === "undecided") {
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined;
        const verdict = classifyFirstBytes(head);
        if (verdict === "undecided") {
          // A short first message that might still become a request line: if nothing more
          // arrives soon, it is not HTTP.
          clearTimeout(sniffTimer);
          sniffTimer = setTimeout(() => flushUndecided(), SNIFF_TIMEOUT_MS);
          return [];
        }
        const first = decide(verdict);
        return injector ? injector.push(first) : [first];
      }
      return injector ? injector.push(chunk) : [chunk];
    };
    const flushUndecided = () => {
      if (protocol !== "undecided") return;
      const first = decide("tcp");
      fromPeer(first.length);
      joined.sendToPlain(first);
    };
    // The peer finished sending while its bytes were still ambiguous: forward them before the
    // end is passed on.
    socket.prependListener("end", flushUndecided);
    socket.once("close", () => clearTimeout(sniffTimer));
    if (!peer) this.#logPeer(undefined, remote, "tcp");
    // Declared after the closures above, which run only on later events.
    const joined: Joined = join({
      plain: upstream,
      secure: socket,
      counters: {
        secureToPlain: fromPeer,
        plainToSecure: o.metrics.counter("meshproxy_bytes_total", {
          ...this.#labels,
          flow: "to_peer",
        }),
      },
      onClose: (error) => this.#closed(remote, error),
      ...(peer ? { rewriteSecureToPlain: rewrite } : {}),
      readBuffers: this.#readBuffers,
    });
  }

  #logPeer(peer: PeerIdentity | undefined, remote: string, protocol: string): void {
    this.#o.logger.info("ingress connection", {
      listener: this.#o.name,
      remote,
      protocol,
      peerSans: peer ? peer.sans.join(",") : undefined,
      peerSubject: peer?.subject,
      peerCertSha256: peer?.fingerprintSha256,
    });
  }
}

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
import {
  HttpConnectRefusedError,
  HttpFramingError,
  HttpIdentityInjector,
  peerIdentityValue,
} from "./http_identity.ts";
import { FirstLine } from "./http_sniff.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { certificateSans } from "./san.ts";
import { handshakeFailureReason } from "./tls_failure.ts";

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
  if (!cert || !cert.fingerprint256 || !cert.raw) return undefined;
  let sans: string[];
  try {
    sans = certificateSans(cert.raw);
  } catch {
    return undefined; // unreadable SANs: treated as no certificate (refused on mTLS ports)
  }
  return {
    fingerprintSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(),
    subject: subjectText(cert.subject),
    sans,
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
   * Forwards between the mesh peer and the application. The end of the client's first line
   * decides, whenever it arrives, whether the connection is HTTP/1.x (see `http_sniff.ts`);
   * the line's bytes before it go on at once (no header can precede it), and the application's
   * bytes flow from the start. HTTP requests get the peer identity header (without a peer
   * certificate: only lose the client's own).
   */
  #forward(
    socket: tls.TLSSocket,
    upstream: Promise<Deno.TcpConn>,
    peer: PeerIdentity | undefined,
    remote: string,
  ): void {
    const o = this.#o;
    const firstLine = new FirstLine();
    let protocol: "http" | "tcp" | undefined;
    let injector: HttpIdentityInjector | undefined;
    let serverSpoke = false;
    const fromPeer = o.metrics.counter("meshproxy_bytes_total", {
      ...this.#labels,
      flow: "from_peer",
    });
    const refuse = (reason: string, error: Error): never => {
      o.metrics.add("meshproxy_http_refusals_total", { ...this.#labels, reason });
      o.logger.warn("ingress connection refused", {
        listener: o.name,
        remote,
        reason,
        error: error.message,
      });
      throw error;
    };
    /** The request line forwarded as it arrived: the rewrite's output starts with it. */
    const sentLine = new SentPrefix();
    const inject = (bytes: Uint8Array): Uint8Array[] => {
      try {
        return sentLine.strip(injector!.push(bytes));
      } catch (error) {
        return refuse(
          error instanceof HttpConnectRefusedError ? "connect" : "http_framing",
          error as Error,
        );
      }
    };
    const decide = (chunk: Uint8Array): Uint8Array[] => {
      const step = firstLine.push(chunk);
      if (step.verdict === "undecided") return [step.forward];
      if (step.verdict === "refuse") {
        return refuse(step.reason, new HttpFramingError("request.line", "cannot be rewritten"));
      }
      protocol = step.verdict;
      this.#logPeer(peer, remote, protocol);
      if (step.verdict === "tcp") return [step.forward];
      let identity: string | undefined;
      try {
        identity = peer ? peerIdentityValue(peer) : undefined;
      } catch (error) {
        // Fail closed: never forward without (or with a broken) identity.
        return refuse("peer_identity", error as Error);
      }
      injector = new HttpIdentityInjector(identity, { serverSpoke });
      const rest = new Uint8Array(step.line.length + step.rest.length);
      rest.set(step.line);
      rest.set(step.rest, step.line.length);
      sentLine.set(step.line);
      return [step.forward, ...inject(rest)];
    };
    const rewrite = (chunk: Uint8Array): Uint8Array[] =>
      protocol === "tcp" ? [chunk] : injector ? inject(chunk) : decide(chunk);
    const observeApp = (bytes: Uint8Array) => {
      if (protocol === "tcp" || (injector && !injector.watchesServer)) return;
      if (!injector) {
        serverSpoke = true;
        return;
      }
      try {
        for (const piece of injector.serverBytes(bytes)) {
          fromPeer(piece.length);
          joined.sendToPlain(piece);
        }
      } catch (error) {
        try {
          refuse("upgrade_answer", error as Error);
        } catch {
          joined.abort(error as Error);
        }
      }
    };
    socket.prependListener("end", () => {
      if (protocol === undefined) this.#logPeer(peer, remote, "tcp");
    });
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
      rewriteSecureToPlain: rewrite,
      observePlainToSecure: observeApp,
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

/**
 * Bytes already forwarded that the rewrite will emit again: removed from its output (checked
 * equal) as it comes, over as many calls as it takes.
 */
class SentPrefix {
  #prefix: Uint8Array = new Uint8Array(0);
  #skipped = 0;

  set(prefix: Uint8Array): void {
    this.#prefix = prefix;
    this.#skipped = 0;
  }

  strip(pieces: Uint8Array[]): Uint8Array[] {
    if (this.#skipped === this.#prefix.length) return pieces;
    const out: Uint8Array[] = [];
    for (const piece of pieces) {
      const n = Math.min(piece.length, this.#prefix.length - this.#skipped);
      for (let i = 0; i < n; i++) {
        if (piece[i] !== this.#prefix[this.#skipped + i]) {
          throw new HttpFramingError("request.line", "rewrite changed the request line");
        }
      }
      this.#skipped += n;
      if (n < piece.length) out.push(piece.subarray(n));
    }
    return out;
  }
}

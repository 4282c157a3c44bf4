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
import net from "node:net";
import tls from "node:tls";
import type { Logger } from "../util/log/logger.ts";
import type { MeshCredentials } from "./credentials.ts";
import { ANY_ADDRESS, listenEverywhere, listenOn } from "./any_address.ts";
import { IdleTimeoutError, join, type Joined, ReadBufferPool } from "./forward.ts";
import { ConnectionGate, type LimitReason } from "./connection_gate.ts";
import type { ListenerLimits } from "./limits.ts";
import {
  HttpConnectRefusedError,
  HttpFramingError,
  HttpIdentityInjector,
  peerIdentityValue,
} from "./http_identity.ts";
import { FirstLine } from "./http_sniff.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { certificateSans } from "./san.ts";
import { verifyPeerLeaf } from "./peer_trust.ts";
import { ChainCache } from "../x509/chain_cache.ts";
import { handshakeFailureReason } from "./tls_failure.ts";

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
  /** Connection and handshake caps, idle timeout. */
  readonly limits: ListenerLimits;
}

/** The identity of a mesh peer, as its certificate states it. */
interface PeerIdentity {
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly sans: readonly string[];
  /** The certificate's DER. */
  readonly der: Uint8Array;
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
    der: new Uint8Array(cert.raw),
  };
}

function secureOptions(c: MeshCredentials): tls.SecureContextOptions {
  return { key: c.keyPem, cert: c.certChainPem, ca: c.meshCaPem, minVersion: "TLSv1.2" };
}

/** The key of a TCP connection among a listener's open ones: its peer's address and port. */
function peerKey(socket: net.Socket): string | undefined {
  return socket.remoteAddress === undefined || socket.remotePort === undefined
    ? undefined
    : `${socket.remoteAddress}#${socket.remotePort}`;
}

/**
 * A TLS-terminating listener in front of one application port. TCP connections are accepted by a
 * plain server, counted against the listener's limits (see `connection_gate.ts`) and only then
 * handed to the TLS server, which never listens itself.
 */
export class IngressListener {
  readonly #o: IngressListenerOptions;
  readonly #labels: Record<string, string>;
  #servers: net.Server[] = [];
  #tls?: tls.Server;
  #secureOptions: tls.SecureContextOptions;
  /** The credentials new connections are served with (their mesh CA checks resumed sessions). */
  #credentials: MeshCredentials;
  /** Client chains verified for resumed sessions (positive results while valid). */
  readonly #verified = new ChainCache({ maxChains: 256, maxSignatures: 256 });
  #port = 0;
  #address = "";
  readonly #readBuffers = new ReadBufferPool();
  readonly #gate: ConnectionGate<net.Socket>;
  /** The open TCP connections by {@link peerKey}, to find a TLS socket's own. */
  readonly #byPeer = new Map<string, net.Socket>();
  /**
   * Per counted connection, its holds on its slot: the TCP connection until it closes, and once
   * joined the application's side until it closes too (it may linger after the peer left).
   */
  readonly #slots = new Map<net.Socket, SlotHolds>();
  /** Whether the last new connection was refused (a refusal is logged once per run of them). */
  #refusing = false;
  /** Connections the limits closed during their handshake. */
  readonly #closedByLimits = new WeakSet<net.Socket>();

  constructor(options: IngressListenerOptions) {
    this.#o = options;
    this.#labels = { direction: "ingress", listener: options.name };
    this.#secureOptions = secureOptions(options.credentials);
    this.#credentials = options.credentials;
    this.#gate = new ConnectionGate(options.limits);
  }

  /** The TLS server (made once; it never listens: accepted connections are handed to it). */
  #tlsServer(): tls.Server {
    if (this.#tls) return this.#tls;
    const o = this.#o;
    const mtls = o.mode === "mtls";
    const server = tls.createServer({
      ...this.#secureOptions,
      requestCert: mtls,
      rejectUnauthorized: mtls,
      handshakeTimeout: o.limits.handshakeTimeoutMs,
      allowHalfOpen: true,
    }, (socket) => this.#onSecure(socket));
    server.on("tlsClientError", (error, socket) => {
      socket.destroy();
      // A handshake the limits closed was counted there. (The TCP socket under a TLS socket is
      // its `_parent`, in Node and Deno; without it such a handshake counts here too.)
      const parent = (socket as { _parent?: unknown })._parent;
      if (parent instanceof net.Socket && this.#closedByLimits.has(parent)) return;
      const reason = handshakeFailureReason(error);
      o.metrics.add("meshproxy_handshake_failures_total", { ...this.#labels, reason });
      o.logger.warn("TLS handshake refused", { listener: o.name, reason, error: error.message });
    });
    this.#tls = server;
    return server;
  }

  /** A TCP server that admits connections into the TLS server (one per address family bound). */
  #newServer(): net.Server {
    const tlsServer = this.#tlsServer();
    return net.createServer({ allowHalfOpen: true }, (raw) => this.#onTcp(raw, tlsServer));
  }

  /** Counts a new TCP connection against the limits; hands it to TLS when admitted. */
  #onTcp(raw: net.Socket, tlsServer: tls.Server): void {
    const key = peerKey(raw);
    if (key === undefined) {
      raw.destroy(); // already gone
      return;
    }
    const admission = this.#gate.admit(raw, raw.remoteAddress!);
    if (!admission.admitted) {
      raw.destroy();
      this.#limited(admission.reason, key);
      return;
    }
    this.#refusing = false;
    if (admission.evicted) {
      this.#closedByLimits.add(admission.evicted);
      admission.evicted.destroy();
      this.#limited("handshake_evicted", key);
    }
    this.#byPeer.set(key, raw);
    const slot = new SlotHolds(() => {
      this.#slots.delete(raw);
      this.#gate.release(raw);
      this.#updateHandshakeGauge();
    });
    this.#slots.set(raw, slot);
    const tcpHold = slot.hold();
    raw.once("close", () => {
      if (this.#byPeer.get(key) === raw) this.#byPeer.delete(key);
      tcpHold();
    });
    this.#updateHandshakeGauge();
    tlsServer.emit("connection", raw);
  }

  /** Counts (and, once per run of refusals, logs) a connection closed by the limits. */
  #limited(reason: LimitReason, remote: string): void {
    const o = this.#o;
    o.metrics.add("meshproxy_limit_refusals_total", { ...this.#labels, reason });
    if (reason !== "handshake_evicted") {
      if (this.#refusing) return;
      this.#refusing = true;
    }
    o.logger.warn("connection limit reached", {
      listener: o.name,
      reason,
      remote: remote.replace("#", ":"),
      connections: this.#gate.connections,
      handshakes: this.#gate.handshakes,
      maxConnections: o.limits.maxConnections,
      maxHandshakes: o.limits.maxHandshakes,
    });
  }

  #updateHandshakeGauge(): void {
    this.#o.metrics.set("meshproxy_handshakes_in_progress", this.#labels, this.#gate.handshakes);
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
    this.#credentials = credentials;
    this.#secureOptions = secureOptions(credentials);
    this.#tls?.setSecureContext(this.#secureOptions);
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    await Promise.all(
      this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }

  #onSecure(socket: tls.TLSSocket): void {
    const o = this.#o;
    const key = peerKey(socket);
    const raw = key === undefined ? undefined : this.#byPeer.get(key);
    if (raw === undefined || !this.#gate.established(raw)) {
      socket.destroy(); // closed by the limits while its handshake finished
      return;
    }
    this.#updateHandshakeGauge();
    const joinHold = this.#slots.get(raw)!.hold();
    const peer = o.mode === "mtls" ? peerIdentityOf(socket) : undefined;
    const untrusted = (reason?: string) => {
      o.metrics.add("meshproxy_handshake_failures_total", {
        ...this.#labels,
        reason: "untrusted_certificate",
      });
      if (reason) {
        o.logger.warn("resumed TLS session refused", { listener: o.name, reason });
      }
      socket.destroy();
      joinHold();
    };
    if (o.mode === "mtls" && (!socket.authorized || !peer)) {
      // rustls enforces this during the handshake; this is a second, independent check.
      untrusted();
      return;
    }
    if (o.mode === "mtls" && socket.isSessionReused()) {
      // A resumed session's certificate was checked when the session began, against the mesh
      // CA of then (one ticket key serves every listener of the process, across reloads): it
      // must still chain to the current mesh CA and be valid now. Nothing is read before.
      verifyPeerLeaf(
        peer!.der,
        this.#credentials.meshCa,
        new Date(),
        "clientAuth",
        this.#verified,
      ).then(
        () => this.#serve(socket, peer, joinHold),
        (error: Error) => untrusted(error.message),
      );
      return;
    }
    this.#serve(socket, peer, joinHold);
  }

  /** Connects to the application and forwards an admitted connection. */
  #serve(socket: tls.TLSSocket, peer: PeerIdentity | undefined, joinHold: () => void): void {
    const o = this.#o;
    if (socket.destroyed || socket.readableEnded) {
      // Gone during the resumed session's check, with nothing unread.
      socket.destroy();
      joinHold();
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
    this.#forward(socket, upstream, peer, remote, joinHold);
  }

  /** Bookkeeping once both sides of a connection are closed. */
  #closed(remote: string, release: () => void, error?: Error): void {
    const o = this.#o;
    release();
    o.metrics.add("meshproxy_open_connections", this.#labels, -1);
    if (error instanceof IdleTimeoutError) {
      o.metrics.add("meshproxy_idle_timeouts_total", this.#labels);
      o.logger.info("idle connection closed", { listener: o.name, remote, error: error.message });
      return;
    }
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
    release: () => void,
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
      onClose: (error) => this.#closed(remote, release, error),
      rewriteSecureToPlain: rewrite,
      observePlainToSecure: observeApp,
      readBuffers: this.#readBuffers,
      idleTimeoutMs: o.limits.idleTimeoutMs,
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

/** Holds on one connection's slot; the slot is released when the last hold is. */
class SlotHolds {
  #holds = 0;
  readonly #onReleased: () => void;

  constructor(onReleased: () => void) {
    this.#onReleased = onReleased;
  }

  /** Takes a hold; returns its release (which does nothing a second time). */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds === 0) this.#onReleased();
    };
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

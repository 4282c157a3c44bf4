/**
 * One accepted connection as the HTTP layer reads and writes it: a `node:net` socket, or the
 * `node:tls` server socket wrapped around one, behind pull-style `read`/`write`/`close`.
 *
 * Why `node:net`/`node:tls` and not `Deno.listenTls`: closing a `Deno.TlsConn` before its
 * handshake finished leaves the TCP socket open in the runtime (Deno 2.9.6; measured: the client
 * still connected 120 s later, and a client that then sent its ClientHello completed the
 * handshake), so a handshake deadline could not free anything; a `node:net` socket closes when
 * destroyed. The socket also gets `TCP_NODELAY`, which neither `Deno.serve` nor `Deno.listenTls`
 * sets: without it the server's handshake flight and split answers waited for the client's
 * delayed ACK (up to 40 ms each).
 *
 * @module
 */
import type net from "node:net";
import type tls from "node:tls";
import { ChannelBindingError, serverChannelBinding } from "../../atls/channel_binding.ts";

/** What the HTTP layer needs of a connection. */
export interface ByteConnection {
  /** Fills `into` with the next bytes; `null` at the end of the stream. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes all of `bytes`; resolves once they are handed to the socket. */
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves once the TLS handshake finished (at once without TLS); rejects if it failed. */
  handshake(): Promise<void>;
  /** Destroys the connection; pending reads and writes fail. */
  close(): void;
  /**
   * From now on nothing more is read: what was received unread is dropped, and what arrives is
   * counted and dropped, never held; once more than the connection's linger bound in all was
   * dropped, the connection is closed. For a connection that ends after the answer being written
   * (the client may still be sending a body the server will not read).
   */
  discardInput(): void;
  /** Whether input is discarded ({@link discardInput} was called). */
  readonly discarding: boolean;
  /**
   * Ends the connection after its last answer without losing that answer to a reset: discards
   * input ({@link discardInput}), half-closes the write side once the answer is written (over
   * TLS: `close_notify`, then FIN) and waits until the peer ends its side (then closes it), the
   * discard bound closes it or anything else does (the caller's deadline, an error, the peer's
   * reset). Resolves with how it ended.
   */
  closeLingering(): Promise<LingerEnd>;
  /** DER of the peer's leaf certificate after the handshake, when it sent one (TLS only). */
  peerCertificate(): Uint8Array | undefined;
  /**
   * The connection's TLS channel binding (`atls/channel_binding.ts`), read on the first call
   * (after {@link handshake} resolved); later calls give the same value (not to be modified) or
   * the same error.
   *
   * @throws {ChannelBindingError} over plain TCP, a TLS version other than 1.3, or before the
   *   handshake finished
   */
  channelBinding(): Uint8Array;
  /**
   * Calls `listener` (with {@link CONNECTION_CLOSED}) once the connection closed (the peer closed
   * or reset it, or a deadline, an error or the server closed it): nothing written from then on
   * reaches the peer. At once when it is closed already. Returns what stops the watch.
   */
  onClose(listener: (reason: Error) => void): () => void;
  /**
   * Lets the peer send up to `bytes` more than the unread bound while a request body of that
   * size is being read (0 again after it): a body the API accepts is read as it arrives and must
   * not count as a flood.
   */
  allowBody(bytes: number): void;
}

/**
 * How a lingering close ended: the peer ended its side (or had already), more bytes than the
 * bound were discarded, or the connection was closed otherwise (the caller's deadline, an error,
 * the peer's reset).
 */
type LingerEnd = "peer_closed" | "bytes" | "closed";

/** Received bytes held before the socket is paused (back-pressure on a client that floods). */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * Received bytes a TLS connection may hold unread; beyond, it is closed. Pausing does not hold
 * back a TLS client: Deno's `node:tls` (2.9.6) goes on reading the TCP socket under a paused TLS
 * socket (also with the TCP socket paused) into native buffers the server cannot see or bound
 * (measured: a client pushed 190 MiB in 5 s into a server busy with its first request; the
 * server's resident memory grew to 443 MiB). So a TLS socket is never paused; its data is counted
 * here, and a client that sends this much more than the server has read (far beyond a request
 * head; a body being read is allowed on top, see {@link ByteConnection.allowBody}) is cut off.
 */
const MAX_UNREAD_TLS_BYTES = 1024 * 1024;

/** The connection was closed (by the server's deadline, the peer or an error). */
class ConnectionClosedError extends Error {}

/** Why {@link ByteConnection.onClose} listeners are called (one shared value, no stack trace). */
const CONNECTION_CLOSED = new ConnectionClosedError("connection closed");

/** The handshake did not finish (one shared value: a closed connection needs no stack trace). */
const HANDSHAKE_FAILED = new ConnectionClosedError("closed before the TLS handshake finished");

/** A {@link ByteConnection} over a `node:net` socket or a `node:tls` socket around one. */
export class StreamConnection implements ByteConnection {
  readonly #socket: net.Socket;
  readonly #raw: net.Socket;
  readonly #secured: Promise<void>;
  readonly #chunks: Uint8Array[] = [];
  /** Bytes of `#chunks[0]` already read. */
  #offset = 0;
  #buffered = 0;
  /** Bytes of a body being read that may arrive on top of {@link MAX_UNREAD_TLS_BYTES}. */
  #bodyAllowance = 0;
  #unreadCheck?: ReturnType<typeof setTimeout>;
  #paused = false;
  #ended = false;
  #closed = false;
  #wake?: () => void;
  /** Most bytes dropped once input is discarded ({@link discardInput}). */
  readonly #discardBound: number;
  /** Bytes that may still be dropped; `undefined` until input is discarded. */
  #discardLeft?: number;
  /** Why the discarding closed the connection, when it did. */
  #discardEnd?: LingerEnd;
  /** Resolves a lingering close ({@link closeLingering}) under way. */
  #lingered?: (end: LingerEnd) => void;
  readonly #pendingWrites = new Set<(error: Error) => void>();
  readonly #closeListeners = new Set<(reason: Error) => void>();
  /** The channel binding, or why there is none, once read ({@link channelBinding}). */
  #binding?: Uint8Array | ChannelBindingError;

  /**
   * Reads and writes `socket` (`raw` itself, or a TLS socket around it); `raw` is the socket
   * destroyed on close; at most `discardBound` bytes are dropped once input is discarded.
   */
  constructor(socket: net.Socket | tls.TLSSocket, raw: net.Socket, discardBound: number) {
    this.#socket = socket;
    this.#raw = raw;
    this.#discardBound = discardBound;
    const tlsSocket = socket !== raw;
    this.#secured = tlsSocket
      ? new Promise<void>((resolve, reject) => {
        socket.once("secure", () => resolve());
        socket.once("close", () => reject(HANDSHAKE_FAILED));
      })
      : Promise.resolve();
    this.#secured.catch(() => {});
    socket.on("data", (chunk: Uint8Array) => {
      if (this.#closed) return;
      if (this.#discardLeft !== undefined) {
        this.#discardLeft -= chunk.length;
        if (this.#discardLeft < 0) this.#endDiscarding("bytes");
        return;
      }
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (tlsSocket) {
        if (this.#buffered > MAX_UNREAD_TLS_BYTES + this.#bodyAllowance) this.#checkUnreadSoon();
      } else if (this.#buffered >= HIGH_WATER_BYTES && !this.#paused) {
        this.#paused = true;
        socket.pause();
      }
      this.#wakeReader();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wakeReader();
      if (this.#lingered) this.#peerEnded();
    });
    socket.on("close", () => this.#markClosed());
    socket.on("error", () => this.#markClosed());
    if (!tlsSocket) socket.resume();
  }

  /**
   * Closes the connection if it still holds too much unread once the reader has had its turn:
   * the runtime hands over a burst of received data in one task, before the reader could parse
   * the head that announces a body (and call {@link allowBody}), so the bound is checked after it.
   */
  #checkUnreadSoon(): void {
    if (this.#unreadCheck !== undefined) return;
    this.#unreadCheck = setTimeout(() => {
      this.#unreadCheck = undefined;
      if (!this.#closed && this.#buffered > MAX_UNREAD_TLS_BYTES + this.#bodyAllowance) {
        this.close();
      }
    }, 0);
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#closeListeners) listener(CONNECTION_CLOSED);
    this.#closeListeners.clear();
    this.#wakeReader();
    const lingered = this.#lingered;
    this.#lingered = undefined;
    lingered?.(this.#discardEnd ?? "closed");
    // An error (and its stack) is made only when a write is waiting: most closes have none.
    if (this.#pendingWrites.size === 0) return;
    const error = new ConnectionClosedError("connection closed");
    for (const reject of this.#pendingWrites) reject(error);
    this.#pendingWrites.clear();
  }

  handshake(): Promise<void> {
    return this.#secured;
  }

  onClose(listener: (reason: Error) => void): () => void {
    if (this.#closed) {
      listener(CONNECTION_CLOSED);
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      if (this.#closed) throw new ConnectionClosedError("connection closed");
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < into.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(into.length - n, chunk.length - this.#offset);
      into.set(chunk.subarray(this.#offset, this.#offset + take), n);
      n += take;
      this.#offset += take;
      if (this.#offset === chunk.length) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < HIGH_WATER_BYTES / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
    return n;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError("connection closed"));
    return new Promise<void>((resolve, reject) => {
      this.#pendingWrites.add(reject);
      this.#socket.write(bytes, (error?: Error | null) => {
        this.#pendingWrites.delete(reject);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  peerCertificate(): Uint8Array | undefined {
    if (this.#socket === this.#raw) return undefined;
    const raw = (this.#socket as tls.TLSSocket).getPeerCertificate?.(false)?.raw;
    return raw && raw.length > 0 ? new Uint8Array(raw) : undefined;
  }

  channelBinding(): Uint8Array {
    if (this.#binding === undefined) {
      if (this.#socket === this.#raw) {
        this.#binding = new ChannelBindingError("plain TCP connection: no TLS channel to bind");
      } else {
        try {
          this.#binding = serverChannelBinding(this.#socket as tls.TLSSocket);
        } catch (error) {
          if (!(error instanceof ChannelBindingError)) throw error;
          this.#binding = error;
        }
      }
    }
    if (this.#binding instanceof ChannelBindingError) throw this.#binding;
    return this.#binding;
  }

  allowBody(bytes: number): void {
    this.#bodyAllowance = bytes;
  }

  get discarding(): boolean {
    return this.#discardLeft !== undefined;
  }

  discardInput(): void {
    if (this.#closed || this.#discardLeft !== undefined) return;
    clearTimeout(this.#unreadCheck);
    this.#unreadCheck = undefined;
    this.#discardLeft = this.#discardBound - this.#buffered;
    this.#chunks.length = 0;
    this.#offset = 0;
    this.#buffered = 0;
    if (this.#discardLeft < 0) return this.#endDiscarding("bytes");
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  closeLingering(): Promise<LingerEnd> {
    this.discardInput();
    if (this.#closed) return Promise.resolve(this.#discardEnd ?? "closed");
    const lingering = new Promise<LingerEnd>((resolve) => this.#lingered = resolve);
    // Pending writes go out first, then the end of the stream.
    this.#socket.end();
    if (this.#ended) this.#peerEnded();
    return lingering;
  }

  /**
   * The peer ended its side while lingering: nothing more can arrive to be answered with a reset,
   * so the connection is closed once its own end is written (destroyed earlier, an answer still
   * held by the TLS layer would be lost).
   */
  #peerEnded(): void {
    this.#discardEnd = "peer_closed";
    if (this.#socket.writableFinished) this.close();
    else this.#socket.once("finish", () => this.close());
  }

  /** Closes the connection, the discarding (or lingering close) ended by `end`. */
  #endDiscarding(end: LingerEnd): void {
    this.#discardEnd = end;
    this.close();
  }

  close(): void {
    clearTimeout(this.#unreadCheck);
    this.#unreadCheck = undefined;
    this.#socket.destroy();
    if (this.#raw !== this.#socket) this.#raw.destroy();
    // What was received and not read is dropped: nothing more is served on a closed connection.
    this.#chunks.length = 0;
    this.#offset = 0;
    this.#buffered = 0;
    this.#markClosed();
  }
}

/**
 * A `node:stream` Duplex over one of Deno's own TCP connections (`Deno.listen`, `Deno.connect`).
 * The proxy's plain sockets (towards the application) are these, and the ingress hands each
 * accepted connection to a `node:tls` server running over one. Measured in Deno 2.9
 * (`bench/meshproxy/socket_paths.ts`, CPU per MiB received): a `node:net` socket costs about
 * ten times Deno's own `read`, and `node:tls` over this stream receives for about half of what a
 * listening `node:tls` server spends. Sending TLS over it costs more than `tls.connect`'s own
 * socket, so the egress keeps that. Deno's own TLS API cannot ask for a client certificate and
 * adds the public roots to any CA list, so TLS itself stays `node:tls`.
 *
 * Half-closes pass both ways (`end()` shuts down our write side, the peer's FIN ends the
 * readable side); the connection is closed once both are done or the stream is destroyed.
 *
 * @module
 */
import { Duplex } from "node:stream";

/** Size of one read from the connection. */
const READ_BUFFER_BYTES = 64 * 1024;

/** A Duplex stream over a Deno TCP connection, connected or still connecting. */
export class ConnDuplex extends Duplex {
  /**
   * True until the connection is established; still true in the "error" event of a connect that
   * failed (how a caller tells "could not connect" from "broke later").
   */
  connecting: boolean;
  /** The peer's address, once connected. */
  remoteAddress?: string;
  /** The peer's port, once connected. */
  remotePort?: number;
  readonly #ready: Promise<Deno.TcpConn>;
  #conn?: Deno.TcpConn;
  #reading = false;
  #closed = false;
  readonly #buffer = new Uint8Array(READ_BUFFER_BYTES);

  /** Wraps `conn`, or the connection `conn` resolves to (a failed connect destroys the stream). */
  constructor(conn: Deno.TcpConn | Promise<Deno.TcpConn>) {
    super({ allowHalfOpen: true });
    this.connecting = conn instanceof Promise;
    this.#ready = Promise.resolve(conn).then((c) => this.#adopt(c));
    this.#ready.catch((error: Error) => this.destroy(error));
  }

  #adopt(conn: Deno.TcpConn): Deno.TcpConn {
    if (this.destroyed) {
      conn.close();
      throw new Deno.errors.Interrupted("the stream was destroyed while connecting");
    }
    this.#conn = conn;
    this.connecting = false;
    conn.setNoDelay(true);
    this.remoteAddress = conn.remoteAddr.hostname;
    this.remotePort = conn.remoteAddr.port;
    this.emit("connect");
    return conn;
  }

  /** No-op: every connection has Nagle's algorithm off already. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#readLoop().catch((error: Error) => {
      if (!this.#closed) this.destroy(error);
    });
  }

  async #readLoop(): Promise<void> {
    const conn = await this.#ready;
    for (;;) {
      const n = await conn.read(this.#buffer);
      if (n === null) {
        this.push(null);
        return;
      }
      // A copy: the read buffer is reused, the chunk lives on in queues downstream.
      if (!this.push(this.#buffer.slice(0, n))) {
        this.#reading = false;
        return;
      }
    }
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll(chunk).then(() => callback(), (error: Error) => callback(error));
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    callback: (error?: Error | null) => void,
  ): void {
    let length = 0;
    for (const c of chunks) length += c.chunk.length;
    const joined = new Uint8Array(length);
    let offset = 0;
    for (const c of chunks) {
      joined.set(c.chunk, offset);
      offset += c.chunk.length;
    }
    this._write(joined, "buffer", callback);
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    const conn = this.#conn ?? await this.#ready;
    for (let offset = 0; offset < chunk.length;) {
      offset += await conn.write(chunk.subarray(offset));
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#ready.then((conn) => conn.closeWrite()).then(
      () => callback(),
      // The peer is gone already: nothing is left to shut down.
      () => callback(),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#closed = true;
    try {
      this.#conn?.close();
    } catch {
      // closed already
    }
    callback(error);
  }
}

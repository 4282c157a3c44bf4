/**
 * Moves bytes between a plain TCP connection (Deno's own socket: the application's side) and a
 * `node:tls` socket (the mesh side) with back-pressure both ways, counting them, optionally
 * rewriting the TLS-to-plain direction; half-closes propagate, and an error on either side (or a
 * rewrite that fails) closes both.
 *
 * The plain side is `Deno.TcpConn`, not `node:net`: Deno 2.9's `node:net` socket hands every read
 * to JavaScript in a freshly allocated (and, for a partial read, freshly copied) buffer that the
 * garbage collector frees later, which made receiving on it cost about 1 ms of CPU per MiB more
 * than `Deno.TcpConn.read` into a buffer of our own (measured in one process, 1 GiB over
 * loopback: 1.5–1.6 ms/MiB for both ends of a `node:net` connection, 0.5–0.6 with a
 * `Deno.TcpConn` receiving). TLS stays `node:tls` (see the README: Deno's own TLS cannot do the
 * mesh's checks).
 *
 * @module
 */
import type tls from "node:tls";
import { readControl } from "./read_control.ts";
import { readIntoOwnBuffers } from "./tls_reads.ts";

/** How long a side may stay half-open after its peer closed, ms. */
const LINGER_MS = 30_000;

/** Bytes asked for per read from the plain side (one read, one TLS write). */
const PLAIN_READ_BYTES = 64 * 1024;

/** Read buffers a {@link ReadBufferPool} keeps for reuse. */
const POOLED_READ_BUFFERS = 16;

/**
 * Bytes queued for the plain side above which the TLS side stops reading (and below which, once
 * written, it reads again).
 */
const PLAIN_QUEUE_HIGH_BYTES = 256 * 1024;

/**
 * A TLS source without a read control (see `read_control.ts`) is paused only when this much is
 * queued for the plain side: pausing such a socket does not stop its network reads, and Deno's
 * `node:tls` sockets could lose their "end" event after a pause/resume (measured: a half-closed
 * 400 kB transfer never ended).
 */
const UNCONTROLLED_PAUSE_BYTES = 4 * 1024 * 1024;

/** A rewrite of the TLS-to-plain direction: chunk in, chunks out; throwing closes both sides. */
type Rewrite = (chunk: Uint8Array) => Uint8Array[];

/** Byte counters of a joined pair, called with each forwarded piece's length. */
interface JoinCounters {
  readonly plainToSecure: (bytes: number) => void;
  readonly secureToPlain: (bytes: number) => void;
}

/**
 * Read buffers for the plain side, reused once the TLS socket is done with what was written from
 * them (its write callback ran). Fresh buffers cost page faults: an egress reading into a new
 * 64 KiB buffer each time took 3–67 minor faults and 1.7–2.8 ms of CPU per MiB, from this pool 0
 * faults and 1.2–1.6 ms. Reads stay at 64 KiB: with 256 KiB reads Deno's TLS layer copies each
 * write into a buffer above glibc's mmap threshold, and some runs took 120–290 faults per MiB.
 * One pool per listener.
 */
export class ReadBufferPool {
  readonly #free: Uint8Array[] = [];

  /** A buffer of {@link PLAIN_READ_BYTES}, from the pool when one is free. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(PLAIN_READ_BYTES);
  }

  /** Gives `buffer` back; only once nothing refers to its bytes any more. */
  give(buffer: Uint8Array): void {
    if (this.#free.length < POOLED_READ_BUFFERS) this.#free.push(buffer);
  }
}

/** A joined pair closed because no byte went either way for its idle timeout. */
export class IdleTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`idle for ${timeoutMs / 1000} s: closed`);
    this.name = "IdleTimeoutError";
  }
}

/** What {@link join} needs. */
interface JoinOptions {
  /**
   * The application's side, or its connection under way: the TLS side is read from at once
   * (its bytes queue for the plain side, with back-pressure) so that nothing it emits is missed;
   * a failed connection closes the TLS side with that error.
   */
  readonly plain: Deno.TcpConn | Promise<Deno.TcpConn>;
  /** The mesh side, after its handshake. */
  readonly secure: tls.TLSSocket;
  readonly counters: JoinCounters;
  /** Runs once, after both sides are closed, with the error (if any) that tore them down. */
  readonly onClose: (error?: Error) => void;
  /** Rewrites what the TLS side sends before it reaches the plain side. */
  readonly rewriteSecureToPlain?: Rewrite;
  /** Where the plain side's read buffers come from. */
  readonly readBuffers: ReadBufferPool;
  /**
   * Sees what the plain side sends, before it is written to the TLS side (the bytes are only
   * valid during the call).
   */
  readonly observePlainToSecure?: (bytes: Uint8Array) => void;
  /**
   * Closes both sides with an {@link IdleTimeoutError} once no byte was read from either side
   * for this long, ms (undefined: never).
   */
  readonly idleTimeoutMs?: number;
}

/** A joined pair. */
export interface Joined {
  /** Queues bytes for the plain side (counted by the caller), in order with the forwarded ones. */
  sendToPlain(bytes: Uint8Array): void;
  /** Closes both sides at once, with `error` as the reason. */
  abort(error: Error): void;
}

/**
 * Writes queued chunks to the plain connection one at a time; after {@link PlainWriter.end},
 * sends its FIN once the queue is empty.
 */
class PlainWriter {
  readonly #conn: Promise<Deno.TcpConn>;
  readonly #onError: (error: Error) => void;
  readonly #onLow: () => void;
  readonly #onFinished: () => void;
  #queue: Uint8Array[] = [];
  /** Per queued chunk: what to run once it is written (hands its read buffer back), if any. */
  #afterWrite: (((() => void) | undefined))[] = [];
  #queued = 0;
  #writing = false;
  #ending = false;
  #finished = false;

  constructor(
    conn: Promise<Deno.TcpConn>,
    handlers: { onError: (e: Error) => void; onLow: () => void; onFinished: () => void },
  ) {
    this.#conn = conn;
    this.#onError = handlers.onError;
    this.#onLow = handlers.onLow;
    this.#onFinished = handlers.onFinished;
  }

  /** Bytes queued and not yet written. */
  get queued(): number {
    return this.#queued;
  }

  /** Whether the FIN was sent. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Queues `bytes`; `written` runs once they are written (not when they are dropped). */
  push(bytes: Uint8Array, written?: () => void): void {
    if (bytes.length === 0 || this.#ending) return;
    this.#queue.push(bytes);
    this.#afterWrite.push(written);
    this.#queued += bytes.length;
    if (!this.#writing) void this.#run();
  }

  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    if (!this.#writing) void this.#run();
  }

  async #run(): Promise<void> {
    this.#writing = true;
    try {
      const conn = await this.#conn;
      while (this.#queue.length > 0) {
        const chunk = this.#queue[0]!;
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
        this.#queue.shift();
        this.#afterWrite.shift()?.();
        const wasHigh = this.#queued > PLAIN_QUEUE_HIGH_BYTES;
        this.#queued -= chunk.length;
        if (this.#queued === 0 || (wasHigh && this.#queued <= PLAIN_QUEUE_HIGH_BYTES)) {
          this.#onLow();
        }
      }
      if (this.#ending && !this.#finished) {
        await conn.closeWrite();
        this.#finished = true;
        this.#onFinished();
      }
    } catch (error) {
      this.#queue = [];
      this.#afterWrite = [];
      this.#queued = 0;
      this.#onError(error as Error);
    } finally {
      this.#writing = false;
    }
  }
}

/**
 * Destroys `socket` once both directions are done (our FIN sent, theirs received): Deno's TLS
 * sockets do not always close by themselves after a half-close in each direction.
 */
function closeWhenBothDone(socket: tls.TLSSocket): void {
  const check = () => {
    if (socket.writableFinished && socket.readableEnded) socket.destroy();
  };
  socket.on("finish", check);
  socket.on("end", check);
}

/** Waits for "drain" (true) or the socket's end of life (false). */
function drained(socket: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const done = (value: boolean) => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      resolve(value);
    };
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}

/**
 * Joins `plain` and `secure` both ways; see the module comment. Call it before anything read
 * from the TLS socket (its first "data" or "end" would be missed).
 */
export function join(options: JoinOptions): Joined {
  const { secure, counters, rewriteSecureToPlain } = options;
  const plain = Promise.resolve(options.plain);
  /** The connected plain side, once known. */
  let conn: Deno.TcpConn | undefined;
  let failure: Error | undefined;
  let plainClosed = false;
  let secureClosed = false;
  let plainReadDone = false;
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  let reported = false;

  const idle = idleWatch(
    options.idleTimeoutMs,
    () => fail(new IdleTimeoutError(options.idleTimeoutMs!)),
  );
  const reportIfBothClosed = () => {
    if (reported || !plainClosed || !secureClosed) return;
    reported = true;
    idle.stop();
    options.onClose(failure);
  };
  const closePlain = () => {
    if (plainClosed) return;
    plainClosed = true;
    clearTimeout(lingerTimer);
    try {
      conn?.close();
    } catch { /* already closed */ }
    reportIfBothClosed();
  };
  const fail = (error: Error) => {
    failure ??= error;
    idle.stop();
    secure.destroy();
    closePlain();
  };
  const closePlainIfDone = () => {
    if (plainReadDone && writer.finished) closePlain();
  };

  const control = readControl(secure);
  const writer = new PlainWriter(plain, {
    onError: fail,
    onLow: () => {
      if (control) control.start();
      else secure.resume();
    },
    onFinished: closePlainIfDone,
  });

  secure.on("error", fail);
  closeWhenBothDone(secure);
  secure.on("close", (hadError: boolean) => {
    secureClosed = true;
    if (hadError || plainClosed) {
      closePlain();
      reportIfBothClosed();
      return;
    }
    // The mesh side is gone: the application gets what is queued and a FIN, and is closed if
    // it has not finished within the linger time.
    writer.end();
    lingerTimer = setTimeout(closePlain, LINGER_MS);
  });

  /**
   * Forwards one read of the TLS side. `release` hands its buffer back once the last piece cut
   * from it is written (a rewrite's pieces are cut from the chunk or are copies of its own).
   */
  const onSecureRead = (chunk: Uint8Array, release?: () => void) => {
    idle.touch();
    let pieces: Uint8Array[];
    try {
      pieces = rewriteSecureToPlain ? rewriteSecureToPlain(chunk) : [chunk];
    } catch (error) {
      fail(error as Error);
      return;
    }
    let last = -1;
    for (let i = 0; i < pieces.length; i++) if (pieces[i]!.length > 0) last = i;
    if (last < 0) release?.();
    for (let i = 0; i <= last; i++) {
      const piece = pieces[i]!;
      if (piece.length === 0) continue;
      counters.secureToPlain(piece.length);
      writer.push(piece, i === last ? release : undefined);
    }
    if (writer.queued <= PLAIN_QUEUE_HIGH_BYTES) return;
    if (control) control.stop();
    else if (writer.queued > UNCONTROLLED_PAUSE_BYTES) secure.pause();
  };
  if (!readIntoOwnBuffers(secure, options.readBuffers, onSecureRead)) {
    secure.on("data", (chunk: Uint8Array) => onSecureRead(chunk));
  }
  secure.on("end", () => writer.end());

  void plain.then((connected) => {
    conn = connected;
    if (plainClosed) {
      // Torn down while connecting.
      connected.close();
      return;
    }
    return pumpPlainToSecure(
      connected,
      secure,
      options.readBuffers,
      (bytes) => {
        idle.touch();
        counters.plainToSecure(bytes);
      },
      options.observePlainToSecure,
    );
  }).then(
    () => {
      if (plainClosed) return;
      plainReadDone = true;
      if (!secure.destroyed) secure.end();
      closePlainIfDone();
    },
    (error: Error) => {
      if (!plainClosed) fail(error);
    },
  );

  return {
    sendToPlain: (bytes) => writer.push(bytes),
    abort: fail,
  };
}

/** Activity of a joined pair, for its idle timeout. */
interface IdleWatch {
  /** Notes a read on either side. */
  touch(): void;
  /** Ends the watch. */
  stop(): void;
}

/**
 * Calls `onIdle` once `timeoutMs` pass without a {@link IdleWatch.touch}. One timer per
 * connection, re-armed only when it fires (a touch just stores the time).
 */
function idleWatch(timeoutMs: number | undefined, onIdle: () => void): IdleWatch {
  if (timeoutMs === undefined) return { touch: () => {}, stop: () => {} };
  let last = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const quiet = performance.now() - last;
    if (quiet >= timeoutMs) {
      timer = undefined;
      onIdle();
    } else timer = setTimeout(check, timeoutMs - quiet);
  };
  timer = setTimeout(check, timeoutMs);
  return {
    touch: () => {
      last = performance.now();
    },
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Reads the plain side until its end, writing each read to the TLS socket; while the TLS socket
 * has more queued than its high-water mark, reads nothing (TCP flow control holds the sender).
 * Resolves at the plain side's end; also when the TLS socket closed first. A read buffer goes
 * back to `buffers` only from the write's callback: until then the TLS socket may still hold it.
 */
async function pumpPlainToSecure(
  plain: Deno.TcpConn,
  secure: tls.TLSSocket,
  buffers: ReadBufferPool,
  count: (bytes: number) => void,
  observe: ((bytes: Uint8Array) => void) | undefined,
): Promise<void> {
  for (;;) {
    const buffer = buffers.take();
    const n = await plain.read(buffer);
    if (n === null || secure.destroyed) {
      buffers.give(buffer);
      return;
    }
    count(n);
    observe?.(buffer.subarray(0, n));
    const written = secure.write(buffer.subarray(0, n), (error) => {
      if (!error) buffers.give(buffer);
    });
    if (!written && !(await drained(secure))) return;
  }
}

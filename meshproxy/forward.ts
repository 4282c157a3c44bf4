/**
 * Moves bytes between two sockets with back-pressure, counting them, optionally rewriting the
 * client-to-server direction; half-closes propagate, and an error on either side (or a rewrite
 * that fails) destroys both.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { readControl } from "./read_control.ts";

/** How long a side may stay half-open after its peer closed, ms. */
const LINGER_MS = 30_000;

/** A rewrite of one direction: chunk in, chunks out; throwing closes the connection. */
type Rewrite = (chunk: Uint8Array) => Uint8Array[];

/**
 * A TLS source without a read control (see `read_control.ts`) is paused only when this much is
 * queued for the other side: pausing such a socket does not stop its network reads, and Deno's
 * `node:tls` sockets could lose their "end" event after a pause/resume (measured: a half-closed
 * 400 kB transfer never ended).
 */
const UNCONTROLLED_PAUSE_BYTES = 4 * 1024 * 1024;

/**
 * Pumps `from` into `to`; `count` gets each chunk's length as it is written. While `to` has more
 * queued than its high-water mark, `from` reads nothing (back-pressure down to TCP, also for a
 * TLS source), and reads again on "drain".
 */
function pump(
  from: Duplex,
  to: Duplex,
  count: (bytes: number) => void,
  onError: (error: Error) => void,
  rewrite?: Rewrite,
): void {
  const control = readControl(from);
  from.on("data", (chunk: Uint8Array) => {
    let pieces: Uint8Array[];
    try {
      pieces = rewrite ? rewrite(chunk) : [chunk];
    } catch (error) {
      onError(error as Error);
      return;
    }
    let ok = true;
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      count(piece.length);
      ok = to.write(piece) && ok;
    }
    if (ok) return;
    if (control) control.stop();
    else if (to.writableLength > UNCONTROLLED_PAUSE_BYTES) from.pause();
  });
  to.on("drain", () => control ? control.start() : from.resume());
  from.on("end", () => to.end());
}

/**
 * Destroys `socket` once both directions are done (our FIN sent, theirs received): Deno's TLS
 * sockets do not always close by themselves after a half-close in each direction.
 */
function closeWhenBothDone(socket: Duplex): void {
  const check = () => {
    if (socket.writableFinished && socket.readableEnded) socket.destroy();
  };
  socket.on("finish", check);
  socket.on("end", check);
}

/**
 * Joins `client` and `upstream` both ways. `onClose` runs once, after both are closed; the
 * error (if any) that tore them down is passed along.
 */
export function join(
  client: Duplex,
  upstream: Duplex,
  counters: { clientToUpstream: (n: number) => void; upstreamToClient: (n: number) => void },
  onClose: (error?: Error) => void,
  rewriteClientBytes?: Rewrite,
): void {
  let failure: Error | undefined;
  let closed = 0;
  const fail = (error: Error) => {
    failure ??= error;
    client.destroy();
    upstream.destroy();
  };
  const closeOne = () => {
    if (++closed === 2) onClose(failure);
  };
  client.on("error", fail);
  upstream.on("error", fail);
  closeWhenBothDone(client);
  closeWhenBothDone(upstream);
  // Both sockets are half-open capable: "end" forwards a FIN, "close" means fully closed. When
  // one side is gone, the other gets its pending bytes flushed and a FIN, and is destroyed if
  // it has not closed itself within the linger time.
  const closeOther = (other: Duplex, hadError: boolean) => {
    if (hadError) {
      other.destroy();
      return;
    }
    other.end();
    const timer = setTimeout(() => other.destroy(), LINGER_MS);
    other.once("close", () => clearTimeout(timer));
  };
  client.on("close", (hadError: boolean) => {
    closeOther(upstream, hadError);
    closeOne();
  });
  upstream.on("close", (hadError: boolean) => {
    closeOther(client, hadError);
    closeOne();
  });
  pump(client, upstream, counters.clientToUpstream, fail, rewriteClientBytes);
  pump(upstream, client, counters.upstreamToClient, fail);
}

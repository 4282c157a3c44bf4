/**
 * A client that writes without waiting for answers: for tests that a server bounds what one
 * connection can make it buffer or handle.
 *
 * @module
 */
import type { Duplex } from "node:stream";

/** What {@link writeUntilClosed} saw. */
interface Flood {
  /** Whether the socket closed (the server cut the client off). */
  readonly closed: boolean;
  /** How many characters of `piece` were handed to the socket. */
  readonly handed: number;
  /** When the writing started (`Date.now()`). */
  readonly started: number;
}

/**
 * Writes `piece` to `socket` over and over until the socket closes, `maxBytes` were handed to it
 * or `maxMs` passed. When the socket's buffer is full it waits for a drain (at most 100 ms), and
 * it yields to the event loop after every write so the server side runs.
 */
export async function writeUntilClosed(
  socket: Duplex,
  piece: string,
  maxBytes: number,
  maxMs: number,
): Promise<Flood> {
  let closed = false;
  socket.once("close", () => closed = true);
  let handed = 0;
  const started = Date.now();
  while (!closed && handed < maxBytes && Date.now() - started < maxMs) {
    if (!socket.write(piece)) await drainedOrAfter(socket, 100);
    handed += piece.length;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return { closed, handed, started };
}

/** Resolves when `socket` drains, or after `ms` milliseconds if it does not. */
function drainedOrAfter(socket: Duplex, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    socket.once("drain", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

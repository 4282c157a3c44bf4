/**
 * Decrypted bytes of a `node:tls` socket read straight into buffers of ours, instead of one
 * freshly allocated buffer per read that the garbage collector frees later.
 *
 * Deno 2.9's `node:tls` supports this for sockets it creates with Node's `onread` option (the
 * TLS layer decrypts into the buffer it was given, `useUserBuffer`, and hands over only the
 * length): `tls.connect({ onread })`. A server's sockets cannot be given the option, and the
 * proxy switches a socket only after its handshake (no byte may reach a callback before the
 * connection is joined), so the socket's own `onread` state is set here after the fact: the
 * buffer, the callback and the buffer generator it keeps under symbols, and the TLS handle's
 * `useUserBuffer`. Found by their descriptions; where this Deno has none of them,
 * {@link readIntoOwnBuffers} says so and the caller reads "data" events as before.
 *
 * Measured (one process, 512 MiB through `node:tls` on loopback, CPU of both ends): 3.6–4.4 ms
 * per MiB with "data" events, 2.6–3.0 with the receiver reading into pooled buffers.
 *
 * @module
 */
import type tls from "node:tls";

/**
 * A read shorter than this fraction of its buffer is copied into one of its own size (and the
 * buffer reused at once), so queued reads hold at most this many bytes of buffer per byte: the
 * queue limits of `forward.ts` count bytes, and each held pooled buffer is 64 KiB.
 */
const SMALL_READ_FRACTION = 4;

/** Where read buffers come from, and go back to once nothing refers to their bytes. */
interface BufferPool {
  take(): Uint8Array;
  give(buffer: Uint8Array): void;
}

/** Called with each read: `bytes` lie in a buffer of the source; `release` hands it back. */
type OnRead = (bytes: Uint8Array, release: () => void) => void;

/** The socket's `onread` state, as Deno's `net.Socket` keeps it. */
interface UserBufferSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

function slotsOf(socket: object): UserBufferSlots | undefined {
  const symbols = Object.getOwnPropertySymbols(socket);
  const find = (description: string) => symbols.find((s) => s.description === description);
  const buffer = find("kBuffer");
  const callback = find("kBufferCb");
  const generator = find("kBufferGen");
  return buffer && callback && generator ? { buffer, callback, generator } : undefined;
}

/** The TLS handle's method that makes it decrypt into a given buffer. */
interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

function userBufferHandle(socket: tls.TLSSocket): UserBufferHandle | undefined {
  const handle = (socket as { _handle?: Partial<UserBufferHandle> | null })._handle;
  return typeof handle?.useUserBuffer === "function" ? handle as UserBufferHandle : undefined;
}

/**
 * From now on, `socket`'s decrypted bytes go to `onRead`, each read in a buffer from `buffers`
 * (what the socket had already buffered goes first, in the socket's own buffers, with a
 * `release` that does nothing; a read shorter than a quarter of its buffer comes as a copy of
 * its own, also with a `release` that does nothing). Returns false, changing
 * nothing, when this runtime's socket cannot do it. "end", "error" and "close" stay events;
 * there are no more "data" events. Stopping reads is left to `read_control.ts` (the callback
 * never asks for a pause: Deno's TLS layer would ignore it).
 */
export function readIntoOwnBuffers(
  socket: tls.TLSSocket,
  buffers: BufferPool,
  onRead: OnRead,
): boolean {
  const slots = slotsOf(socket);
  const handle = userBufferHandle(socket);
  if (!slots || !handle || socket.destroyed) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  if (s[slots.buffer] || s[slots.callback]) return false; // already set: not ours to change
  for (let queued = socket.read() as Uint8Array | null; queued !== null; queued = socket.read()) {
    onRead(queued, () => {});
  }
  s[slots.callback] = (length: number, buffer: Uint8Array): boolean => {
    if (length < buffer.length / SMALL_READ_FRACTION) {
      // Copied out and the buffer reused at once: a queued small read must not hold a whole
      // pooled buffer (a peer sending tiny records to a slow application would make the proxy
      // hold 64 KiB per byte queued).
      const copy = buffer.slice(0, length);
      buffers.give(buffer);
      onRead(copy, () => {});
      return true;
    }
    let released = false;
    onRead(buffer.subarray(0, length), () => {
      if (released) return;
      released = true;
      buffers.give(buffer);
    });
    return true;
  };
  s[slots.generator] = () => buffers.take();
  const first = buffers.take();
  s[slots.buffer] = first;
  handle.useUserBuffer(first);
  return true;
}

/**
 * Stopping and restarting the reads of a socket, so that a sender is held back (by TCP flow
 * control) while the other side of the proxy cannot take more bytes.
 *
 * A plain `node:net` socket does this through `pause()`/`resume()`. A `node:tls` socket of
 * Deno 2.9 does not: its TLS layer (`TLSWrap`) ignores `readStop`, so the TCP connection under
 * it is read and decrypted on and the plaintext piles up in the proxy's memory (measured: a TLS
 * server socket paused for 1.5 s had taken all 64 MiB its client sent, 195 MB resident; a slow
 * application behind the ingress made the proxy queue 117 MB and spend 7–19 ms of CPU per MiB
 * instead of 2–3). Its TCP handle (`_handle._nativeTcpHandle`, the handle the TLS layer reads
 * from) does stop: with it stopped, the same client could send 4 MiB (the kernel's socket
 * buffers) and the transfer completed intact after reads restarted.
 *
 * @module
 */
import type { Duplex } from "node:stream";

/** Stops and restarts reading from one socket. */
interface ReadControl {
  /** Reads no more bytes from the network until {@link ReadControl.start}. */
  stop(): void;
  /** Reads again. */
  start(): void;
}

/** The part of Deno's native TCP handle used here. */
interface NativeReadHandle {
  readStart(): number;
  readStop(): number;
}

function isNativeReadHandle(value: unknown): value is NativeReadHandle {
  const h = value as Partial<NativeReadHandle> | null | undefined;
  return typeof h?.readStart === "function" && typeof h?.readStop === "function";
}

/** Whether `socket` is a TLS socket. */
function isTlsSocket(socket: Duplex): boolean {
  return (socket as { encrypted?: boolean }).encrypted === true;
}

/**
 * The TCP handle under a `node:tls` socket of Deno, when it has one that can stop reading
 * (undefined for TLS over a JavaScript stream, or a runtime without it).
 */
function nativeTcpHandle(socket: Duplex): NativeReadHandle | undefined {
  const handle = (socket as { _handle?: { _nativeTcpHandle?: unknown } | null })._handle;
  const tcp = handle?._nativeTcpHandle;
  return isNativeReadHandle(tcp) ? tcp : undefined;
}

/**
 * The read control of `socket`: the TCP handle under a TLS socket (reads stop at the network),
 * `pause()`/`resume()` for any other stream. Returns undefined for a TLS socket without a
 * native TCP handle: pausing it would not stop the network reads (see the module comment).
 */
export function readControl(socket: Duplex): ReadControl | undefined {
  if (!isTlsSocket(socket)) {
    return { stop: () => socket.pause(), start: () => socket.resume() };
  }
  const tcp = nativeTcpHandle(socket);
  if (!tcp) return undefined;
  let stopped = false;
  return {
    stop: () => {
      if (stopped || socket.destroyed) return;
      stopped = true;
      tcp.readStop();
    },
    start: () => {
      if (!stopped || socket.destroyed) return;
      stopped = false;
      tcp.readStart();
    },
  };
}

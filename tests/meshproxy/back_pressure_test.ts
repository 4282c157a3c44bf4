/**
 * Back-pressure through both proxies: a receiver that stops reading holds the sender back (TCP
 * flow control reaches it through egress and ingress, in each direction), so neither proxy
 * queues what the receiver has not taken; once it reads again, every byte arrives in order.
 *
 * What the proxies hold is measured, not guessed from the total: once nothing moves, the bytes
 * the sender got rid of are in the kernel's queues of the three connections (read from
 * /proc/net/tcp), in the test's own two sockets' buffers, or in the proxies. The kernel's share
 * grows with load (receive buffers autotune up to `net.ipv4.tcp_rmem`'s maximum, 32 MiB here:
 * one socket held 29 MB under 6 concurrent runs), so a bound on the total flaked (26.9 MiB in
 * CI, 42.7 MB in such a run); the proxies' share does not (0.20–0.32 MB in 36 measurements
 * under 6 concurrent runs and a CPU hog, 0.22–0.30 MB alone).
 *
 * Without it (Deno's `node:tls` sockets keep reading while paused) the proxy reading from TLS
 * took the whole transfer into its memory: the sender finished all 64 MiB against a receiver
 * that read nothing.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startProxy } from "./helpers.ts";
import { freePort } from "../helpers/free_port.ts";
import { meshTest } from "./mesh_test_case.ts";

/** What the sender offers; far more than the kernel's buffers on three hops hold. */
const TOTAL = 64 * 1024 * 1024;
/**
 * The most both proxies together may hold while the receiver reads nothing. With back-pressure
 * each queues at most ~256 KiB for a side that does not take it (`forward.ts`); without it
 * they take all the sender offers beyond the kernel's buffers: at least 64 MiB − 36 MiB (the
 * last hop's 32 MiB receive and 4 MiB send buffer maxima).
 */
const PROXIES_HOLD_BELOW = 2 * 1024 * 1024;
/** Limits that only keep a broken run from hanging (never reached when it works), ms. */
const SETTLE_LIMIT_MS = 60_000;
const RECEIVE_LIMIT_MS = 120_000;
const CHUNK = 64 * 1024;

/** The byte at `offset` of the stream (a pattern that detects lost, repeated or reordered bytes). */
function patternByte(offset: number): number {
  return (offset * 7 + (offset >>> 16)) & 0xff;
}

/** Writes TOTAL pattern bytes with back-pressure, then ends; `sent()` counts accepted bytes. */
function sendPattern(socket: net.Socket): { sent: () => number } {
  let sent = 0;
  const next = () => {
    while (sent < TOTAL) {
      const chunk = new Uint8Array(CHUNK);
      for (let i = 0; i < CHUNK; i++) chunk[i] = patternByte(sent + i);
      sent += CHUNK;
      if (!socket.write(chunk)) {
        socket.once("drain", next);
        return;
      }
    }
    socket.end();
  };
  next();
  return { sent: () => sent };
}

/** Resolves once `check()` holds (polled every 25 ms, at most {@link SETTLE_LIMIT_MS}). */
async function until(check: () => boolean): Promise<void> {
  const started = performance.now();
  while (!check() && performance.now() - started < SETTLE_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The kernel's queues of one TCP connection end, from /proc/net/tcp. */
interface QueuedSocket {
  readonly local: string;
  readonly remote: string;
  /** Written and not yet acknowledged by the peer (sent or not). */
  readonly tx: number;
  /** Received and not yet read by its owner. */
  readonly rx: number;
}

/** `127.0.0.1:8080` as /proc/net/tcp writes it: `0100007F:1F90`. */
function procAddress(address: string): string {
  const [ip, port] = address.split(":");
  const hex = (n: number, digits: number) => n.toString(16).toUpperCase().padStart(digits, "0");
  return `${ip!.split(".").reverse().map((b) => hex(Number(b), 2)).join("")}:${
    hex(Number(port), 4)
  }`;
}

/**
 * The connected TCP sockets (this network namespace's) with an end on one of `addresses`. The
 * kernel writes /proc/net/tcp in pieces and a socket can be missed or listed twice when others
 * open or close meanwhile: sockets are told apart by inode, and the file is read again (at most
 * twice more) while fewer than `expected` are seen.
 */
function queuedSockets(addresses: readonly string[], expected: number): QueuedSocket[] {
  const wanted = new Map(addresses.map((a) => [procAddress(a), a]));
  const found = new Map<string, QueuedSocket>();
  for (let i = 0; i < 3 && found.size < expected; i++) {
    for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || (!wanted.has(f[1]!) && !wanted.has(f[2]!))) continue;
      // Not listening, and owned (inode 0: TIME_WAIT or orphaned, e.g. an earlier
      // connection's entry with one of the ports).
      if (f[3] === "0A" || f[9] === "0") continue;
      const [tx, rx] = f[4]!.split(":").map((h) => parseInt(h, 16));
      found.set(f[9]!, {
        local: wanted.get(f[1]!) ?? f[1]!,
        remote: wanted.get(f[2]!) ?? f[2]!,
        tx: tx!,
        rx: rx!,
      });
    }
  }
  return [...found.values()];
}

/** Where the bytes a sender got rid of are, once nothing moves. */
interface HeldAt {
  /** Bytes the sender got rid of. */
  readonly sent: number;
  /** In the kernel's queues of the three connections. */
  readonly kernel: number;
  /** In the test's own sockets (the sender's write buffer, the receiver's read buffer). */
  readonly test: number;
  /** The rest: in the proxies. */
  readonly proxies: number;
  readonly sockets: QueuedSocket[];
}

/**
 * Waits until the three connections are up (the ingress connects to the application only after
 * the mesh handshake) and neither the sender's count nor any of their kernel queues changed for
 * `quietMs`, then says where the bytes are. `test` gives the bytes in the test's own
 * sockets. (The TLS hop's queues hold ciphertext: up to 0.2 % more than the plaintext in them,
 * counted for the kernel.)
 */
async function heldAt(
  sent: () => number,
  addresses: readonly string[],
  test: () => number,
  quietMs = 600,
): Promise<HeldAt> {
  const look = () => {
    const sockets = queuedSockets(addresses, 6);
    const key = [sent(), ...sockets.map((s) => `${s.local}>${s.remote}:${s.tx}:${s.rx}`).sort()]
      .join(" ");
    return { sockets, key };
  };
  const started = performance.now();
  let last = look();
  let since = performance.now();
  while (performance.now() - started < SETTLE_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, 100));
    const now = look();
    if (now.key !== last.key || now.sockets.length !== 6) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      const kernel = now.sockets.reduce((n, s) => n + s.tx + s.rx, 0);
      const inTest = test();
      return {
        sent: sent(),
        kernel,
        test: inTest,
        proxies: sent() - kernel - inTest,
        sockets: now.sockets,
      };
    }
  }
  throw new Error(
    `not settled with both ends of the three connections after ${SETTLE_LIMIT_MS} ms: ` +
      `at ${sent()} bytes, ${JSON.stringify(last.sockets)}`,
  );
}

/** The assertions on where the bytes are while the receiver reads nothing. */
function assertHeldBack(at: HeldAt, who: string): void {
  const where = `${who} got rid of ${at.sent} bytes while the receiver read nothing: ` +
    `${at.kernel} in the kernel's queues, ${at.test} in the test's sockets, ${at.proxies} in ` +
    `the proxies (${JSON.stringify(at.sockets)})`;
  assert.ok(at.sent < TOTAL, where);
  assert.ok(at.proxies < PROXIES_HOLD_BELOW, where);
}

/**
 * Reads everything from a paused socket once resumed, checking the pattern as it goes; rejects
 * when the end has not come within `timeoutMs`.
 */
function receivePattern(socket: net.Socket, timeoutMs = RECEIVE_LIMIT_MS): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const timer = setTimeout(
      () => reject(new Error(`no end after ${received} bytes and ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once("end", () => clearTimeout(timer));
    socket.on("data", (chunk: Uint8Array) => {
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== patternByte(received + i)) {
          reject(new Error(`byte ${received + i} is wrong`));
          socket.destroy();
          return;
        }
      }
      received += chunk.length;
    });
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
  });
}

async function pairWith(root: string, onApp: (socket: net.Socket) => void) {
  const appSockets: net.Socket[] = [];
  let closing = false;
  const app = net.createServer({ allowHalfOpen: true }, (socket) => {
    // One arriving after a failed run began to close would hold the egress's close forever.
    if (closing) return void socket.destroy();
    appSockets.push(socket);
    onApp(socket);
  });
  const appPort = await new Promise<number>((r) =>
    app.listen(0, "127.0.0.1", () => r((app.address() as net.AddressInfo).port))
  );
  const ca = await meshAuthority();
  const server = await startProxy(
    { podPorts: "7000" },
    await podDir(root, "web", await issuePod(ca, ["web"])),
    { upstreamPorts: new Map([[7000, appPort]]) },
  );
  const egressPort = await freePort();
  const client = await startProxy(
    { ingress: "DISABLED", egress: `web#127.0.0.1:${egressPort}#web:7000` },
    await podDir(root, "bot", await issuePod(ca, ["bot"])),
    { resolve: () => ({ host: "127.0.0.1", port: inboundPort(server, "port-7000") }) },
  );
  const close = async () => {
    closing = true;
    for (const socket of appSockets) socket.destroy();
    await client.close();
    await server.close();
    await new Promise((r) => app.close(r));
  };
  const addresses = [egressPort, inboundPort(server, "port-7000"), appPort].map((port) =>
    `127.0.0.1:${port}`
  );
  return { egressPort, addresses, close };
}

meshTest(
  "back-pressure: an application that stops reading holds the mesh client back",
  async (root) => {
    let appSocket: net.Socket | undefined;
    const { egressPort, addresses, close } = await pairWith(root, (socket) => {
      socket.pause();
      appSocket = socket;
    });
    const client = net.connect({ host: "127.0.0.1", port: egressPort, allowHalfOpen: true });
    client.on("error", () => {});
    try {
      await new Promise((r) => client.once("connect", r));
      const sender = sendPattern(client);
      // The egress reads nothing before the mesh handshake; the ingress connects to the
      // application after it.
      await until(() => appSocket !== undefined);
      assert.ok(appSocket, "the application got the connection");
      const at = await heldAt(
        sender.sent,
        addresses,
        () => client.writableLength + (appSocket?.readableLength ?? 0),
      );
      assertHeldBack(at, "the mesh client");
      const received = receivePattern(appSocket);
      appSocket.resume();
      assert.equal(await received, TOTAL);
    } finally {
      client.destroy(); // else a failed run waits for a connection nobody reads from
      await close();
    }
  },
);

meshTest(
  "back-pressure: a mesh client that stops reading holds the application back",
  async (root) => {
    let sender: { sent: () => number } | undefined;
    let appSocket: net.Socket | undefined;
    const { egressPort, addresses, close } = await pairWith(root, (socket) => {
      socket.on("error", () => {});
      appSocket = socket;
      sender = sendPattern(socket);
    });
    const client = net.connect({ host: "127.0.0.1", port: egressPort, allowHalfOpen: true });
    client.on("error", () => {});
    client.pause();
    try {
      // The ingress connects to the application once the mesh handshake is done.
      await new Promise((r) => client.once("connect", r));
      await until(() => sender !== undefined);
      assert.ok(sender, "the application got the connection");
      const at = await heldAt(
        sender.sent,
        addresses,
        () => (appSocket?.writableLength ?? 0) + client.readableLength,
      );
      assertHeldBack(at, "the application");
      const received = receivePattern(client);
      client.resume();
      assert.equal(await received, TOTAL);
    } finally {
      client.destroy(); // else a failed run waits for a connection nobody reads from
      await close();
    }
  },
);

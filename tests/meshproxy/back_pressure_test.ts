/**
 * Back-pressure through both proxies: a receiver that stops reading holds the sender back (TCP
 * flow control reaches it through egress and ingress, in each direction), so neither proxy
 * queues what the receiver has not taken; once it reads again, every byte arrives in order.
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
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startProxy } from "./helpers.ts";
import { freePort } from "../helpers/free_port.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** What the sender offers; far more than the kernel's buffers on three hops hold. */
const TOTAL = 64 * 1024 * 1024;
/**
 * The most the sender may get rid of while the receiver reads nothing: half of what it offers.
 * Without back-pressure it gets rid of all 64 MiB; with it ~14 MiB alone, but up to 26.9 MiB was
 * seen under the parallel suite (the kernel's socket buffers on three hops grow with load).
 */
const HELD_BACK_BELOW = 32 * 1024 * 1024;
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

/** Resolves once `value()` has not changed for `quietMs` (or rejects after `timeoutMs`). */
async function settled(value: () => number, quietMs = 600, timeoutMs = 15_000): Promise<number> {
  const started = performance.now();
  let last = value();
  let since = performance.now();
  while (performance.now() - started < timeoutMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = value();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return now;
  }
  throw new Error(`still moving after ${timeoutMs} ms (at ${last} bytes)`);
}

/**
 * Reads everything from a paused socket once resumed, checking the pattern as it goes; rejects
 * when the end has not come within `timeoutMs`.
 */
function receivePattern(socket: net.Socket, timeoutMs = 30_000): Promise<number> {
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
  const app = net.createServer({ allowHalfOpen: true }, (socket) => {
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
    for (const socket of appSockets) socket.destroy();
    await client.close();
    await server.close();
    await new Promise((r) => app.close(r));
  };
  return { egressPort, close };
}

Deno.test({
  name: "back-pressure: an application that stops reading holds the mesh client back",
  ...opts,
  fn: () =>
    withTempDir(async (root) => {
      let appSocket: net.Socket | undefined;
      const { egressPort, close } = await pairWith(root, (socket) => {
        socket.pause();
        appSocket = socket;
      });
      try {
        const client = net.connect({ host: "127.0.0.1", port: egressPort, allowHalfOpen: true });
        client.on("error", () => {});
        await new Promise((r) => client.once("connect", r));
        const sender = sendPattern(client);
        const heldAt = await settled(sender.sent);
        assert.ok(
          heldAt < HELD_BACK_BELOW,
          `the sender got rid of ${heldAt} bytes while the application read nothing`,
        );
        assert.ok(appSocket, "the application got the connection");
        const received = receivePattern(appSocket);
        appSocket.resume();
        assert.equal(await received, TOTAL);
        client.destroy();
      } finally {
        await close();
      }
    }),
});

Deno.test({
  name: "back-pressure: a mesh client that stops reading holds the application back",
  ...opts,
  fn: () =>
    withTempDir(async (root) => {
      let sender: { sent: () => number } | undefined;
      const { egressPort, close } = await pairWith(root, (socket) => {
        socket.on("error", () => {});
        sender = sendPattern(socket);
      });
      try {
        const client = net.connect({ host: "127.0.0.1", port: egressPort, allowHalfOpen: true });
        client.on("error", () => {});
        client.pause();
        // The ingress connects to the application once the mesh handshake is done.
        await new Promise((r) => client.once("connect", r));
        for (let i = 0; i < 200 && !sender; i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(sender, "the application got the connection");
        const heldAt = await settled(sender.sent);
        assert.ok(
          heldAt < HELD_BACK_BELOW,
          `the application got rid of ${heldAt} bytes while the client read nothing`,
        );
        const received = receivePattern(client);
        client.resume();
        assert.equal(await received, TOTAL);
        client.destroy();
      } finally {
        await close();
      }
    }),
});

/**
 * Slow and idle clients against the Coordinator's connection layer: connections that never
 * finish the TLS handshake, a request head (also one dripping a byte at a time) or sit idle after
 * an answer are closed by their deadline; the per-address cap closes excess connections at once
 * and the total cap queues them, while well-behaved clients are still served. Each test waits for
 * the server to close a connection and fails (the close never comes) without the bound; the
 * generous guard only keeps a failing run short.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import { PinnedHttpsClient } from "../../../atls/pinned_client.ts";
import { type Route } from "../../../coordinator/http/server.ts";
import type { ConnectionLimits } from "../../../coordinator/http/connection_limits.ts";
import { startTestHttps } from "./https_fixture.ts";
import { uniformLimits } from "./uniform_limits.ts";

const routes: Route[] = [
  { method: "POST", path: "/echo", handle: (r) => ({ body: { got: r.body } }) },
];

/** Limits small enough for a test: every deadline 400 ms, caps high unless a test lowers them. */
const LIMITS = uniformLimits(400);

/** Longest any test waits for the server to close a connection (a failing run ends here). */
const GUARD_MS = 8000;

async function start(limits: Partial<ConnectionLimits> = {}) {
  const { server, metrics } = await startTestHttps({
    api: "mesh",
    routes,
    limits: { ...LIMITS, ...limits },
    maxBodyBytes: 4096,
  });
  const closed = (reason: string) => metrics.connectionsClosed.value({ api: "mesh", reason });
  return { server, metrics, closed };
}

/**
 * Registers the test `name`: `fn` runs against a fresh server with the test limits (its
 * `closed(reason)` counts the connections it closed for `reason`), closed afterwards.
 */
function boundsTest(
  name: string,
  fn: (
    server: Awaited<ReturnType<typeof start>>["server"],
    closed: (reason: string) => number,
  ) => Promise<void>,
): void {
  Deno.test(name, async () => {
    const { server, closed } = await start();
    try {
      await fn(server, closed);
    } finally {
      await server.close();
    }
  });
}

/** Resolves once `socket` is closed; rejects after the guard. */
function closeOf(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const guard = setTimeout(
      () => reject(new Error(`server kept the connection open for ${GUARD_MS} ms`)),
      GUARD_MS,
    );
    socket.once("close", () => {
      clearTimeout(guard);
      resolve();
    });
  });
}

/** Reads `conn` until the server ends it; rejects after the guard. */
async function untilClosed(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  const guard = setTimeout(() => conn.close(), GUARD_MS);
  try {
    while (await conn.read(buffer) !== null) {
      // discard
    }
  } catch (error) {
    if (error instanceof Deno.errors.BadResource) {
      throw new Error(`server kept the connection open for ${GUARD_MS} ms`);
    }
    // reset by the server: closed
  } finally {
    clearTimeout(guard);
  }
  try {
    conn.close();
  } catch {
    // closed by the guard
  }
}

/** A TLS connection with the handshake done. */
async function tlsConnect(port: number, localAddress?: string): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    rejectUnauthorized: false,
    ...(localAddress ? { localAddress } : {}),
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("close", () => reject(new Error("closed before the handshake finished")));
  });
  return socket;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

boundsTest(
  "a TCP connection that never starts the TLS handshake is closed at the handshake deadline",
  async (server, closed) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await untilClosed(conn);
    assert.equal(closed("handshake_timeout"), 1);
  },
);

boundsTest(
  "a handshake stopped after the ClientHello's first bytes is closed at the handshake deadline",
  async (server, closed) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    // The first bytes of a TLS record header announcing a ClientHello, then nothing.
    await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    await untilClosed(conn);
    assert.equal(closed("handshake_timeout"), 1);
  },
);

boundsTest(
  "plain HTTP sent to the TLS port ends the connection as a failed handshake",
  async (server, closed) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    await untilClosed(conn);
    assert.equal(closed("tls_handshake_failed"), 1);
  },
);

boundsTest(
  "a connection that sends half a request head is closed at the head deadline",
  async (server, closed) => {
    const socket = await tlsConnect(server.port);
    socket.write("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-le");
    await closeOf(socket);
    assert.equal(closed("head_timeout"), 1);
  },
);

boundsTest(
  "a head dripping one byte at a time, each well inside the deadline, is still closed at it",
  async (server, closed) => {
    const socket = await tlsConnect(server.port);
    const head = "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";
    const dripping = (async () => {
      for (const c of head) {
        if (socket.destroyed) return;
        socket.write(c);
        await delay(50);
      }
    })();
    await closeOf(socket);
    await dripping;
    assert.equal(closed("head_timeout"), 1);
  },
);

boundsTest(
  "a connection that sends nothing after the handshake is closed at the head deadline",
  async (server, closed) => {
    const socket = await tlsConnect(server.port);
    await closeOf(socket);
    assert.equal(closed("head_timeout"), 1);
  },
);

boundsTest(
  "a keep-alive connection idle after its answer is closed at the idle deadline",
  async (server, closed) => {
    const socket = await tlsConnect(server.port);
    socket.write("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}");
    let answer = "";
    socket.on("data", (chunk: Uint8Array) => answer += new TextDecoder().decode(chunk));
    await closeOf(socket);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(answer, /connection: close/);
    assert.equal(closed("idle_timeout"), 1);
  },
);

boundsTest(
  "a body that stops arriving is answered 408 and closed at the request deadline",
  async (server, closed) => {
    const socket = await tlsConnect(server.port);
    socket.write("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{");
    let answer = "";
    socket.on("data", (chunk: Uint8Array) => answer += new TextDecoder().decode(chunk));
    await closeOf(socket);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /\r\nconnection: close\r\n/);
    assert.equal(closed("request_timeout"), 1);
  },
);

Deno.test("connections over the per-address cap are closed at once; other addresses and later ones are served", async () => {
  const { server, closed } = await start({
    maxConnectionsPerAddress: 3,
    headersTimeoutMs: 60_000,
    handshakeTimeoutMs: 60_000,
  });
  const held: tls.TLSSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) held.push(await tlsConnect(server.port));
    // The fourth from the same address is closed before its handshake.
    await assert.rejects(tlsConnect(server.port), /closed before the handshake finished/);
    assert.equal(closed("address_limit"), 1);
    // Another loopback address is not affected.
    const other = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
    const fromOther = await tlsConnect(server.port, "127.0.0.2");
    fromOther.destroy();
    // Once one of the three closes, the address may connect again.
    const first = held.shift()!;
    first.destroy();
    await delay(50);
    assert.deepEqual(await other.request("POST", "/echo", { a: 1 }), { got: { a: 1 } });
    other.close();
  } finally {
    for (const socket of held) socket.destroy();
    await server.close();
  }
});

Deno.test("over the total cap a client waits in the accept queue and is served once a slow connection is closed", async () => {
  const { server, closed } = await start({ maxConnections: 3, headersTimeoutMs: 200 });
  const events: string[] = [];
  const held: tls.TLSSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const socket = await tlsConnect(server.port);
      socket.write("POST /echo HTTP/1.1\r\nho");
      socket.once("close", () => events.push("slow connection closed"));
      held.push(socket);
    }
    const client = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
    const answer = await client.request("POST", "/echo", { b: 2 });
    events.push("queued client served");
    client.close();
    assert.deepEqual(answer, { got: { b: 2 } });
    assert.equal(events[0], "slow connection closed", events.join(", "));
    assert.equal(closed("head_timeout") >= 1, true);
  } finally {
    for (const socket of held) socket.destroy();
    await server.close();
  }
});

Deno.test("1,000 connections that never start the handshake are all closed by the deadline, and a client is served meanwhile", async () => {
  const { server, closed } = await start({
    maxConnections: 2000,
    maxConnectionsPerAddress: 2000,
    headersTimeoutMs: 1500,
    handshakeTimeoutMs: 1500,
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 1000; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    const client = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
    assert.deepEqual(await client.request("POST", "/echo", { c: 3 }), { got: { c: 3 } });
    client.close();
    await Promise.all(conns.map(untilClosed));
    assert.equal(closed("handshake_timeout"), 1000);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
    await server.close();
  }
});

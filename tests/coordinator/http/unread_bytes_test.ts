/**
 * A client that keeps sending while the server is not reading (its request is being handled)
 * is held to a bounded amount of received data: over plain TCP by back-pressure, over TLS by
 * closing the connection. Deno's `node:tls` (2.9.6) went on reading the TCP socket under a paused
 * TLS socket: a client pushed 190 MiB in 5 s into a server busy with its first request, whose
 * resident memory grew to 443 MiB (measured in separate processes).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../../atls/certificate.ts";
import {
  type IncomingRequest,
  type RunningServer,
  serveHttp1,
} from "../../../coordinator/http/http1_server.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../../coordinator/http/connection_limits.ts";
import { writeUntilClosed } from "../../helpers/socket_flood.ts";

const EMPTY = new Uint8Array();
const ASCII = new TextEncoder();

/** A TLS server on a free loopback port whose one route answers what `handle` returns. */
async function serveTls(
  handle: (request: IncomingRequest) => Promise<Uint8Array>,
): Promise<RunningServer> {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  return await serveHttp1({
    port: 0,
    host: "127.0.0.1",
    tls: { certPem: id.certPem, keyPem: id.keyPem },
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 20_000 },
  }, {
    handle: async (request) => ({
      status: 200,
      contentType: "text/plain",
      body: await handle(request),
    }),
    refuse: (_request, status) => ({ status, contentType: "text/plain", body: EMPTY }),
    connectionClosed: () => {},
  });
}

Deno.test("a TLS client pushing requests while its first is being handled is cut off, not buffered", async () => {
  let release!: () => void;
  const busy = new Promise<void>((resolve) => release = resolve);
  const server = await serveTls(async (request) => {
    await request.body(1024);
    await busy;
    return EMPTY;
  });
  const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
  socket.on("error", () => {});
  try {
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const request = "GET / HTTP/1.1\r\nhost: c\r\n\r\n";
    socket.write(request);
    const piece = request.repeat(4000); // ~108 kB of pipelined requests
    const giveUpAt = 64 * 1024 * 1024;
    const { closed, handed, started } = await writeUntilClosed(socket, piece, giveUpAt, 10_000);
    assert.ok(
      closed,
      `the server took ${Math.round(handed / 1048576)} MiB in ${Date.now() - started} ms ` +
        "without reading it and kept the connection",
    );
  } finally {
    release();
    socket.destroy();
    await server.close();
  }
});

Deno.test("a TLS client sending a body the API accepts, far over the unread bound, is served", async () => {
  const server = await serveTls(async (request) => {
    const body = await request.body(16 * 1024 * 1024);
    return ASCII.encode(String(body.length));
  });
  const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
  const failed = new Promise<never>((_, reject) => socket.once("error", reject));
  try {
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const size = 8 * 1024 * 1024; // 8x the unread bound; the client writes it all at once
    let answer = "";
    const answered = new Promise<void>((resolve) => {
      socket.on("data", (chunk: Uint8Array) => {
        answer += new TextDecoder().decode(chunk);
        if (answer.includes("\r\n\r\n") && answer.endsWith(String(size))) resolve();
      });
    });
    socket.write(`POST / HTTP/1.1\r\nhost: c\r\ncontent-length: ${size}\r\n\r\n`);
    socket.write(new Uint8Array(size).fill(0x61));
    await Promise.race([answered, failed]);
    assert.match(answer, /^HTTP\/1\.1 200 /);
  } finally {
    socket.destroy();
    await server.close();
  }
});

/** A TLS connection to `port` that sends a head declaring `length` bytes and then `sent` of them. */
function burst(port: number, length: number, sent: number) {
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  socket.on("error", () => {});
  let answer = "";
  socket.on("data", (d: Uint8Array) => answer += new TextDecoder().decode(d));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const written = new Promise<void>((resolve) => {
    socket.once("secureConnect", async () => {
      socket.write(`POST / HTTP/1.1\r\nhost: c\r\ncontent-length: ${length}\r\n\r\n`);
      const piece = new Uint8Array(64 * 1024).fill(0x61);
      for (let n = 0; n < sent && !socket.destroyed; n += piece.length) {
        await new Promise<void>((done) => socket.write(piece, () => done()));
      }
      resolve();
    });
  });
  return { socket, closed, written, answer: () => answer };
}

Deno.test("bodies sent before the handler reads them are allowed unread only up to the port's total", async () => {
  // Review (transit memory): with a per-body allowance only, every connection of a flood could
  // hold a whole body unread (1 MiB + 4 MiB each) while its caller was being authorised. Now one
  // connection gets the allowance; another, beyond the port's total, is held to the 1 MiB bound.
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let entered = 0;
  const server = await serveHttp1({
    port: 0,
    host: "127.0.0.1",
    tls: { certPem: id.certPem, keyPem: id.keyPem },
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 20_000 },
    bodyAllowanceBeforeRead: { perBody: 4 * 1024 * 1024, inAll: 4 * 1024 * 1024 },
  }, {
    handle: async (request) => {
      entered++;
      await gate;
      const body = await request.body(4 * 1024 * 1024);
      return { status: 200, contentType: "text/plain", body: ASCII.encode(String(body.length)) };
    },
    refuse: (_request, status) => ({ status, contentType: "text/plain", body: EMPTY }),
    connectionClosed: () => {},
  });
  const size = 3 * 1024 * 1024;
  const first = burst(server.port, size, size);
  let second: ReturnType<typeof burst> | undefined;
  try {
    while (entered < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    second = burst(server.port, size, size);
    const guard = new Promise<"kept">((resolve) => setTimeout(() => resolve("kept"), 8_000));
    assert.equal(
      await Promise.race([second.closed.then(() => "closed" as const), guard]),
      "closed",
      "a second body beyond the port's allowance was kept unread",
    );
    await first.written;
    assert.equal(
      first.socket.destroyed,
      false,
      "the first body, within the allowance, was cut off",
    );
    release();
    while (!first.answer().endsWith("\r\n\r\n3145728") && !first.socket.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.match(first.answer(), /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n3145728$/);
  } finally {
    release();
    first.socket.destroy();
    second?.socket.destroy();
    await server.close();
  }
});

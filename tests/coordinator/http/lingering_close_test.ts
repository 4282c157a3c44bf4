/**
 * Lingering close: after an answer that ends the connection (413, 431, 408, ...) the server
 * half-closes (over TLS `close_notify`, then FIN) and reads and discards what the client still
 * sends, until the client ends its side, for at most the linger time and bytes. Closed at once
 * instead, the server's kernel answered the client's further bytes with a reset, which made the
 * client's kernel discard the answer before the client read it: a client uploading a 12 MiB body
 * regardless of the answer lost its 413 every time (tests/coordinator/transit's body bounds test
 * hung on it under the parallel run). The linger keeps the connection's slot in the caps, and ends
 * at once when the client closes.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
} from "../../../coordinator/http/connection_limits.ts";
import { createRequestHandler, listenHttp, type Route } from "../../../coordinator/http/server.ts";
import { CoordinatorMetrics } from "../../../coordinator/http/metrics.ts";
import { Logger } from "../../../util/log/logger.ts";
import { startTestHttps } from "./https_fixture.ts";

const routes: Route[] = [
  { method: "POST", path: "/echo", handle: (r) => ({ body: { got: r.body } }) },
];

const MiB = 1024 * 1024;

/** Longest a test waits for the server to close a connection (a failing run ends here). */
const GUARD_MS = 20_000;

/** The HTTPS test server (bodies up to 4 KiB) with `limits` on top of the defaults. */
async function start(limits: Partial<ConnectionLimits> = {}) {
  const { server, metrics } = await startTestHttps({
    api: "user",
    routes,
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 20_000, ...limits },
    maxBodyBytes: 4096,
  });
  const closed = (reason: string) => metrics.connectionsClosed.value({ api: "user", reason });
  return { server, closed };
}

/** A TLS client that goes on sending after the server's end of stream (`allowHalfOpen`). */
async function tlsClient(port: number): Promise<Client> {
  // `allowHalfOpen` is honoured by `tls.connect` (passed on to its `net.Socket`; without it the
  // client ends its side when the server does), though @types/node's options do not list it.
  const options = { host: "127.0.0.1", port, rejectUnauthorized: false, allowHalfOpen: true };
  const socket = tls.connect(options as tls.ConnectionOptions);
  const client = new Client(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("close", () => reject(new Error("closed before the handshake finished")));
  });
  return client;
}

/** What a client received, and whether the server closed its connection. */
class Client {
  readonly socket: tls.TLSSocket;
  answer = "";
  /** Whether the server ended its side of the stream (FIN, after `close_notify` over TLS). */
  ended = false;
  /** Resolves once the connection is closed; rejects after {@link GUARD_MS}. */
  readonly closed: Promise<void>;
  #isClosed = false;

  constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.answer += new TextDecoder().decode(chunk));
    socket.on("end", () => this.ended = true);
    socket.on("error", () => {});
    this.closed = new Promise<void>((resolve, reject) => {
      const guard = setTimeout(
        () => reject(new Error(`server kept the connection open for ${GUARD_MS} ms`)),
        GUARD_MS,
      );
      socket.once("close", () => {
        this.#isClosed = true;
        clearTimeout(guard);
        resolve();
      });
    });
    this.closed.catch(() => {});
  }

  /** Resolves once the server ended its side or the connection closed. */
  async endOrClose(): Promise<void> {
    while (!this.ended && !this.#isClosed) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Writes `total` bytes in pieces of `piece` (at most, fewer once the connection is closed),
   * waiting `pauseMs` between pieces (0: only for the socket to drain, as fast as it goes: the
   * answer is read only while it waits). Returns the bytes written.
   */
  async send(total: number, piece: number, pauseMs = 0): Promise<number> {
    const bytes = new Uint8Array(piece).fill(0x41);
    let sent = 0;
    while (!this.#isClosed && sent < total) {
      const drained = this.socket.write(bytes);
      sent += piece;
      if (!drained) {
        await Promise.race([
          new Promise((resolve) => this.socket.once("drain", resolve)),
          this.closed.catch(() => {}),
        ]);
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return sent;
  }
}

/** A head declaring a body of `bytes` for `/echo` (the test server takes at most 4 KiB). */
const head = (bytes: number) =>
  `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${bytes}\r\n\r\n`;

Deno.test("a client that keeps uploading a 12 MiB body after the server's 413 receives the 413", async () => {
  const { server, closed } = await start();
  try {
    for (let i = 0; i < 3; i++) {
      const client = await tlsClient(server.port);
      client.socket.write(head(12 * MiB));
      await client.send(12 * MiB, 64 * 1024);
      client.socket.end();
      await client.closed;
      assert.match(client.answer, /^HTTP\/1\.1 413 /, `upload ${i}: the answer was lost`);
      assert.match(client.answer, /\r\nconnection: close\r\n/);
    }
    // Each upload ended with the client's end of stream, not a bound.
    assert.equal(closed("linger_bytes"), 0);
    assert.equal(closed("linger_timeout"), 0);
  } finally {
    await server.close();
  }
});

Deno.test("a client that ends its side right after its request still receives the whole answer", async () => {
  const { server, closed } = await start();
  try {
    for (let i = 0; i < 3; i++) {
      const client = await tlsClient(server.port);
      client.socket.end(head(10 * MiB));
      await client.closed;
      assert.match(client.answer, /^HTTP\/1\.1 413 [^]*\r\n\r\n\{"error":/, `request ${i}`);
    }
    assert.equal(closed("linger_timeout"), 0);
  } finally {
    await server.close();
  }
});

Deno.test("a plain-TCP client that sends its whole 8 MiB head before reading is not reset and reads the 431", async () => {
  const metrics = new CoordinatorMetrics();
  const server = await listenHttp(
    {
      port: 0,
      host: "127.0.0.1",
      limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 20_000 },
    },
    createRequestHandler({
      api: "probe",
      routes,
      limits: { maxBodyBytes: 4096 },
      logger: new Logger("test", { format: "json", sink: () => {} }),
      metrics,
    }),
  );
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      // Like a simple client, it sends its whole request and only then reads: a head of 8 MiB
      // of header fields (the limit is 16 KiB).
      const field = new TextEncoder().encode(`x-pad: ${"p".repeat(1000)}\r\n`.repeat(64));
      let writeError = "";
      try {
        await conn.write(new TextEncoder().encode("GET /echo HTTP/1.1\r\nhost: x\r\n"));
        for (let sent = 0; sent < 8 * MiB; sent += field.length) await conn.write(field);
        await conn.closeWrite();
      } catch (error) {
        writeError = String(error);
      }
      let answer = "";
      const buffer = new Uint8Array(4096);
      try {
        for (let n; (n = await conn.read(buffer)) !== null;) {
          answer += new TextDecoder().decode(buffer.subarray(0, n));
        }
      } catch {
        // reset: what was read is the answer
      }
      conn.close();
      assert.match(answer, /^HTTP\/1\.1 431 /, `head ${i}: the answer was lost`);
      // Reset while it was still sending, a client that gives up on a failed write (as Node's
      // HTTP client does) never reads the answer.
      assert.equal(writeError, "", `head ${i}: the server reset the connection`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("a client that never stops sending is cut off at the linger byte bound", async () => {
  const { server, closed } = await start({ lingerMaxBytes: 1 * MiB, lingerTimeoutMs: 60_000 });
  try {
    const client = await tlsClient(server.port);
    client.socket.write(head(1024 * MiB));
    const sent = await client.send(1024 * MiB, 64 * 1024);
    await client.closed;
    assert.ok(sent < 1024 * MiB, "the client sent its whole body");
    assert.equal(closed("linger_bytes"), 1);
    assert.equal(closed("linger_timeout"), 0);
  } finally {
    await server.close();
  }
});

Deno.test("a client that sends slowly without end is closed at the linger deadline", async () => {
  const { server, closed } = await start({ lingerTimeoutMs: 300 });
  try {
    const client = await tlsClient(server.port);
    client.socket.write(head(1024 * MiB));
    // 1 KiB every 20 ms, far under the byte bound, until the server closes the connection.
    await client.send(1024 * MiB, 1024, 20);
    await client.closed;
    assert.match(client.answer, /^HTTP\/1\.1 413 /);
    assert.equal(closed("linger_timeout"), 1);
    assert.equal(closed("linger_bytes"), 0);
  } finally {
    await server.close();
  }
});

Deno.test("a lingering connection keeps its slot of the per-address cap until the client ends its side", async () => {
  // One connection per address and a linger far beyond the test's guard: only the client's end
  // of stream can free the slot in time.
  const { server, closed } = await start({
    maxConnectionsPerAddress: 1,
    lingerTimeoutMs: 10 * 60_000,
  });
  try {
    const first = await tlsClient(server.port);
    first.socket.write(head(10 * MiB));
    await first.endOrClose();
    assert.match(first.answer, /^HTTP\/1\.1 413 /);
    // Answered and half-closed, the connection still counts: a second one is refused.
    await assert.rejects(tlsClient(server.port), /closed before the handshake finished/);
    assert.equal(closed("address_limit"), 1);
    // The client ends its side: the server closes at once and the address may connect again
    // (tried until it may, within the guard; the linger's own deadline is 10 minutes away).
    first.socket.end();
    await first.closed;
    const second = await guarded(
      (async () => {
        for (;;) {
          try {
            return await tlsClient(server.port);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }
      })(),
      "the lingering connection kept its slot after the client ended its side",
    );
    second.socket.write(head(2) + "{}");
    second.socket.end();
    await second.closed;
    assert.match(second.answer, /^HTTP\/1\.1 200 /);
    assert.equal(closed("linger_timeout"), 0);
  } finally {
    await server.close();
  }
});

Deno.test("closing the server ends a lingering connection", async () => {
  const { server } = await start({ lingerTimeoutMs: 10 * 60_000 });
  const client = await tlsClient(server.port);
  try {
    client.socket.write(head(10 * MiB));
    await client.endOrClose();
    assert.match(client.answer, /^HTTP\/1\.1 413 /);
  } finally {
    // Resolves once every connection's loop ended, the lingering one included.
    await guarded(server.close(), "the server's close waited for the linger");
    client.socket.destroy();
  }
});

/** `promise`, or a rejection with `message` after {@link GUARD_MS}. */
async function guarded<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(message)), GUARD_MS)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The pooled read buffers of the data path (`ReadBufferPool` in forward.ts): a buffer goes back
 * to the pool only once the TLS socket is done with it, so with many connections at once, each
 * held back by slow readers, no connection may ever see another's bytes or a reused buffer's
 * newer contents. Every connection carries its own random payload each way (no repeating
 * pattern), checked by hash at the other end.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startProxy } from "./helpers.ts";
import { concatBytes, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { freePort } from "../helpers/free_port.ts";
import { meshTest } from "./mesh_test_case.ts";

const CONNECTIONS = 12;
const BYTES_EACH_WAY = 1024 * 1024;

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, i + 65_536));
  return out;
}

/** Random bytes followed by their SHA-256: the receiver can check them without a side channel. */
async function sealed(n: number): Promise<Uint8Array> {
  const body = randomBytes(n);
  const out = new Uint8Array(n + 32);
  out.set(body);
  out.set(await sha256(body), n);
  return out;
}

/** Whether `bytes` is a {@link sealed} message of `n` bytes. */
async function intact(bytes: Uint8Array, n: number): Promise<boolean> {
  if (bytes.length !== n + 32) return false;
  return encodeHex(await sha256(bytes.subarray(0, n))) === encodeHex(bytes.subarray(n));
}

/** Reads slowly: pauses `socket` for a moment after every 128 KiB (back-pressure upstream). */
function slowReader(socket: net.Socket, chunks: Uint8Array[]): void {
  let sincePause = 0;
  socket.on("data", (c: Uint8Array) => {
    chunks.push(c);
    sincePause += c.length;
    if (sincePause >= 128 * 1024) {
      sincePause = 0;
      socket.pause();
      setTimeout(() => socket.resume(), 5 + Math.floor(Math.random() * 20));
    }
  });
}

/**
 * An application that sends each connection its own sealed payload at once, reads the client's
 * slowly, and ends with one byte: 1 when the client's payload arrived intact.
 */
async function startSealedApp(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on("error", () => {});
    const chunks: Uint8Array[] = [];
    slowReader(socket, chunks);
    const sent = sealed(BYTES_EACH_WAY).then((payload) => socket.write(payload));
    socket.on("end", async () => {
      await sent;
      socket.end(new Uint8Array([(await intact(concatBytes(...chunks), BYTES_EACH_WAY)) ? 1 : 0]));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** One client: sends its sealed payload, reads slowly; resolves with what it received. */
async function client(port: number): Promise<Uint8Array> {
  const payload = await sealed(BYTES_EACH_WAY);
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      socket.end(payload);
    });
    socket.on("error", () => {});
    slowReader(socket, chunks);
    socket.on("close", () => resolve(concatBytes(...chunks)));
  });
}

meshTest(
  `pooled buffers: ${CONNECTIONS} concurrent connections with their own random payloads, slow readers, intact both ways`,
  async (root) => {
    const app = await startSealedApp();
    const ca = await meshAuthority();
    const server = await startProxy(
      { podPorts: "7000" },
      await podDir(root, "web", await issuePod(ca, ["web"])),
      { upstreamPorts: new Map([[7000, app.port]]) },
    );
    const egressPort = await freePort();
    const proxy = await startProxy(
      { ingress: "DISABLED", egress: `web#127.0.0.1:${egressPort}#web:7000` },
      await podDir(root, "bot", await issuePod(ca, ["bot"])),
      { resolve: () => ({ host: "127.0.0.1", port: inboundPort(server, "port-7000") }) },
    );
    try {
      const results = await Promise.all(
        Array.from({ length: CONNECTIONS }, () => client(egressPort)),
      );
      for (const [i, got] of results.entries()) {
        assert.equal(got.length, BYTES_EACH_WAY + 33, `connection ${i}: length`);
        assert.ok(
          await intact(got.subarray(0, -1), BYTES_EACH_WAY),
          `connection ${i}: to client`,
        );
        assert.equal(got.at(-1), 1, `connection ${i}: to the application`);
      }
      const bytes = (flow: string) =>
        server.metrics.get("meshproxy_bytes_total", {
          direction: "ingress",
          listener: "port-7000",
          flow,
        });
      assert.equal(bytes("to_peer"), CONNECTIONS * (BYTES_EACH_WAY + 33));
      assert.equal(bytes("from_peer"), CONNECTIONS * (BYTES_EACH_WAY + 32));
    } finally {
      await proxy.close();
      await server.close();
      await app.close();
    }
  },
);

/** Where `needle` (ASCII) starts in `bytes` at or after `from`, or -1. */
function indexOfAscii(bytes: Uint8Array, needle: string, from: number): number {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = from; i + n.length <= bytes.length; i++) {
    for (let k = 0; k < n.length; k++) if (bytes[i + k] !== n[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Checks a connection's whole request stream as the application got it: `count` requests
 * `/c{conn}/r{j}` in order, each with exactly one identity header and an intact sealed body.
 * Returns what is wrong, or "" when nothing is.
 */
async function checkRequests(bytes: Uint8Array, conn: number, count: number): Promise<string> {
  let at = 0;
  for (let j = 0; j < count; j++) {
    const end = indexOfAscii(bytes, "\r\n\r\n", at);
    if (end < 0) return `request ${j}: no head end`;
    const head = new TextDecoder("latin1").decode(bytes.subarray(at, end)).split("\r\n");
    if (!head[0]!.startsWith(`POST /c${conn}/r${j} `)) return `request ${j}: line ${head[0]}`;
    const identities = head.filter((l) => /^x-forwarded-client-cert:/i.test(l));
    if (identities.length !== 1) return `request ${j}: ${identities.length} identity headers`;
    const length = Number(head.find((l) => /^content-length:/i.test(l))?.split(":")[1]);
    const body = bytes.subarray(end + 4, end + 4 + length);
    if (!(await intact(body, length - 32))) return `request ${j}: body altered`;
    at = end + 4 + length;
  }
  return at === bytes.length ? "" : `${bytes.length - at} bytes after the last request`;
}

meshTest(
  `pooled buffers: ${CONNECTIONS} concurrent HTTP connections (identity header rewrite), slow application, every request intact`,
  async (root) => {
    const REQUESTS = 4;
    const verdicts = new Map<number, string>();
    const appServer = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => {});
      const chunks: Uint8Array[] = [];
      slowReader(socket, chunks);
      socket.on("end", async () => {
        const bytes = concatBytes(...chunks);
        const conn = Number(
          /^POST \/c(\d+)\//.exec(new TextDecoder().decode(bytes.subarray(0, 40)))?.[1],
        );
        verdicts.set(conn, await checkRequests(bytes, conn, REQUESTS));
        socket.end();
      });
    });
    await new Promise<void>((r) => appServer.listen(0, "127.0.0.1", () => r()));
    const ca = await meshAuthority();
    const server = await startProxy(
      { podPorts: "7000" },
      await podDir(root, "web", await issuePod(ca, ["web"])),
      { upstreamPorts: new Map([[7000, (appServer.address() as net.AddressInfo).port]]) },
    );
    const egressPort = await freePort();
    const proxy = await startProxy(
      { ingress: "DISABLED", egress: `web#127.0.0.1:${egressPort}#web:7000` },
      await podDir(root, "bot", await issuePod(ca, ["bot"])),
      { resolve: () => ({ host: "127.0.0.1", port: inboundPort(server, "port-7000") }) },
    );
    const requests = async (conn: number): Promise<Uint8Array> => {
      const parts: Uint8Array[] = [];
      for (let j = 0; j < REQUESTS; j++) {
        const body = await sealed(1 + Math.floor(Math.random() * 200_000));
        parts.push(new TextEncoder().encode(
          `POST /c${conn}/r${j} HTTP/1.1\r\nHost: web\r\n` +
            `X-Forwarded-Client-Cert: forged\r\nContent-Length: ${body.length}\r\n\r\n`,
        ));
        parts.push(body);
      }
      return concatBytes(...parts);
    };
    try {
      await Promise.all(Array.from({ length: CONNECTIONS }, async (_, conn) => {
        const stream = await requests(conn);
        await new Promise<void>((resolve) => {
          const socket = net.connect({ host: "127.0.0.1", port: egressPort }, () => {
            // Written in uneven pieces so that heads and bodies straddle reads.
            let at = 0;
            const next = () => {
              if (at >= stream.length) return void socket.end();
              const n = 1 + Math.floor(Math.random() * 40_000);
              socket.write(stream.subarray(at, at + n), next);
              at += n;
            };
            next();
          });
          socket.on("error", () => {});
          socket.resume();
          socket.on("close", () => resolve());
        });
      }));
      for (let conn = 0; conn < CONNECTIONS; conn++) {
        assert.equal(verdicts.get(conn), "", `connection ${conn}: ${verdicts.get(conn)}`);
      }
    } finally {
      await proxy.close();
      await server.close();
      await new Promise((r) => appServer.close(r));
    }
  },
);

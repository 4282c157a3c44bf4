/**
 * The transit API's `node:https` server under the same connection bounds: a silent TCP
 * connection is closed at the handshake deadline, half a head at the head deadline, a connection
 * idle after its answer at the idle deadline, and the per-address cap refuses the excess. Without
 * the bounds each of these connections stays open (Deno 2.9.6 does not enforce `headersTimeout`).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../../atls/certificate.ts";
import {
  boundNodeHttpsServer,
  handshakeOptions,
} from "../../../coordinator/http/node_server_bounds.ts";
import type { ConnectionLimits } from "../../../coordinator/http/connection_limits.ts";

const LIMITS: ConnectionLimits = {
  handshakeTimeoutMs: 400,
  headersTimeoutMs: 400,
  idleTimeoutMs: 400,
  requestTimeoutMs: 400,
  maxConnections: 100,
  maxConnectionsPerAddress: 3,
};

/** Longest any test waits for the server to close a connection. */
const GUARD_MS = 8000;

async function start() {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const reasons: string[] = [];
  const server = https.createServer(
    { cert: id.certPem, key: id.keyPem, ...handshakeOptions(LIMITS) },
    (_req, res) => res.end("ok"),
  );
  const unbound = boundNodeHttpsServer(server, LIMITS, (reason) => reasons.push(reason));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    reasons,
    close: () =>
      new Promise<void>((resolve) => {
        unbound();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

function closeOf(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error("server kept the connection open")), GUARD_MS);
    socket.once("close", () => {
      clearTimeout(guard);
      resolve();
    });
  });
}

async function tlsConnect(port: number): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("close", () => reject(new Error("closed before the handshake finished")));
  });
  return socket;
}

Deno.test("transit (node:https): silent, half-head and idle connections are closed; the address cap refuses the excess", async () => {
  const server = await start();
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const guard = setTimeout(() => silent.close(), GUARD_MS);
    const ended = await silent.read(new Uint8Array(16)).then((n) => n === null, () => true);
    clearTimeout(guard);
    assert.equal(ended, true);
    try {
      silent.close();
    } catch {
      // closed
    }

    const half = await tlsConnect(server.port);
    half.write("POST /v1/transit/encrypt/x HTTP/1.1\r\nhost: c\r\ncontent-le");
    await closeOf(half);
    assert.ok(server.reasons.includes("head_timeout"), server.reasons.join(","));

    const idle = await tlsConnect(server.port);
    let answer = "";
    idle.on("data", (chunk: Uint8Array) => answer += new TextDecoder().decode(chunk));
    idle.write("GET / HTTP/1.1\r\nhost: c\r\n\r\n");
    await closeOf(idle);
    assert.match(answer, /^HTTP\/1\.1 200/);

    const held = [await tlsConnect(server.port), await tlsConnect(server.port)];
    held.push(await tlsConnect(server.port));
    await assert.rejects(tlsConnect(server.port), /closed before the handshake finished/);
    assert.ok(server.reasons.includes("address_limit"), server.reasons.join(","));
    for (const socket of held) socket.destroy();
  } finally {
    await server.close();
  }
});

/**
 * The transit API's `node:https` server against a client that pipelines requests without waiting
 * for answers: `node:http` hands every parsed request to the handler at once, so such a client
 * made the server hold hundreds of thousands of requests in flight (6 MiB of pipelined GETs: heap
 * 274 MiB, RSS 380 MiB in 5 s, before any client certificate is checked). Under the bounds a
 * connection with more than a few requests in flight is closed.
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
import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
} from "../../../coordinator/http/connection_limits.ts";
import { writeUntilClosed } from "../../helpers/socket_flood.ts";

const LIMITS: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 20_000 };

Deno.test("transit (node:https): a client pipelining requests while the first is handled is cut off", async () => {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const reasons: string[] = [];
  const pending: (() => void)[] = [];
  let handled = 0;
  const server = https.createServer(
    { cert: id.certPem, key: id.keyPem, ...handshakeOptions(LIMITS) },
    (req, res) => {
      handled++;
      req.resume();
      pending.push(() => res.end("ok"));
    },
  );
  const unbound = boundNodeHttpsServer(server, LIMITS, (reason) => reasons.push(reason));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  socket.on("error", () => {});
  try {
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const piece = "GET / HTTP/1.1\r\nhost: c\r\n\r\n".repeat(2000);
    const { closed, handed, started } = await writeUntilClosed(
      socket,
      piece,
      16 * 1024 * 1024,
      8000,
    );
    assert.ok(
      closed,
      `the server kept a connection with ${handled} requests in flight ` +
        `(${Math.round(handed / 1048576)} MiB handed in ${Date.now() - started} ms)`,
    );
    assert.ok(handled <= 4000, `${handled} requests reached the handler`);
    assert.ok(reasons.includes("framing"), `reasons: ${reasons.join(", ")}`);
  } finally {
    socket.destroy();
    for (const end of pending) end();
    unbound();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  }
});

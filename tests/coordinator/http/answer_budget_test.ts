/**
 * Review (answers kept for clients that never read them, high): a port sends at most its budget of
 * answer bytes at once, all connections together. An `/attest` answer holds every manifest and
 * policy document (4 MB with three 1 MB policies), and 60 TLS connections of one address that
 * pipelined 8 `/attest` requests each and never read had grown a Coordinator from 128 to 822 MiB
 * resident (394 MiB with the budget). Tested on a plain-TCP port with a handler whose answers are
 * 24 MiB: more than the kernel takes from a client that does not read, so such an answer's write
 * stays pending.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { createRequestHandler, type Route } from "../../../coordinator/http/server.ts";
import { serveHttp1 } from "../../../coordinator/http/http1_server.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../../coordinator/http/connection_limits.ts";
import { CoordinatorMetrics } from "../../../coordinator/http/metrics.ts";
import { Logger } from "../../../util/log/logger.ts";
import { EncodedJson } from "../../../coordinator/http/encoded_json.ts";

const ANSWER = "x".repeat(24 * 1024 * 1024);
const REQUEST = new TextEncoder().encode("GET /big HTTP/1.1\r\nhost: c\r\n\r\n");

/** The first bytes the server sends on a new connection that reads, after one request. */
async function answerStart(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(REQUEST);
    const buffer = new Uint8Array(512);
    const n = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

/** The status line the server sends on a new connection that reads, after one request. */
async function statusLine(port: number): Promise<string> {
  return (await answerStart(port)).split("\r\n")[0]!;
}

/**
 * A plain-TCP port with a 40 MiB budget of answers being sent, serving `GET /big` (a 24 MiB
 * answer; `firstAnswered` resolves once it was asked for) and `extra` routes.
 */
async function budgetServer(extra: Route[] = []) {
  let answered!: () => void;
  const firstAnswered = new Promise<void>((resolve) => answered = resolve);
  const server = await serveHttp1(
    {
      port: 0,
      host: "127.0.0.1",
      limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 20_000 },
      answerBytesInFlight: 40 * 1024 * 1024,
    },
    createRequestHandler({
      api: "probe",
      routes: [{
        method: "GET",
        path: "/big",
        handle: () => {
          answered();
          return { body: ANSWER };
        },
      }, ...extra],
      limits: { maxBodyBytes: 0 },
      logger: new Logger("t", { sink: () => {} }),
      metrics: new CoordinatorMetrics(),
    }),
  );
  return { server, firstAnswered };
}

Deno.test({
  name: "answers beyond the port's budget of answers being sent are refused with 503",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { server, firstAnswered } = await budgetServer();
    // A client that asks and never reads: its 24 MiB answer stays in flight.
    const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await stuck.write(REQUEST);
      await firstAnswered;
      // Another 24 MiB answer would exceed the 40 MiB budget: a short 503 instead (before the
      // budget: 200 with the whole answer).
      const refused = await answerStart(server.port);
      assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      // Told to come back in a second (before: no Retry-After).
      assert.match(refused, /\r\nretry-after: 1\r\n/i);
      // Once the stuck connection is gone its answer is given back.
      stuck.close();
      let status = "";
      for (let attempt = 0; attempt < 50 && status !== "HTTP/1.1 200 OK"; attempt++) {
        status = await statusLine(server.port);
        if (status !== "HTTP/1.1 200 OK") await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, "HTTP/1.1 200 OK");
    } finally {
      try {
        stuck.close();
      } catch {
        // closed above
      }
      await server.close();
    }
  },
});

Deno.test({
  name: "a sensitive answer refused for the budget is zeroed, never sent",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    let secret: Uint8Array | undefined;
    const { server, firstAnswered } = await budgetServer([{
      method: "GET",
      path: "/secret",
      handle: () => {
        // 24 MiB of JSON holding a "secret": over the budget while /big is in flight.
        secret = new Uint8Array(24 * 1024 * 1024).fill(0x61);
        secret[0] = 0x22;
        secret[secret.length - 1] = 0x22;
        return { body: new EncodedJson(secret, { sensitive: true }) };
      },
    }]);
    const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await stuck.write(REQUEST);
      await firstAnswered;
      await conn.write(new TextEncoder().encode("GET /secret HTTP/1.1\r\nhost: c\r\n\r\n"));
      const buffer = new Uint8Array(512);
      const n = await conn.read(buffer);
      assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 503 /);
      assert.ok(secret!.every((b) => b === 0), "the refused answer's secret is zeroed");
    } finally {
      stuck.close();
      conn.close();
      await server.close();
    }
  },
});

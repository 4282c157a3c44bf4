import "reflect-metadata";
import assert from "node:assert/strict";
import { ParseError, UnavailableError, VerificationError } from "../../../util/errors/mod.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
  PinnedHttpsClient,
} from "../../../atls/pinned_client.ts";
import {
  ConflictError,
  PreconditionFailedError,
  UnauthenticatedError,
} from "../../../protocol/errors.ts";
import { CoordinatorMetrics } from "../../../coordinator/http/metrics.ts";
import { probeRoutes } from "../../../coordinator/http/probes.ts";
import { createRequestHandler, listenHttp, type Route } from "../../../coordinator/http/server.ts";
import { Logger } from "../../../util/log/logger.ts";
import { startTestHttps } from "./https_fixture.ts";
import { VendorLookupBudget } from "../../../collateral/lookup_budget.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../../coordinator/http/connection_limits.ts";

const lines: string[] = [];

/** The first HTTP answer on `socket` (head and body, by content-length or chunked), as text. */
async function readAnswer(socket: import("node:tls").TLSSocket): Promise<string> {
  let text = "";
  for await (const chunk of socket) {
    text += new TextDecoder().decode(chunk as Uint8Array);
    const head = text.indexOf("\r\n\r\n");
    if (head < 0) continue;
    const length = /content-length: (\d+)/i.exec(text)?.[1];
    if (length !== undefined && text.length >= head + 4 + Number(length)) break;
    if (/transfer-encoding: chunked/i.test(text) && text.endsWith("\r\n0\r\n\r\n")) break;
  }
  socket.destroy();
  return text;
}
const logger = new Logger("test", { format: "json", sink: (l) => lines.push(l) });

/** A user-API HTTPS server on a free loopback port serving `routes`, with a client pinned to it. */
async function start(routes: Route[], maxBodyBytes = 1024, requestTimeoutMs = 5000) {
  const { server, metrics } = await startTestHttps({
    api: "user",
    routes,
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs },
    maxBodyBytes,
    logger,
  });
  return { server, metrics, client: new PinnedHttpsClient(`127.0.0.1:${server.port}`) };
}

const routes: Route[] = [
  { method: "POST", path: "/echo", handle: (r) => ({ body: { got: r.body } }) },
  {
    method: "POST",
    path: "/fail",
    handle: (r) => {
      const kind = (r.body as { kind: string }).kind;
      if (kind === "parse") throw new ParseError("manifest.Policies", "bad");
      if (kind === "auth") throw new UnauthenticatedError("signature", "missing");
      if (kind === "verify") throw new VerificationError("evidence", "bad signature");
      if (kind === "conflict") throw new ConflictError("previous_transition", "stale");
      if (kind === "precondition") throw new PreconditionFailedError("", "no manifest");
      throw new Error("secret internal detail");
    },
  },
];

Deno.test("serves JSON routes over HTTPS", async () => {
  const { server, client } = await start(routes);
  try {
    assert.deepEqual(await client.request("POST", "/echo", { a: [1] }), { got: { a: [1] } });
  } finally {
    await server.close();
  }
});

Deno.test("answers errors with DESIGN.md's status codes and {error, field}", async () => {
  const { server, client, metrics } = await start(routes);
  try {
    const expect = async (kind: string, status: number, cls: unknown) =>
      await assert.rejects(
        client.request("POST", "/fail", { kind }),
        (e: unknown) =>
          e instanceof (cls as typeof Error) &&
          (e as unknown as { status: number }).status === status,
      );
    await expect("parse", 400, CoordinatorBadRequestError);
    await expect("auth", 401, CoordinatorRejectedError);
    await expect("verify", 403, CoordinatorRejectedError);
    await expect("conflict", 409, CoordinatorRejectedError);
    await expect("precondition", 412, CoordinatorUnavailableError);
    await assert.rejects(
      client.request("POST", "/fail", { kind: "boom" }),
      (e: unknown) =>
        e instanceof CoordinatorUnavailableError && e.status === 500 &&
        !e.message.includes("secret internal detail"),
    );
    assert.equal(metrics.failures.value({ api: "user", route: "/fail", status: "409" }), 1);
    await assert.rejects(
      client.request("POST", "/nowhere", {}),
      (e: unknown) => e instanceof CoordinatorRejectedError && e.status === 404,
    );
  } finally {
    await server.close();
  }
});

Deno.test("rejects a body over the limit with 413 and malformed JSON with 400", async () => {
  const { server, client } = await start(routes, 100);
  try {
    await assert.rejects(
      client.request("POST", "/echo", { big: "x".repeat(200) }),
      (e: unknown) => e instanceof CoordinatorBadRequestError && e.status === 413,
    );
  } finally {
    await server.close();
  }
  const tls = await import("node:tls");
  const s2 = await start(routes);
  try {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: s2.server.port,
      rejectUnauthorized: false,
    });
    await new Promise((r) => socket.once("secureConnect", r));
    socket.write(
      "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\n{bad}",
    );
    const text = await readAnswer(socket);
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.match(text, /"field":"body"/);
  } finally {
    await s2.server.close();
  }
});

Deno.test("a chunked body (no Content-Length) over the limit is refused with 413 as it arrives", async () => {
  const { server } = await start(routes, 100);
  const tls = await import("node:tls");
  try {
    const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    await new Promise((r) => socket.once("secureConnect", r));
    const chunk = `{"big":"${"x".repeat(150)}"}`;
    socket.write(
      "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    const text = await readAnswer(socket);
    assert.match(text, /^HTTP\/1\.1 413/);
    assert.match(text, /"field":"body"/);
  } finally {
    await server.close();
  }
});

Deno.test("probes and metrics answer over plain HTTP", async () => {
  const metrics = new CoordinatorMetrics();
  let ready = false;
  const server = await listenHttp(
    {
      port: 0,
      host: "127.0.0.1",
      limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 5000 },
    },
    createRequestHandler({
      api: "probe",
      routes: probeRoutes({ started: () => true, ready: () => ready }, metrics),
      limits: { maxBodyBytes: 0 },
      logger,
      metrics,
    }),
  );
  try {
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal((await (await fetch(`${base}/probe/startup`)).json()).status, "ok");
    assert.equal(await fetch(`${base}/probe/liveness`).then((r) => r.body?.cancel()), undefined);
    const notReady = await fetch(`${base}/probe/readiness`);
    assert.equal(notReady.status, 412);
    await notReady.body?.cancel();
    ready = true;
    const isReady = await fetch(`${base}/probe/readiness`);
    assert.equal(isReady.status, 200);
    await isReady.body?.cancel();
    metrics.attestations.inc({ api: "mesh" });
    metrics.manifestGeneration.set(2);
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /contrast_coordinator_attestations_total\{api="mesh"\} 1/);
    assert.match(text, /contrast_coordinator_manifest_generation 2/);
    assert.match(text, /contrast_coordinator_request_duration_seconds_count\{api="probe"/);
  } finally {
    await server.close();
  }
});

Deno.test("answers 408 to a client that does not finish its request in time, logged once as such", async () => {
  const { server } = await start(routes, 1024, 200);
  const before = lines.length;
  const tls = await import("node:tls");
  try {
    const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    await new Promise((r) => socket.once("secureConnect", r));
    socket.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{"a"');
    const text = await readAnswer(socket);
    assert.match(text, /^HTTP\/1\.1 408/);
    await new Promise((r) => setTimeout(r, 100));
    const logged = lines.slice(before);
    assert.equal(
      logged.filter((l) => /unexpected error|ECANCELED/.test(l)).length,
      0,
      logged.join("\n"),
    );
    assert.equal(logged.filter((l) => /"status":408/.test(l)).length, 1, logged.join("\n"));
  } finally {
    await server.close();
  }
});

Deno.test("a 408 ends a body that stopped arriving (Content-Length framing) with connection: close", async () => {
  const { server } = await start(routes, 1 << 20, 200);
  const tls = await import("node:tls");
  try {
    const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    await new Promise((r) => socket.once("secureConnect", r));
    socket.write(`POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: ${1 << 20}\r\n\r\n{"a"`);
    let text = "";
    for await (const chunk of socket) text += new TextDecoder().decode(chunk as Uint8Array);
    // The answer is complete and the server closed the connection (the loop above ended).
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.match(text, /\r\nconnection: close\r\n/);
  } finally {
    await server.close();
  }
});

Deno.test("a body longer than the preallocated 64 KiB arrives intact (grown as it arrives)", async () => {
  const { server, client } = await start(routes, 1 << 20);
  try {
    const text = Array.from({ length: 30_000 }, (_, i) => i.toString(36)).join(",");
    assert.ok(text.length > 100_000);
    assert.deepEqual(await client.request("POST", "/echo", { text }), { got: { text } });
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("a spent vendor lookup budget is answered 429 with Retry-After and logged as such", async () => {
  let now = 0;
  const budget = new VendorLookupBudget({ burst: 1, perMinute: 4, clock: () => now });
  const url = "https://kds.example/vcek/v1/Milan/00?ucodeSPL=1";
  const { server } = await start([{
    method: "POST",
    path: "/mesh",
    handle: (r) => {
      budget.allowanceFor(r.clientAddress ?? "").take(url);
      return { body: {} };
    },
  }]);
  const before = lines.length;
  const tls = await import("node:tls");
  const post = async () => {
    const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    await new Promise((r) => socket.once("secureConnect", r));
    socket.write("POST /mesh HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}");
    return await readAnswer(socket);
  };
  try {
    assert.match(await post(), /^HTTP\/1\.1 200/);
    now = 5_000; // a third of a token back: 10 s to go
    const refused = await post();
    assert.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    assert.match(refused, /\r\nretry-after: 10\r\n/);
    assert.match(refused, /"field":"https:\/\/kds\.example\/vcek\/v1\/Milan\/00\?ucodeSPL=1"/);
    assert.match(refused, /client 127\.0\.0\.1 spent its budget/);
    const logged = lines.slice(before).filter((l) => /"status":429/.test(l));
    assert.equal(logged.length, 1, lines.slice(before).join("\n"));
    assert.match(logged[0]!, /"level":"warn"/);
  } finally {
    await server.close();
  }
});

Deno.test("a 503 (the Coordinator unavailable for a moment) carries a short Retry-After", async () => {
  // Before: 503 without Retry-After, so clients retried at once.
  const { server } = await start([{
    method: "POST",
    path: "/busy",
    handle: () => {
      throw new UnavailableError("collateral", "16 vendor lookups in flight: try again");
    },
  }]);
  const tls = await import("node:tls");
  try {
    const socket = tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    await new Promise((r) => socket.once("secureConnect", r));
    socket.write("POST /busy HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}");
    const refused = await readAnswer(socket);
    assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(refused, /\r\nretry-after: 1\r\n/);
    assert.match(refused, /"field":"collateral"/);
  } finally {
    await server.close();
  }
});

Deno.test("a body is refused 400 naming it when not UTF-8, over the JSON shape, or repeating a key; a valid one reaches the route", async () => {
  const handler = createRequestHandler({
    api: "mesh",
    routes,
    limits: { maxBodyBytes: 4096, jsonShape: { maxKeys: 3, maxDepth: 2, maxSeparators: 4 } },
    logger,
    metrics: new CoordinatorMetrics(),
  });
  const answer = async (body: Uint8Array | string) => {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const out = await handler.handle({
      method: "POST",
      path: "/echo",
      clientAddress: "127.0.0.1",
      signal: new AbortController().signal,
      peer: { channelBinding: () => new Uint8Array(32) },
      declaredBodyBytes: bytes.length,
      body: () => Promise.resolve(bytes),
    });
    return { status: out.status, body: JSON.parse(new TextDecoder().decode(out.body)) };
  };
  const refusals: [Uint8Array | string, RegExp][] = [
    [new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8 JSON/],
    ['{"a":1,"b":2,"c":3,"d":4}', /more than 3 object keys: refused before parsing/],
    ['{"a":[[1]]}', /nested deeper than 2: refused before parsing/],
    ["[1,2,3,4,5,6]", /more than 4 array elements and object members/],
    ['{"a":1,"a":2}', /duplicate key/],
    ["{bad}", /not valid JSON/],
  ];
  for (const [body, reason] of refusals) {
    const out = await answer(body);
    assert.equal(out.status, 400, JSON.stringify(out.body));
    assert.match(out.body.field, /^body/);
    assert.match(out.body.error, reason);
  }
  // Structural characters inside strings (escaped quotes too) are not counted.
  assert.deepEqual(await answer('{"a":"::,,{{[[\\"::"}'), {
    status: 200,
    body: { got: { a: '::,,{{[["::' } },
  });
});

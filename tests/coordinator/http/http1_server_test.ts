/**
 * The Coordinator's HTTP/1.1 connection layer on the wire: keep-alive and pipelining, chunked
 * bodies with trailers, `Expect: 100-continue`, HEAD, framing errors answered before the
 * connection is closed, the connection's channel binding handed to routes, and sensitive answers
 * zeroed once written or dropped.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import { type Route } from "../../../coordinator/http/server.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../../coordinator/http/connection_limits.ts";
import { startTestHttps } from "./https_fixture.ts";
import { PinnedHttpsClient } from "../../../atls/pinned_client.ts";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { EncodedJson } from "../../../coordinator/http/encoded_json.ts";

const routes: Route[] = [
  { method: "POST", path: "/echo", handle: (r) => ({ body: { got: r.body } }) },
  { method: "GET", path: "/hello", handle: () => ({ body: { hello: true } }) },
];

function start() {
  return startTestHttps({
    api: "mesh",
    routes,
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 5000 },
    maxBodyBytes: 1024,
  });
}

/** Sends `text` on a fresh TLS connection and returns everything received until the server closes it. */
async function exchange(port: number, ...parts: string[]): Promise<string> {
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  await new Promise((resolve) => socket.once("secureConnect", resolve));
  let received = "";
  const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("data", (chunk: Uint8Array) => received += new TextDecoder().decode(chunk));
  socket.on("error", () => {});
  for (const part of parts) {
    socket.write(part);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await done;
  return received;
}

/** The status lines of every answer in `text`. */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);

Deno.test("pipelined requests on one connection are answered in order; Connection: close ends it", async () => {
  const { server } = await start();
  try {
    const text = await exchange(
      server.port,
      'POST /echo HTTP/1.1\r\nhost: c\r\ncontent-length: 7\r\n\r\n{"a":1}' +
        "GET /hello HTTP/1.1\r\nhost: c\r\n\r\n" +
        'POST /echo HTTP/1.1\r\nhost: c\r\nconnection: close\r\ncontent-length: 7\r\n\r\n{"a":3}',
    );
    assert.deepEqual(statuses(text), ["200", "200", "200"]);
    const bodies = [...text.matchAll(/\r\n\r\n(\{[^\r]*?\})(?=HTTP|$)/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ['{"got":{"a":1}}', '{"hello":true}', '{"got":{"a":3}}']);
    assert.match(text, /connection: close\r\n\r\n\{"got":\{"a":3\}\}$/);
  } finally {
    await server.close();
  }
});

Deno.test("a chunked body with extensions and trailers is read; Expect: 100-continue gets its interim answer", async () => {
  const { server } = await start();
  try {
    const chunked = await exchange(
      server.port,
      "POST /echo HTTP/1.1\r\nhost: c\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
        '3;ext=1\r\n{"b\r\n4\r\n":2}\r\n0\r\nx-trailer: t\r\n\r\n',
    );
    assert.deepEqual(statuses(chunked), ["200"]);
    assert.match(chunked, /\{"got":\{"b":2\}\}$/);
    const expect = await exchange(
      server.port,
      "POST /echo HTTP/1.1\r\nhost: c\r\nexpect: 100-continue\r\ncontent-length: 7\r\n" +
        "connection: close\r\n\r\n",
      '{"c":3}',
    );
    assert.match(expect, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    // Declared too long: 413 at once, no 100, and the unread body ends the connection.
    const tooLong = await exchange(
      server.port,
      "POST /echo HTTP/1.1\r\nhost: c\r\nexpect: 100-continue\r\ncontent-length: 5000\r\n\r\n",
    );
    assert.deepEqual(statuses(tooLong), ["413"]);
    assert.match(tooLong, /connection: close/);
  } finally {
    await server.close();
  }
});

Deno.test("HEAD gets the head without a body; framing errors are answered with their status and close", async () => {
  const first = await start();
  try {
    const text = await exchange(
      first.server.port,
      "HEAD /hello HTTP/1.1\r\nhost: c\r\nconnection: close\r\n\r\n",
    );
    // No route for HEAD: a 404 head that declares its length, and no body after it.
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n[^]*content-length: \d+\r\n[^]*\r\n\r\n$/);
  } finally {
    await first.server.close();
  }
  const second = await start();
  try {
    const cases: [string, string][] = [
      ["GET / HTTP/1.1\r\nhost: c\r\nx: 1\n\r\n", "400"],
      [
        "POST /echo HTTP/1.1\r\nhost: c\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n",
        "400",
      ],
      ["GET / HTTP/2.0\r\nhost: c\r\n\r\n", "505"],
      [`GET /${"a".repeat(20_000)} HTTP/1.1\r\n`, "431"],
      ["POST /echo HTTP/1.1\r\nhost: c\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "400"],
    ];
    for (const [request, status] of cases) {
      const text = await exchange(second.server.port, request);
      assert.deepEqual(statuses(text), [status], JSON.stringify(request.slice(0, 60)));
      assert.match(text, /connection: close/);
    }
    // Four heads refused by the connection layer; the bad chunk is refused while the handler
    // reads the body (a 400 of the route, counted with the request failures).
    assert.equal(second.metrics.connectionsClosed.value({ api: "mesh", reason: "framing" }), 4);
    assert.equal(
      second.metrics.failures.value({ api: "mesh", route: "/echo", status: "400" }),
      1,
    );
  } finally {
    await second.server.close();
  }
});

Deno.test("an answer's head and body go out whole, also with a header value that is not ASCII", async () => {
  const { serveHttp1 } = await import("../../../coordinator/http/http1_server.ts");
  const body = new TextEncoder().encode('{"x":"ä"}');
  const server = await serveHttp1({
    port: 0,
    host: "127.0.0.1",
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 5000 },
  }, {
    handle: (request) =>
      Promise.resolve({
        status: 200,
        contentType: "application/json",
        body,
        headers:
          (request.path === "/latin" ? { "x-note": "grüße" } : { "retry-after": "1" }) as Record<
            string,
            string
          >,
      }),
    refuse: (_request, status) => ({ status, contentType: "text/plain", body: new Uint8Array() }),
    connectionClosed: () => {},
  });
  try {
    for (const [path, header] of [["/ascii", "retry-after: 1"], ["/latin", "x-note: grüße"]]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(
        new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: c\r\nconnection: close\r\n\r\n`),
      );
      const text = await new Response(conn.readable).text();
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.includes(`\r\n${header}\r\nconnection: close\r\n\r\n{"x":"ä"}`), text);
      assert.match(text, new RegExp(`content-length: ${body.length}\r\n`));
      assert.ok(text.endsWith('{"x":"ä"}'));
    }
  } finally {
    await server.close();
  }
});

Deno.test("a route gets its connection's channel binding, the client's value, read once per connection", async () => {
  const { server } = await startTestHttps({
    api: "mesh",
    routes: [{
      method: "POST",
      path: "/binding",
      handle: (r) => ({ body: { binding: encodeHex(r.channelBinding()) } }),
    }],
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 5000 },
    maxBodyBytes: 1024,
  });
  // Counts the exporter reads of every TLS socket (the server's among them).
  const original = tls.TLSSocket.prototype.getFinished;
  let reads = 0;
  tls.TLSSocket.prototype.getFinished = function (this: tls.TLSSocket) {
    reads++;
    return original.call(this);
  };
  const client = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
  const other = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
  try {
    const binding = await client.bindConnection();
    const answers = [
      await client.requestOnBinding(binding, "POST", "/binding", {}),
      await client.requestOnBinding(await client.bindConnection(), "POST", "/binding", {}),
      await client.request("POST", "/binding", {}),
    ];
    assert.deepEqual(answers, Array(3).fill({ binding: encodeHex(binding) }), "one connection");
    assert.equal(reads, 1, "the server read the exporter once for three requests");
    const elsewhere = await other.request("POST", "/binding", {}) as { binding: string };
    assert.notEqual(elsewhere.binding, encodeHex(binding), "another connection, another value");
    assert.equal(reads, 2);
  } finally {
    tls.TLSSocket.prototype.getFinished = original;
    client.close();
    other.close();
    await server.close();
  }
});

Deno.test("a sensitive answer reaches the client whole and its bytes are zeroed once written; other answers are left alone", async () => {
  const UTF8 = new TextEncoder();
  const kept: { secret?: Uint8Array; plain?: Uint8Array } = {};
  const { server } = await startTestHttps({
    api: "mesh",
    routes: [{
      method: "POST",
      path: "/secret",
      handle: () => {
        kept.secret = UTF8.encode('{"workloadSecret":"c2VjcmV0IGJ5dGVz"}');
        return { body: new EncodedJson(kept.secret, { sensitive: true }) };
      },
    }, {
      method: "POST",
      path: "/plain",
      handle: () => {
        kept.plain = UTF8.encode('{"public":true}');
        return { body: new EncodedJson(kept.plain) };
      },
    }],
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 5000 },
    maxBodyBytes: 1024,
  });
  const client = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
  try {
    assert.deepEqual(await client.request("POST", "/secret", {}), {
      workloadSecret: "c2VjcmV0IGJ5dGVz",
    });
    assert.ok(kept.secret!.length > 0 && kept.secret!.every((b) => b === 0), "zeroed");
    assert.deepEqual(await client.request("POST", "/plain", {}), { public: true });
    assert.equal(new TextDecoder().decode(kept.plain), '{"public":true}', "not sensitive: kept");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("a sensitive answer that comes after the request timed out is never sent and is zeroed", async () => {
  let late: Uint8Array | undefined;
  let answered!: () => void;
  const handled = new Promise<void>((resolve) => answered = resolve);
  const { server } = await startTestHttps({
    api: "mesh",
    routes: [{
      method: "POST",
      path: "/slow",
      handle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        late = new TextEncoder().encode('{"workloadSecret":"bGF0ZQ=="}');
        queueMicrotask(answered);
        return { body: new EncodedJson(late, { sensitive: true }) };
      },
    }],
    limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 200 },
    maxBodyBytes: 1024,
  });
  try {
    const text = await exchange(
      server.port,
      "POST /slow HTTP/1.1\r\nhost: c\r\ncontent-length: 2\r\n\r\n{}",
    );
    assert.deepEqual(statuses(text), ["408"]);
    assert.doesNotMatch(text, /bGF0ZQ/);
    await handled;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(late!.every((b) => b === 0), "the late answer's secret is zeroed");
  } finally {
    await server.close();
  }
});

import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { ParseError, UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import type tls from "node:tls";
import {
  BoundConnectionClosedError,
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
  parseHostPort,
  PinnedHttpsClient,
} from "../../atls/pinned_client.ts";
import { serverChannelBinding } from "../../atls/channel_binding.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";

async function server(
  status = 200,
  body: unknown = { ok: true },
  options: {
    closeEach?: boolean;
    dropIdleAfterMs?: number;
    /** Answers the channel binding of the request's connection instead of `body`. */
    echoBinding?: boolean;
    /** TLS versions the server accepts (default: 1.2 and 1.3). */
    maxVersion?: "TLSv1.2";
  } = {},
) {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const seen: string[] = [];
  const s = https.createServer({
    key: id.keyPem,
    cert: id.certPem,
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
  }, (req, res) => {
    let text = "";
    req.on("data", (c) => text += c);
    req.on("end", () => {
      seen.push(`${req.method} ${req.url} ${text}`);
      res.writeHead(status, {
        "content-type": "application/json",
        ...(options.closeEach ? { connection: "close" } : {}),
      });
      res.end(JSON.stringify(
        options.echoBinding
          ? { binding: encodeHex(serverChannelBinding(req.socket as tls.TLSSocket)) }
          : body,
      ));
      // As a proxy or server that closes idle keep-alive connections would.
      const drop = options.dropIdleAfterMs;
      if (drop !== undefined) res.on("finish", () => setTimeout(() => req.socket.destroy(), drop));
    });
  });
  const connections = { count: 0, from: [] as string[] };
  s.on("secureConnection", (socket) => {
    connections.count++;
    connections.from.push(String(socket.remoteAddress));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  return {
    id,
    port,
    seen,
    connections,
    close: () =>
      new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("sends consecutive requests over one TLS connection while it is fresh", async () => {
  const s = await server();
  const client = new PinnedHttpsClient(`127.0.0.1:${s.port}`);
  try {
    for (const path of ["/challenge", "/certificate", "/third"]) {
      assert.deepEqual(await client.request("POST", path, {}), { ok: true });
    }
    assert.equal(s.connections.count, 1);
    client.close();
    await client.request("POST", "/after-close", {});
    assert.equal(s.connections.count, 2);
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("opens a new connection when the idle one is stale, closed, or not to be kept", async () => {
  const stale = await server();
  const client = new PinnedHttpsClient(`127.0.0.1:${stale.port}`, { keepAliveIdleMs: 20 });
  try {
    await client.request("POST", "/a", {});
    await sleep(60);
    await client.request("POST", "/b", {});
    assert.equal(
      stale.connections.count,
      2,
      "an idle connection older than the limit is not reused",
    );
  } finally {
    client.close();
    await stale.close();
  }
  // The server closes idle connections after 30 ms: the client notices and reconnects.
  const closing = await server(200, { ok: true }, { dropIdleAfterMs: 30 });
  const patient = new PinnedHttpsClient(`127.0.0.1:${closing.port}`);
  try {
    await patient.request("POST", "/a", {});
    await sleep(150);
    assert.deepEqual(await patient.request("POST", "/b", {}), { ok: true });
    assert.equal(closing.connections.count, 2);
  } finally {
    patient.close();
    await closing.close();
  }
  // `Connection: close` from the server, or keepAlive false: one connection per request.
  const once = await server(200, { ok: true }, { closeEach: true });
  const noReuse = await server();
  const a = new PinnedHttpsClient(`127.0.0.1:${once.port}`);
  const b = new PinnedHttpsClient(`127.0.0.1:${noReuse.port}`, { keepAlive: false });
  try {
    for (let i = 0; i < 3; i++) {
      await a.request("POST", "/x", {});
      await b.request("POST", "/x", {});
    }
    assert.equal(once.connections.count, 3);
    assert.equal(noReuse.connections.count, 3);
  } finally {
    a.close();
    b.close();
    await once.close();
    await noReuse.close();
  }
});

Deno.test("learns the key on first use and keeps talking to the same key", async () => {
  const s = await server();
  try {
    const client = new PinnedHttpsClient(`127.0.0.1:${s.port}`);
    assert.deepEqual(await client.request("POST", "/x", { a: 1 }), { ok: true });
    assert.deepEqual(client.pinnedSpkiSha256, await sha256(s.id.spki));
    assert.deepEqual(await client.request("POST", "/y", { b: 2 }), { ok: true });
    assert.deepEqual(s.seen, ['POST /x {"a":1}', 'POST /y {"b":2}']);
  } finally {
    await s.close();
  }
});

Deno.test("refuses a server whose key is not the pinned one, before sending anything", async () => {
  const s = await server();
  try {
    const client = new PinnedHttpsClient(`127.0.0.1:${s.port}`, {
      pinnedSpkiSha256: new Uint8Array(32),
    });
    await assert.rejects(client.request("POST", "/secret", { s: 1 }), VerificationError);
    assert.deepEqual(s.seen, []);
  } finally {
    await s.close();
  }
});

Deno.test("maps error answers to typed errors carrying status and field", async () => {
  for (
    const [status, cls] of [
      [400, CoordinatorBadRequestError],
      [403, CoordinatorRejectedError],
      [409, CoordinatorRejectedError],
      [412, CoordinatorUnavailableError],
    ] as const
  ) {
    const s = await server(status, { error: "nope", field: "manifest" });
    try {
      await assert.rejects(
        new PinnedHttpsClient(`127.0.0.1:${s.port}`).request("POST", "/x", {}),
        (e: unknown) =>
          e instanceof cls && e.status === status && e.field === "manifest" &&
          e.message.includes("nope"),
      );
    } finally {
      await s.close();
    }
  }
});

Deno.test("an unreachable coordinator is unavailable", async () => {
  const s = await server();
  await s.close();
  await assert.rejects(
    new PinnedHttpsClient(`127.0.0.1:${s.port}`, { timeoutMs: 2000 }).request("GET", "/"),
    UnavailableError,
  );
});

Deno.test("parses HOST:PORT and rejects malformed addresses", () => {
  assert.deepEqual(parseHostPort("example.org:1313"), { host: "example.org", port: 1313 });
  assert.deepEqual(parseHostPort("[::1]:7777"), { host: "::1", port: 7777 });
  assert.throws(() => parseHostPort("example.org"), ParseError);
  assert.throws(() => parseHostPort("h:70000"), ParseError);
});

Deno.test("connects from the given local address (the load test's one address per pod)", async () => {
  const s = await server();
  const from = new PinnedHttpsClient(`127.0.0.1:${s.port}`, { localAddress: "127.1.2.3" });
  const plain = new PinnedHttpsClient(`127.0.0.1:${s.port}`);
  try {
    await from.request("POST", "/a", {});
    await plain.request("POST", "/b", {});
    assert.deepEqual(s.connections.from.map((a) => a.replace(/^::ffff:/, "")), [
      "127.1.2.3",
      "127.0.0.1",
    ]);
  } finally {
    from.close();
    plain.close();
    await s.close();
  }
});

const isBoundClosed = (reason: RegExp) => (e: unknown) =>
  e instanceof BoundConnectionClosedError && e instanceof UnavailableError &&
  e.field === "channelBinding" && reason.test(e.message);

Deno.test("a bound request travels on exactly the connection whose channel binding was read", async () => {
  const s = await server(200, {}, { echoBinding: true });
  // Idle reuse far shorter than the time between binding and request: the bound connection is
  // kept anyway (evidence may take seconds to make).
  const client = new PinnedHttpsClient(`127.0.0.1:${s.port}`, { keepAliveIdleMs: 20 });
  try {
    const before = await client.request("POST", "/attest", {}) as { binding: string };
    const binding = await client.bindConnection();
    assert.equal(encodeHex(binding), before.binding, "the idle connection is the one bound");
    await sleep(60);
    const answer = await client.requestOnBinding(binding, "POST", "/certificate", {});
    assert.deepEqual(answer, { binding: encodeHex(binding) });
    assert.equal(s.connections.count, 1);
    // Used, the binding is not held any more: a second request on it is refused, unsent.
    await assert.rejects(
      client.requestOnBinding(binding, "POST", "/again", {}),
      isBoundClosed(/is not held/),
    );
    assert.equal(s.seen.length, 2);
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("a bound request is refused, unsent and without reconnecting, when its connection is gone or another", async () => {
  // The server closes the connection 20 ms after its answer (as at its idle deadline).
  const s = await server(200, {}, { echoBinding: true, dropIdleAfterMs: 20 });
  const client = new PinnedHttpsClient(`127.0.0.1:${s.port}`);
  try {
    await assert.rejects(
      client.requestOnBinding(new Uint8Array(32), "POST", "/certificate", {}),
      isBoundClosed(/is not held/),
    );
    await client.request("POST", "/attest", {});
    const binding = await client.bindConnection();
    await sleep(150);
    await assert.rejects(
      client.requestOnBinding(binding, "POST", "/certificate", {}),
      isBoundClosed(/closed before the request was sent/),
    );
    assert.deepEqual(s.seen, ["POST /attest {}"]);
    assert.equal(s.connections.count, 1, "no new connection was opened for the request");

    // A binding other than the held connection's.
    await client.bindConnection();
    await assert.rejects(
      client.requestOnBinding(new Uint8Array(32), "POST", "/certificate", {}),
      isBoundClosed(/is not the one held/),
    );
    // Closing the client closes the bound connection too.
    const held = await client.bindConnection();
    client.close();
    await assert.rejects(
      client.requestOnBinding(held, "POST", "/certificate", {}),
      isBoundClosed(/is not held/),
    );
    assert.deepEqual(s.seen, ["POST /attest {}"]);
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("connects with TLS 1.3 only: a server limited to TLS 1.2 is unavailable", async () => {
  const s = await server(200, { ok: true }, { maxVersion: "TLSv1.2" });
  const client = new PinnedHttpsClient(`127.0.0.1:${s.port}`, { timeoutMs: 5000 });
  try {
    await assert.rejects(client.request("POST", "/x", {}), UnavailableError);
    await assert.rejects(client.bindConnection(), UnavailableError);
    assert.deepEqual(s.seen, []);
  } finally {
    client.close();
    await s.close();
  }
});

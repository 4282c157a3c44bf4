/**
 * The proxy's data path: large transfers both ways arrive intact with half-closes, no descriptor
 * stays open after connections end, and every failure (remote down, application down, a client
 * that never finishes its handshake) closes the connection and is counted.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startEchoApp, startProxy } from "./helpers.ts";
import { IngressListener } from "../../meshproxy/ingress.ts";
import { listenerLimits } from "../../meshproxy/limits.ts";
import { loadCredentials } from "../../meshproxy/credentials.ts";
import { ProxyMetrics } from "../../meshproxy/metrics.ts";
import { Logger } from "../../util/log/logger.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { freePort } from "../helpers/free_port.ts";
import { meshTest } from "./mesh_test_case.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Sends `data`, half-closes, returns everything received until the peer closed. */
function exchange(port: number, data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      socket.end(data);
    });
    socket.on("data", (c: Uint8Array) => chunks.push(c));
    socket.on("error", () => {});
    socket.on("close", () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const c of chunks) {
        out.set(c, offset);
        offset += c.length;
      }
      resolve(out);
    });
  });
}

async function pair(root: string, echoPort: number) {
  const ca = await meshAuthority();
  const server = await startProxy(
    { podPorts: "7000" },
    await podDir(root, "web", await issuePod(ca, ["web"])),
    { upstreamPorts: new Map([[7000, echoPort]]) },
  );
  const egressPort = await freePort();
  const client = await startProxy(
    { ingress: "DISABLED", egress: `web#127.0.0.1:${egressPort}#web:7000` },
    await podDir(root, "bot", await issuePod(ca, ["bot"])),
    { resolve: () => ({ host: "127.0.0.1", port: inboundPort(server, "port-7000") }) },
  );
  return { ca, server, client, egressPort };
}

meshTest(
  "data path: 8 MiB each way arrive intact through egress and ingress, with half-closes",
  async (root) => {
    const echo = await startEchoApp();
    const { server, client, egressPort } = await pair(root, echo.port);
    try {
      const payload = crypto.getRandomValues(new Uint8Array(64 * 1024));
      const big = new Uint8Array(8 * 1024 * 1024);
      for (let i = 0; i < big.length; i += payload.length) big.set(payload, i);
      big[big.length - 1] = 7;
      const back = await exchange(egressPort, big);
      assert.equal(back.length, big.length);
      assert.equal(encodeHex(await sha256(back)), encodeHex(await sha256(big)));
      assert.equal(
        server.metrics.get("meshproxy_bytes_total", {
          direction: "ingress",
          listener: "port-7000",
          flow: "to_peer",
        }),
        big.length,
      );
    } finally {
      await client.close();
      await server.close();
      await echo.close();
    }
  },
);

Deno.test({
  name:
    "data path: no descriptor stays open after 30 connections through both proxies and 40 failed ones ended",
  ...opts,
  fn: async () => {
    // In a process of its own: `deno test --parallel` runs other test modules in this process,
    // and their descriptors come and go in /proc/self/fd (+20 in one CI run, none of them the
    // proxies').
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./descriptors_scenario.ts", import.meta.url).pathname],
      // Deno's update check would open descriptors of its own (a DNS lookup of dl.deno.land) at
      // any moment.
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual(r.wrongEchoes, [], "every connection echoed hello");
    assert.deepEqual(r.failureAnswers, [], "the failure paths answered nothing");
    assert.deepEqual(
      [r.remoteDown, r.appDown, r.noClientCertificate],
      [10, 10, 10],
      "each failure path was taken 10 times",
    );
    // The count sees a connection: the application's socket, the egress's two, the ingress's
    // two and the echo application's.
    assert.equal(r.heldEcho, "held");
    assert.ok(r.whileHeld >= r.before + 6, `descriptors: ${r.before} before, ${r.whileHeld} held`);
    assert.ok(
      r.after <= r.before,
      `descriptors: ${r.before} before, ${r.after} ${r.settledMs} ms after the last connection ` +
        `closed: ${r.leftOver.join(", ")}`,
    );
    assert.equal(r.openEgress, 0);
    assert.equal(r.openIngress, 0);
  },
});

meshTest(
  "data path: a remote that is down closes the application's connection, counted",
  async (root, ca) => {
    const egressPort = await freePort();
    const deadPort = await freePort();
    const client = await startProxy(
      { ingress: "DISABLED", egress: `web#127.0.0.1:${egressPort}#web:7000` },
      await podDir(root, "bot", await issuePod(ca, ["bot"])),
      { resolve: () => ({ host: "127.0.0.1", port: deadPort }) },
    );
    try {
      const back = await exchange(egressPort, new TextEncoder().encode("secret"));
      assert.equal(back.length, 0);
      const failures = ["other", "rejected_or_aborted"].reduce(
        (n, reason) =>
          n + client.metrics.get("meshproxy_handshake_failures_total", {
            direction: "egress",
            listener: "web",
            reason,
          }),
        0,
      );
      assert.equal(failures, 1, client.metrics.render());
    } finally {
      await client.close();
    }
  },
);

meshTest(
  "data path: an application that is down closes the mesh client's connection, counted",
  async (root) => {
    const deadApp = await freePort();
    const { server, client, egressPort } = await pair(root, deadApp);
    try {
      const back = await exchange(egressPort, new TextEncoder().encode("hello"));
      assert.equal(back.length, 0);
      assert.equal(
        server.metrics.get("meshproxy_upstream_failures_total", {
          direction: "ingress",
          listener: "port-7000",
        }),
        1,
      );
    } finally {
      await client.close();
      await server.close();
    }
  },
);

meshTest(
  "data path: a client that never finishes its handshake is dropped after the timeout",
  async (root, ca) => {
    const dir = await podDir(root, "web", await issuePod(ca, ["web"]));
    const metrics = new ProxyMetrics();
    const listener = new IngressListener({
      name: "port-7000",
      mode: "mtls",
      listenHost: "127.0.0.1",
      listenPort: 0,
      upstreamHost: "127.0.0.1",
      upstreamPort: await freePort(),
      credentials: await loadCredentials(dir),
      metrics,
      logger: new Logger("t", { level: "error" }),
      limits: { ...listenerLimits({}, 1), handshakeTimeoutMs: 300 },
    });
    await listener.start();
    try {
      const started = performance.now();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
      const read = await conn.read(new Uint8Array(16)).catch(() => null);
      conn.close();
      assert.equal(read, null, "closed without a byte");
      assert.ok(performance.now() - started >= 250, "not before the timeout");
      assert.equal(
        metrics.get("meshproxy_handshake_failures_total", {
          direction: "ingress",
          listener: "port-7000",
          reason: "timeout",
        }),
        1,
        metrics.render(),
      );
    } finally {
      await listener.close();
    }
  },
);

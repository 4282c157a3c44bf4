/**
 * The per-listener limits with real proxies on loopback: a connection cap (new connections
 * refused, counted), a handshake cap (a flood of unfinished handshakes held at it while a mesh
 * peer is still served, or the new one refused under `refuse-new`), the egress cap, and the idle
 * timeout on ingress and egress (an idle connection closed, an active one kept).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { withTempDir } from "../helpers/temp_dir.ts";
import { freePort } from "../helpers/free_port.ts";
import { issuePod, meshAuthority, type PodFiles } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startEchoApp, startProxy, tlsExchange } from "./helpers.ts";
import type { MeshProxy } from "../../meshproxy/proxy.ts";
import type { MeshLimitSettings } from "../../protocol/mesh_config.ts";
import { meshTest } from "./mesh_test_case.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Resolves once `check` holds (polled), or fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A connection kept open: whether it is still open, what it received, how to talk on it. */
interface Held {
  readonly socket: net.Socket;
  readonly closed: () => boolean;
  /** Writes `text` and waits for that many bytes more to come back (the echo app). */
  echo(text: string): Promise<string>;
}

function hold(socket: net.Socket): Held {
  let isClosed = false;
  let received = "";
  let waiter: (() => void) | undefined;
  socket.on("data", (d) => {
    received += String(d);
    waiter?.();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    isClosed = true;
    waiter?.();
  });
  return {
    socket,
    closed: () => isClosed,
    echo: (text) =>
      new Promise((resolve, reject) => {
        const want = received.length + text.length;
        const timer = setTimeout(
          () => reject(new Error(`no echo of "${text}" within 30 s (got "${received}")`)),
          30_000,
        );
        waiter = () => {
          if (received.length >= want) {
            clearTimeout(timer);
            resolve(received.slice(want - text.length, want));
          } else if (isClosed) {
            clearTimeout(timer);
            reject(new Error(`closed after "${received}"`));
          }
        };
        socket.write(text);
      }),
  };
}

/** Opens a TLS connection; resolves once it is secure, or with undefined when it was closed. */
function openTls(
  port: number,
  client: { key?: string; cert?: string; ca: string },
): Promise<Held | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ...client,
      checkServerIdentity: () => undefined,
    });
    const held = hold(socket);
    socket.once("secureConnect", () => resolve(held));
    socket.once("close", () => resolve(undefined));
  });
}

/** Opens a plain TCP connection that sends nothing (a handshake never started). */
function openRaw(port: number, localAddress = "127.0.0.1"): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve(held));
    const held = hold(socket);
    socket.once("error", reject);
  });
}

function client(files: PodFiles) {
  return { key: files.key, cert: files.certChain, ca: files.meshCa };
}

function refusals(proxy: MeshProxy, direction: string, listener: string, reason: string): number {
  return proxy.metrics.get("meshproxy_limit_refusals_total", { direction, listener, reason });
}

/** What {@link withIngressProxy} gives a test: the proxy, a mesh peer, the app and its sockets. */
interface IngressSetup {
  readonly proxy: MeshProxy;
  readonly peer: PodFiles;
  readonly meshCa: string;
  readonly echo: Awaited<ReturnType<typeof startEchoApp>>;
  /** Client sockets the test opened: destroyed at the end, however the test ends. */
  readonly held: Held[];
}

/**
 * Runs `fn` against an ingress proxy (annotation `ingress`, `limits`) in front of an echo app on
 * port 7000; afterwards destroys `held`'s sockets and closes the proxy and the app.
 */
function withIngressProxy(
  ingress: string,
  limits: MeshLimitSettings,
  fn: (setup: IngressSetup) => Promise<void>,
): Promise<void> {
  return withTempDir(async (root) => {
    const echo = await startEchoApp();
    const ca = await meshAuthority();
    const proxy = await startProxy(
      { ingress, podPorts: "7000" },
      await podDir(root, "web", await issuePod(ca, ["web"])),
      { upstreamPorts: new Map([[7000, echo.port]]), limits },
    );
    const peer = await issuePod(ca, ["bot"]);
    const held: Held[] = [];
    try {
      await fn({ proxy, peer, meshCa: peer.meshCa, echo, held });
    } finally {
      for (const h of held) h.socket.destroy();
      await proxy.close();
      await echo.close();
    }
  });
}

Deno.test({
  name: "connection cap: connections beyond maxConnections are closed at accept and counted",
  ...opts,
  fn: () =>
    // A `false` port: anyone can finish the handshake and hold a connection.
    withIngressProxy("web#7000#false", {
      maxConnections: 4,
      maxHandshakes: 4,
    }, async ({ proxy, meshCa, echo, held }) => {
      const port = inboundPort(proxy, "web");
      for (let i = 0; i < 4; i++) {
        const h = await openTls(port, { ca: meshCa });
        assert.ok(h, `connection ${i + 1} of 4 is served`);
        assert.equal(await h.echo(`ping${i}`), `ping${i}`);
        held.push(h);
      }
      const fifth = await openTls(port, { ca: meshCa });
      if (fifth) held.push(fifth);
      assert.equal(fifth, undefined, "the fifth connection is closed before its handshake");
      assert.equal(refusals(proxy, "ingress", "web", "connection_limit"), 1);
      assert.equal(echo.accepted(), 4, "nothing of the refused connection reached the app");
      for (const h of held) assert.equal(await h.echo("still"), "still", "held ones go on");
      // A slot freed is a slot served.
      held.shift()!.socket.destroy();
      await until(
        () =>
          proxy.metrics.get("meshproxy_open_connections", {
            direction: "ingress",
            listener: "web",
          }) === 3,
        "the closed connection to be released",
      );
      const again = await openTls(port, { ca: meshCa });
      assert.ok(again, "a new connection is served once one closed");
      assert.equal(await again.echo("back"), "back");
      held.push(again);
    }),
});

Deno.test({
  name:
    "handshake cap (close-oldest): a flood of unfinished handshakes, reopened as it is closed, stays at the cap and mesh peers are still served",
  ...opts,
  fn: () =>
    withIngressProxy("", {
      maxConnections: 64,
      maxHandshakes: 8,
      handshakeTimeoutSeconds: 3, // (the flood's closed connections are released by then)
    }, async ({ proxy, peer, held: flood }) => {
      const port = inboundPort(proxy, "port-7000");
      const labels = { direction: "ingress", listener: "port-7000" };
      // The flood comes from 127.0.0.2, the peers from 127.0.0.1.
      for (let i = 0; i < 8; i++) flood.push(await openRaw(port, "127.0.0.2"));
      await until(
        () => proxy.metrics.get("meshproxy_handshakes_in_progress", labels) === 8,
        "8 handshakes in progress",
      );
      // The flood goes on: each new connection closes the flood's oldest unfinished handshake.
      for (let i = 0; i < 8; i++) flood.push(await openRaw(port, "127.0.0.2"));
      await until(() => flood.slice(0, 8).every((h) => h.closed()), "the oldest 8 closed");
      assert.ok(flood.slice(8).every((h) => !h.closed()), "the newest 8 are held");
      assert.equal(proxy.metrics.get("meshproxy_handshakes_in_progress", labels), 8);
      assert.equal(refusals(proxy, "ingress", "port-7000", "handshake_evicted"), 8);
      // Now each flood connection the proxy closes is reopened at once, as fast as this process
      // can: mesh peers still get through, every one.
      let churning = true;
      let reopened = 0;
      const churn = (h: Held) => {
        h.socket.once("close", async () => {
          if (!churning) return;
          reopened++;
          const next = await openRaw(port, "127.0.0.2").catch(() => undefined);
          if (next) {
            flood.push(next);
            churn(next);
          }
        });
      };
      flood.slice(8).forEach(churn);
      for (let i = 0; i < 5; i++) {
        // Twice the cap of new flood connections arrive during each peer's handshake.
        const burst = Array.from({ length: 16 }, () =>
          openRaw(port, "127.0.0.2").then((next) => {
            flood.push(next);
            churn(next);
          }));
        const served = await tlsExchange(port, `hello${i}`, client(peer));
        await Promise.all(burst);
        assert.equal(served.received, `hello${i}`, JSON.stringify(served));
      }
      churning = false;
      assert.ok(reopened >= 40, `the flood was closed and reopened ${reopened} times`);
      assert.ok(proxy.metrics.get("meshproxy_handshakes_in_progress", labels) <= 8);
      assert.equal(
        proxy.metrics.get("meshproxy_handshake_failures_total", {
          ...labels,
          reason: "rejected_or_aborted",
        }),
        0,
        "handshakes closed by the cap are not counted as failed handshakes",
      );
    }),
});

Deno.test({
  name:
    "handshake cap (refuse-new): a new connection is refused while the cap is held; served again once the flood ends",
  ...opts,
  fn: () =>
    withIngressProxy("", {
      maxConnections: 64,
      maxHandshakes: 4,
      onHandshakeLimit: "refuse-new",
      // Deno's node:tls notices a client that closes during its handshake only at this timeout.
      handshakeTimeoutSeconds: 1,
    }, async ({ proxy, peer, held: flood }) => {
      const port = inboundPort(proxy, "port-7000");
      const labels = { direction: "ingress", listener: "port-7000" };
      for (let i = 0; i < 4; i++) flood.push(await openRaw(port));
      await until(
        () => proxy.metrics.get("meshproxy_handshakes_in_progress", labels) === 4,
        "4 handshakes in progress",
      );
      const refused = await tlsExchange(port, "hello", client(peer));
      assert.equal(refused.received, "", "the peer is refused while the cap is held");
      assert.equal(refusals(proxy, "ingress", "port-7000", "handshake_limit"), 1);
      assert.ok(flood.every((h) => !h.closed()), "the held handshakes stay");
      for (const h of flood) h.socket.destroy();
      await until(
        () => proxy.metrics.get("meshproxy_handshakes_in_progress", labels) === 0,
        "the flood to be released",
      );
      const served = await tlsExchange(port, "hello", client(peer));
      assert.equal(served.received, "hello", JSON.stringify(served));
    }),
});

/** An ingress proxy for an echo app and an egress proxy in front of it. */
async function pair(
  root: string,
  echoPort: number,
  serverLimits: MeshLimitSettings,
  clientLimits: MeshLimitSettings,
) {
  const ca = await meshAuthority();
  const server = await startProxy(
    { podPorts: "7000" },
    await podDir(root, "web", await issuePod(ca, ["web"])),
    { upstreamPorts: new Map([[7000, echoPort]]), limits: serverLimits },
  );
  const egressPort = await freePort();
  const client = await startProxy(
    { ingress: "DISABLED", egress: `web#127.0.0.1:${egressPort}#web:7000` },
    await podDir(root, "bot", await issuePod(ca, ["bot"])),
    {
      resolve: () => ({ host: "127.0.0.1", port: inboundPort(server, "port-7000") }),
      limits: clientLimits,
    },
  );
  return { server, client, egressPort };
}

/** Connects to the egress listener. */
function openPlain(port: number): Promise<Held> {
  return openRaw(port);
}

meshTest(
  "egress cap: application connections beyond maxConnections are closed and counted",
  async (root) => {
    const echo = await startEchoApp();
    const { server, client, egressPort } = await pair(root, echo.port, {}, {
      maxConnections: 2,
    });
    const held: Held[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const h = await openPlain(egressPort);
        assert.equal(await h.echo(`e${i}`), `e${i}`);
        held.push(h);
      }
      const third = await openPlain(egressPort);
      held.push(third);
      await until(() => third.closed(), "the third connection to be closed");
      assert.equal(refusals(client, "egress", "web", "connection_limit"), 1);
      for (const h of held.slice(0, 2)) assert.equal(await h.echo("on"), "on");
    } finally {
      for (const h of held) h.socket.destroy();
      await client.close();
      await server.close();
      await echo.close();
    }
  },
);

/** Talks on `h` every 200 ms for `ms`; every answer must come back. */
async function keepActive(h: Held, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let i = 0;
  while (Date.now() < end) {
    assert.equal(await h.echo(`t${i}`), `t${i}`);
    i++;
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const side of ["ingress", "egress"] as const) {
  Deno.test({
    name:
      `idle timeout (${side}): an idle connection is closed after 1 s, an active one lives on for 3.5 s`,
    ...opts,
    fn: () =>
      withTempDir(async (root) => {
        const echo = await startEchoApp();
        const short = { idleTimeoutSeconds: 1 };
        const { server, client, egressPort } = side === "ingress"
          ? await pair(root, echo.port, short, {})
          : await pair(root, echo.port, {}, short);
        const timedOut = side === "ingress" ? server : client;
        const listener = side === "ingress" ? "port-7000" : "web";
        const idle = await openPlain(egressPort);
        const active = await openPlain(egressPort);
        try {
          assert.equal(await idle.echo("once"), "once");
          const opened = Date.now();
          await keepActive(active, 3_500);
          assert.ok(idle.closed(), "the idle connection was closed");
          assert.ok(!active.closed(), "the active connection lives on");
          assert.ok(Date.now() - opened >= 3_500);
          assert.equal(
            timedOut.metrics.get("meshproxy_idle_timeouts_total", { direction: side, listener }),
            1,
          );
          assert.equal(await active.echo("last"), "last");
        } finally {
          idle.socket.destroy();
          active.socket.destroy();
          await client.close();
          await server.close();
          await echo.close();
        }
      }),
  });
}

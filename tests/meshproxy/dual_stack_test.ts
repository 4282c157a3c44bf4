/**
 * The inbound listeners and the admin interface listen on every IPv4 and IPv6 address by default:
 * a pod with an IPv6 address gets mutual TLS over IPv6 (before, the ingress bound `0.0.0.0` only
 * and an IPv6 mesh client was refused), and IPv4 still works; an explicit host stays exact.
 * Skipped loudly where the machine has no IPv6 loopback.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { issuePod } from "../../bench/meshproxy/credentials.ts";
import { podDir } from "./helpers.ts";
import { echoBehindProxy } from "./echo_behind_proxy.ts";
import { meshTest } from "./mesh_test_case.ts";
import { listenEverywhere } from "../../meshproxy/any_address.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Why IPv6 loopback cannot be used here, or undefined when it can. */
function whyNoIpv6(): string | undefined {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function skip(why: string): void {
  console.warn(`\n!!! SKIPPED dual-stack test: no IPv6 loopback (${why}). !!!\n`);
}

/** A {@link meshTest} that is skipped (loudly) where the machine has no IPv6 loopback. */
function dualStackTest(name: string, fn: Parameters<typeof meshTest>[1]): void {
  meshTest(name, async (root, ca) => {
    const why = whyNoIpv6();
    if (why) return skip(why);
    await fn(root, ca);
  });
}

/** A port free on every address of both families. */
function freeDualPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "::", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** One mutual-TLS exchange with `host:port`; the echoed text, or the error code. */
function meshEcho(
  host: string,
  port: number,
  files: { key: string; certChain: string; meshCa: string },
): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      key: files.key,
      cert: files.certChain,
      ca: files.meshCa,
      checkServerIdentity: () => undefined,
    }, () => socket.write("over " + host));
    let text = "";
    socket.on("data", (d) => {
      text += d;
      if (text.length >= ("over " + host).length) socket.end();
    });
    socket.on("error", (e) => text += `<${(e as { code?: string }).code ?? e.message}>`);
    socket.on("close", () => resolve(text));
  });
}

/** Whether a plain TCP connection to `host:port` is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

dualStackTest(
  "dual stack: mutual TLS and the admin interface answer over IPv6 and IPv4 by default",
  async (root, ca) => {
    const client = await issuePod(ca, ["bot"]);
    const web = await echoBehindProxy(
      await podDir(root, "web", await issuePod(ca, ["web"])),
      { admin: String(await freeDualPort()) },
      { inboundHost: undefined, adminHost: undefined },
    );
    const { proxy: server, port } = web;
    try {
      assert.match(server.listeners()[0]!.listen, /^\[::\]/);
      assert.equal(await meshEcho("::1", port, client), "over ::1");
      assert.equal(await meshEcho("127.0.0.1", port, client), "over 127.0.0.1");
      for (const host of ["[::1]", "127.0.0.1"]) {
        const answer = await fetch(`http://${host}:${server.adminPort}/ready`);
        assert.equal(answer.status, 200, `admin over ${host}`);
        await answer.body?.cancel();
      }
    } finally {
      await web.close();
    }
  },
);

dualStackTest(
  "dual stack: an explicit inbound host is used as given (127.0.0.1: no IPv6)",
  async (root, ca) => {
    const client = await issuePod(ca, ["bot"]);
    const web = await echoBehindProxy(await podDir(root, "web", await issuePod(ca, ["web"])));
    const { proxy: server, port } = web;
    try {
      assert.equal(server.listeners()[0]!.listen, `127.0.0.1:${port}`);
      assert.equal(await meshEcho("127.0.0.1", port, client), "over 127.0.0.1");
      assert.equal(await accepts("::1", port), false);
    } finally {
      await web.close();
    }
  },
);

dualStackTest("dual stack: listenEverywhere gives one port for both families", async () => {
  const listening = await listenEverywhere(
    () =>
      net.createServer((s) => {
        s.on("error", () => {});
        s.end("hi");
      }),
    0,
  );
  try {
    assert.ok(listening.port > 0);
    assert.equal(await accepts("::1", listening.port), true);
    assert.equal(await accepts("127.0.0.1", listening.port), true);
    // Whichever way the namespace binds IPv6 sockets, IPv4 is served exactly once.
    assert.ok(listening.servers.length === 1 || listening.servers.length === 2);
  } finally {
    await Promise.all(
      listening.servers.map((s) => new Promise((r) => s.close(r))),
    );
  }
});

Deno.test({
  name:
    "dual stack: with bindv6only=1 and 0.0.0.0 held by another process, listening everywhere fails (inbound and admin)",
  ...opts,
  fn: async () => {
    const why = Deno.uid() !== 0 ? "not root" : whyNoIpv6();
    if (why) {
      console.warn(
        `\n!!! SKIPPED bindv6only test: needs root for a network namespace and IPv6 (${why}). !!!\n`,
      );
      return;
    }
    const out = await new Deno.Command("unshare", {
      args: [
        "-n",
        Deno.execPath(),
        "run",
        "-A",
        new URL("./bindv6only_scenario.ts", import.meta.url).pathname,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    // Without a foreign listener, IPv6-only sockets get a second, IPv4 socket.
    assert.equal(result.bothLabel, "[::]+0.0.0.0:15100");
    for (const which of [result.inbound, result.admin]) {
      assert.match(which, /^refused: 0\.0\.0\.0:15100 is held by another process/);
    }
  },
});

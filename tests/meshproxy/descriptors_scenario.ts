/**
 * Run by `data_path_test.ts` as `deno run -A descriptors_scenario.ts`, in a process of its own:
 * `deno test --parallel` runs test modules side by side in one process, so its descriptor table
 * (`/proc/self/fd`) also holds the other modules' files, pipes and sockets. Here only this
 * scenario's proxies, echo application and clients have descriptors, and the runtime's own. Unix
 * domain sockets are not counted: the proxies open none, and the Deno runtime opens a pair of
 * its own about half a second after it starts (seen in an empty script too; under load it came
 * after the first count and stayed: "2 left over").
 *
 * An echo application behind an ingress proxy, a client proxy's egress in front of it; after a
 * warm-up connection the descriptors are counted, one connection is held open through both
 * proxies (the count must see its sockets), then 30 connections each send "hello",
 * half-close and read the echo until the proxy closes. Then the paths that end a connection on
 * a failure, 10 times each: an egress whose remote is down, an ingress whose application is
 * down, a client that resets its connection in the middle of a transfer, a TLS client without
 * a mesh certificate refused by the ingress. The count is then polled (every 50 ms, at most
 * {@link SETTLE_LIMIT_MS}) until it is back to where it was. Prints one JSON line with the
 * counts, the echoes that came back wrong, what the failure paths got (they must get nothing),
 * the descriptors left over (targets, with TCP ports and state) and the proxies'
 * open-connection gauges.
 *
 * @module
 */
import "reflect-metadata";
import net from "node:net";
import { withTempDir } from "../helpers/temp_dir.ts";
import { freePort } from "../helpers/free_port.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startEchoApp, startProxy, tlsExchange } from "./helpers.ts";

/** How long the count may take to come back after the last connection closed, ms. */
const SETTLE_LIMIT_MS = 20_000;

/** This process's open descriptors but Unix domain sockets: number to target. */
function descriptors(): Map<string, string> {
  const unix = unixSocketInodes();
  const out = new Map<string, string>();
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
    } catch {
      continue; // the directory's own descriptor, closed since
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode === undefined || !unix.has(inode)) out.set(entry.name, target);
  }
  return out;
}

/** The inodes of the Unix domain sockets (of every process in this network namespace). */
function unixSocketInodes(): Set<string> {
  const out = new Set<string>();
  for (const line of Deno.readTextFileSync("/proc/net/unix").split("\n").slice(1)) {
    const inode = line.trim().split(/\s+/)[6];
    if (inode !== undefined) out.add(inode);
  }
  return out;
}

/**
 * Sockets by inode: TCP ones as `tcp local port->remote port st=state` (state in hex, as the
 * kernel lists it; a closed TCP socket is in no table), others by their table's name.
 */
function sockets(): Map<string, string> {
  const out = new Map<string, string>();
  for (
    const [file, column] of [["/proc/net/unix", 6], ["/proc/net/udp", 9], [
      "/proc/net/udp6",
      9,
    ]] as const
  ) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch { /* not there */ }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[column] !== undefined) out.set(f[column]!, file.slice("/proc/net/".length));
    }
  }
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch { /* no IPv6 */ }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (address: string) => parseInt(address.split(":").at(-1)!, 16);
      out.set(f[9]!, `tcp ${port(f[1]!)}->${port(f[2]!)} st=${f[3]}`);
    }
  }
  return out;
}

/** The descriptors open now that were not open (to the same target) in `before`, described. */
function leftOver(before: Map<string, string>): string[] {
  const known = sockets();
  return [...descriptors()].filter(([fd, target]) => before.get(fd) !== target).map(
    ([fd, target]) => {
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const socket = inode === undefined ? undefined : known.get(inode) ?? "in no table";
      return `${fd}=${target}${socket ? ` (${socket})` : ""}`;
    },
  );
}

/** A client connection: `send` writes, `end` half-closes; `closed` resolves with all it read. */
function connect(port: number) {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  let text = "";
  const closed = new Promise<string>((resolve) => {
    socket.on("data", (c: Uint8Array) => text += new TextDecoder().decode(c));
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
  });
  return {
    received: () => text,
    send: (data: string) => socket.write(data),
    end: () => socket.end(),
    /** Closes at once with a TCP reset. */
    reset: () => socket.resetAndDestroy(),
    closed,
  };
}

/**
 * Sends `data`, half-closes, returns all it read once the proxy closed; a connection the proxy
 * has not closed after {@link SETTLE_LIMIT_MS} is reset and reported as such.
 */
async function exchange(port: number, data: string): Promise<string> {
  const c = connect(port);
  c.send(data);
  c.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      c.reset();
      resolve(`<not closed after ${SETTLE_LIMIT_MS} ms>`);
    }, SETTLE_LIMIT_MS);
  });
  try {
    return await Promise.race([c.closed, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const result = await withTempDir(async (root) => {
  const echo = await startEchoApp();
  const ca = await meshAuthority();
  const deadPort = await freePort(); // nothing listens there
  const server = await startProxy(
    { podPorts: "7000,7001" },
    await podDir(root, "web", await issuePod(ca, ["web"])),
    { upstreamPorts: new Map([[7000, echo.port], [7001, deadPort]]) },
  );
  const egressPort = await freePort();
  const deadAppPort = await freePort();
  const deadRemotePort = await freePort();
  const client = await startProxy(
    {
      ingress: "DISABLED",
      egress: [
        `web#127.0.0.1:${egressPort}#web:7000`,
        `app-down#127.0.0.1:${deadAppPort}#web:7001`,
        `remote-down#127.0.0.1:${deadRemotePort}#gone:7000`,
      ].join("##"),
    },
    await podDir(root, "bot", await issuePod(ca, ["bot"])),
    {
      resolve: (host, port) => ({
        host: "127.0.0.1",
        port: host === "gone" ? deadPort : inboundPort(server, `port-${port}`),
      }),
    },
  );
  try {
    await exchange(egressPort, "warm-up"); // lazily opened descriptors
    const snapshot = descriptors();
    const before = snapshot.size;

    // One connection held open through both proxies, echoed once: its sockets are counted.
    const held = connect(egressPort);
    held.send("held");
    const sent = performance.now();
    while (held.received() !== "held" && performance.now() - sent < SETTLE_LIMIT_MS) {
      await sleep(10);
    }
    const heldEcho = held.received();
    const whileHeld = descriptors().size;
    held.end();
    await held.closed;

    const wrongEchoes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const back = await exchange(egressPort, "hello");
      if (back !== "hello") wrongEchoes.push(back);
    }

    // The failure paths: each must end its connection and answer nothing.
    const failures: string[] = [];
    for (let i = 0; i < 10; i++) {
      failures.push(await exchange(deadAppPort, "hello"));
      failures.push(await exchange(deadRemotePort, "hello"));
      const reset = connect(egressPort);
      reset.send("x".repeat(256 * 1024));
      const sentAt = performance.now();
      while (reset.received().length === 0 && performance.now() - sentAt < SETTLE_LIMIT_MS) {
        await sleep(5);
      }
      reset.reset();
      await reset.closed;
      const refused = await tlsExchange(inboundPort(server, "port-7000"), "hello", {
        ca: ca.meshCaPem,
      });
      failures.push(refused.received);
    }
    const lastClosed = performance.now();
    let after = descriptors().size;
    while (after > before && performance.now() - lastClosed < SETTLE_LIMIT_MS) {
      await sleep(50);
      after = descriptors().size;
    }
    return {
      before,
      whileHeld,
      heldEcho,
      after,
      settledMs: Math.round(performance.now() - lastClosed),
      leftOver: after > before ? leftOver(snapshot) : [],
      wrongEchoes,
      failureAnswers: failures.filter((answer) => answer !== ""),
      // That the failure paths were taken (10 each).
      remoteDown: ["other", "rejected_or_aborted"].reduce(
        (n, reason) =>
          n + client.metrics.get("meshproxy_handshake_failures_total", {
            direction: "egress",
            listener: "remote-down",
            reason,
          }),
        0,
      ),
      appDown: server.metrics.get("meshproxy_upstream_failures_total", {
        direction: "ingress",
        listener: "port-7001",
      }),
      noClientCertificate: server.metrics.get("meshproxy_handshake_failures_total", {
        direction: "ingress",
        listener: "port-7000",
        reason: "no_client_certificate",
      }),
      // Summed over the listeners.
      openEgress: ["web", "app-down", "remote-down"].reduce(
        (n, listener) =>
          n + client.metrics.get("meshproxy_open_connections", { direction: "egress", listener }),
        0,
      ),
      openIngress: ["port-7000", "port-7001"].reduce(
        (n, listener) =>
          n + server.metrics.get("meshproxy_open_connections", { direction: "ingress", listener }),
        0,
      ),
    };
  } finally {
    await client.close();
    await server.close();
    await echo.close();
  }
});
console.log(JSON.stringify(result));

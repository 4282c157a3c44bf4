/**
 * A connection flood against one mesh proxy process, on loopback: how many connections a listener
 * holds at its cap, whether mesh peers are still served while a flood is held, and what the
 * proxy holds meanwhile (descriptors, resident memory).
 *
 * The proxy (`meshproxy/main.ts` of `--proxy-root`, explicit mode) runs under
 * `prlimit --nofile=1024:20000` (the limits podman gives the images) with two inbound listeners
 * in front of an echo application: `open` (ingress `false`: TLS without a client certificate,
 * so anyone can finish the handshake and hold a connection) and `port-7000` (mutual TLS). With
 * default limits each listener's cap is `(20000 - 256) / (2 × 2)` = 4936 connections, of which
 * 1024 handshakes. Phases, each reporting the proxy's open descriptors and resident memory and
 * the peers' results (`--peers` sequential mutual-TLS exchanges on `port-7000`: connect,
 * handshake, 1 byte each way, close; failures and p50/p99 time):
 *
 * 1. baseline: peers only;
 * 2. established flood: `--flood` TLS connections to `open` (default: cap + 500), opened
 *    `--concurrency` at a time, each held once it echoed a byte; counts held and refused; peers
 *    while the flood is held;
 * 3. handshake flood: `--handshake-flood` TCP connections to `port-7000` that never send a byte
 *    (default 2 × 1024), each one closed by the proxy reopened at once; peers while it runs.
 *
 * The floods come from 127.0.0.2, the peers from 127.0.0.1 (as pods have addresses of their own).
 *
 * Usage: `deno run -A bench/meshproxy/flood.ts [--proxy-root DIR] [--flood N] [--concurrency 100]
 * [--handshake-flood N] [--peers 100] [--limits maxConnections=…]`. The flood needs about
 * 2 × `--flood` descriptors in this process: run it with a high enough `nofile` (e.g.
 * `prlimit --nofile=65536:65536 deno run -A …` as root). `--proxy-root` runs another checkout's
 * proxy (e.g. one without limits, for comparison).
 *
 * @module
 */
import "reflect-metadata";
import net from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { issuePod, meshAuthority, writePodFiles } from "./credentials.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A bench/meshproxy/flood.ts [options]",
  inlineValues: true,
  options: [
    {
      name: "--proxy-root",
      value: "string",
      default: "this checkout",
      help: "the checkout whose proxy runs",
    },
    { name: "--flood", value: "number", help: "connections of the flood" },
    { name: "--concurrency", value: "number", default: "100", help: "flood connections at a time" },
    {
      name: "--handshake-flood",
      value: "number",
      default: "2048",
      help: "connections closed and reopened",
    },
    { name: "--peers", value: "number", default: "100", help: "honest peers while it runs" },
    {
      name: "--limits",
      value: "string",
      default: "none",
      help: "the proxy's limits (maxConnections=…)",
    },
  ],
});
const { values } = parseArgs({
  options: {
    "proxy-root": { type: "string", default: new URL("../../", import.meta.url).pathname },
    flood: { type: "string" },
    concurrency: { type: "string", default: "100" },
    "handshake-flood": { type: "string", default: "2048" },
    peers: { type: "string", default: "100" },
    limits: { type: "string", default: "" },
  },
});

/** Where the floods come from (the peers from 127.0.0.1). */
const FLOOD_ADDRESS = "127.0.0.2";

/** The proxy's descriptors and resident memory, from /proc. */
function usage(pid: number): { fds: number; rssMb: number } {
  const fds = [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { fds, rssMb: Math.round(rssKb / 1024) };
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/**
 * The echo application, in a process of its own (its descriptors do not count against this
 * one's): resolves with its port.
 */
async function echoApp(): Promise<{ port: number; stop: () => Promise<void> }> {
  const code = `
    import net from "node:net";
    const server = net.createServer((s) => { s.on("error", () => {}); s.pipe(s); });
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the echo application exited");
    text += value;
  }
  reader.releaseLock();
  return {
    port: Number(text.trim()),
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

interface Peer {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/** One mutual-TLS exchange: ms it took, or undefined when it failed. */
function peerExchange(port: number, peer: Peer): Promise<number | undefined> {
  const started = performance.now();
  return new Promise((resolve) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port,
      ...peer,
      checkServerIdentity: () => undefined,
    }, () => s.write("p"));
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(ok ? performance.now() - started : undefined);
    };
    const timer = setTimeout(() => finish(false), 15_000);
    s.on("data", () => finish(true));
    s.on("error", () => finish(false));
    s.on("close", () => finish(false));
  });
}

async function peers(port: number, peer: Peer, count: number) {
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const t = await peerExchange(port, peer);
    if (t === undefined) failed++;
    else times.push(t);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))]! : NaN;
  return { served: times.length, failed, p50Ms: +at(0.5).toFixed(1), p99Ms: +at(0.99).toFixed(1) };
}

/** Opens one TLS connection and holds it once a byte came back; false when it was refused. */
function holdOne(port: number, ca: string, held: tls.TLSSocket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect(
      {
        host: "127.0.0.1",
        port,
        ca,
        checkServerIdentity: () => undefined,
        // passed on to the TCP socket (missing from the TLS option types)
        ...{ localAddress: FLOOD_ADDRESS },
      } as tls.ConnectionOptions,
      () => s.write("f"),
    );
    let settled = false;
    const timer = setTimeout(() => settle(false), 30_000);
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) held.push(s);
      else s.destroy();
      resolve(ok);
    };
    s.on("data", () => settle(true));
    s.on("error", () => settle(false));
    s.on("close", () => settle(false));
  });
}

async function establishedFlood(port: number, ca: string, total: number, concurrency: number) {
  const held: tls.TLSSocket[] = [];
  let next = 0;
  let refused = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      if (!(await holdOne(port, ca, held))) refused++;
    }
  }));
  return { held, refused, seconds: +((performance.now() - started) / 1000).toFixed(1) };
}

/** Keeps `count` silent TCP connections open, reopening each the proxy closes. */
function handshakeFlood(port: number, count: number) {
  let stopped = false;
  let reopened = 0;
  const sockets = new Set<net.Socket>();
  const open = () => {
    if (stopped) return;
    const s = net.connect({ host: "127.0.0.1", port, localAddress: FLOOD_ADDRESS });
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => {
      sockets.delete(s);
      if (!stopped) {
        reopened++;
        setTimeout(open, 0);
      }
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    reopened: () => reopened,
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

async function metric(adminPort: number, pattern: RegExp): Promise<string[]> {
  const text = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text());
  return text.split("\n").filter((l) => pattern.test(l) && !l.startsWith("#"));
}

async function main(): Promise<void> {
  const root = values["proxy-root"]!.replace(/\/?$/, "/");
  const dir = await Deno.makeTempDir({ prefix: "contrast-flood-" });
  const ca = await meshAuthority();
  await writePodFiles(`${dir}/web`, await issuePod(ca, ["web"]));
  const bot = await issuePod(ca, ["bot"]);
  const peer = { key: bot.key, cert: bot.certChain, ca: bot.meshCa };
  const app = await echoApp();
  const readyFile = `${dir}/ready.json`;
  const child = new Deno.Command("prlimit", {
    args: [
      "--nofile=1024:20000",
      Deno.execPath(),
      "run",
      "-A",
      `${root}meshproxy/main.ts`,
      "--no-transparent",
      "--tls-config-dir",
      `${dir}/web`,
      "--inbound-host",
      "127.0.0.1",
      "--inbound-port-base",
      "0",
      "--admin-host",
      "127.0.0.1",
      "--admin-port",
      "0",
      "--ready-file",
      readyFile,
      "--log-level",
      "error",
      "--upstream-port",
      `7000=${app.port}`,
      "--upstream-port",
      `7001=${app.port}`,
    ],
    env: {
      EDG_INGRESS_PROXY_CONFIG: "open#7001#false",
      CONTRAST_MESH_POD_PORTS: "7000,7001",
      ...(values.limits ? { CONTRAST_MESH_LIMITS: values.limits } : {}),
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    let ready: { listeners: { name: string; listen: string }[]; adminPort: number } | undefined;
    while (!ready) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await Deno.readTextFile(readyFile).then(JSON.parse, () => undefined);
    }
    const portOf = (name: string) =>
      Number(ready!.listeners.find((l) => l.name === name)!.listen.split(":").at(-1));
    const mtlsPort = portOf("port-7000");
    const openPort = portOf("open");
    const limits = Deno.readTextFileSync(`/proc/${child.pid}/limits`).split("\n")
      .find((l) => l.startsWith("Max open files"))!.replace(/\s+/g, " ");
    // The proxy process is prlimit's child (exec: same pid).
    console.log(JSON.stringify({ proxyRoot: root, limits, load: loadAverage() }));
    const peerCount = Number(values.peers);
    console.log(JSON.stringify({
      phase: "baseline",
      peers: await peers(mtlsPort, peer, peerCount),
      proxy: usage(child.pid),
    }));
    const flood = Number(values.flood ?? 4936 + 500);
    const f = await establishedFlood(openPort, peer.ca, flood, Number(values.concurrency));
    console.log(JSON.stringify({
      phase: "established flood held on `open`",
      attempted: flood,
      held: f.held.length,
      refused: f.refused,
      seconds: f.seconds,
      proxy: usage(child.pid),
      peers: await peers(mtlsPort, peer, peerCount),
      refusals: await metric(ready.adminPort, /limit_refusals|open_connections/),
      load: loadAverage(),
    }));
    for (const s of f.held) s.destroy();
    await new Promise((r) => setTimeout(r, 2_000));
    const hs = handshakeFlood(mtlsPort, Number(values["handshake-flood"]));
    await new Promise((r) => setTimeout(r, 3_000));
    const during = await peers(mtlsPort, peer, peerCount);
    console.log(JSON.stringify({
      phase: "handshake flood on `port-7000`",
      silentConnections: Number(values["handshake-flood"]),
      reopenedAfterClose: hs.reopened(),
      proxy: usage(child.pid),
      peers: during,
      gauges: await metric(ready.adminPort, /handshakes_in_progress|limit_refusals/),
      load: loadAverage(),
    }));
    hs.stop();
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await app.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
Deno.exit(0);

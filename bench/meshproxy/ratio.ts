/**
 * The mesh proxy next to a direct TLS connection between the same two endpoints, measured
 * interleaved in one run on loopback.
 *
 * Two proxy processes run as they would in two pods (`meshproxy/main.ts`, explicit mode): the
 * client pod's egress listener and the server pod's ingress (mutual TLS, mesh certificates issued
 * by contrast's CA code). The benchmark process holds both applications: a client and a server.
 * Each round measures, for the path app → egress → mTLS → ingress → app and for a direct
 * mutual-TLS connection between the client and the server with the same certificates:
 *
 * - **throughput**: `--megabytes` sent one way over one connection, until the server confirms
 *   (timed from the server's first answer on the connection, so the proxied path's handshake
 *   between egress and ingress is not counted in it, as the direct handshake is not);
 * - **latency**: `--pings` 64-byte request/response round trips over one open connection;
 * - **handshakes**: `--handshakes` new connections, each until a 1-byte answer came back.
 *
 * Rounds alternate between the two paths so both see the same machine load. Before them, each path
 * moves `--warmup-megabytes` once, unmeasured: a fresh process first grows its heap, and on this
 * machine the page faults of that growth cost more than the forwarding (measured: the ingress took
 * ~520 minor faults and ~10 ms of CPU per MiB over its first 64 MiB, ~40 and ~2.5 ms after), which
 * a long-running sidecar pays once. Both ends of both paths use `node:tls` (Deno's rustls) with
 * the same defaults; the negotiated protocol and cipher of each path are printed. It prints the
 * medians, throughput proxied/direct per round (min/median/max; goal ≥ 0.5), the added p50 latency
 * (goal < 0.5 ms), the
 * handshake rate proxied/direct (the direct rate is the raw mutual-TLS handshake rate between the
 * same endpoints), the CPU time per MiB moved and per handshake (this process plus, for the
 * proxied path, both proxy processes, from /proc; also split per process), which depends less on
 * the machine's load, and the load average before and after.
 *
 * Usage: `deno run -A bench/meshproxy/ratio.ts [--rounds 5] [--megabytes 64] [--pings 2000]
 * [--handshakes 200] [--warmup-megabytes 128]`
 *
 * @module
 */
import "reflect-metadata";
import net from "node:net";
import tls from "node:tls";
import process from "node:process";
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { issuePod, meshAuthority, type PodFiles, writePodFiles } from "./credentials.ts";
import { startMeshProxyProcess } from "../../testing/simulation/mesh_proxy.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A bench/meshproxy/ratio.ts [options]",
  inlineValues: true,
  options: [
    { name: "--rounds", value: "number", default: "5", help: "rounds" },
    { name: "--megabytes", value: "number", default: "64", help: "MB streamed per round" },
    { name: "--pings", value: "number", default: "2000", help: "request-answer pings per round" },
    { name: "--handshakes", value: "number", default: "200", help: "handshakes per round" },
    { name: "--warmup-megabytes", value: "number", default: "128", help: "MB streamed first" },
  ],
});
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    megabytes: { type: "string", default: "64" },
    pings: { type: "string", default: "2000" },
    handshakes: { type: "string", default: "200" },
    "warmup-megabytes": { type: "string", default: "128" },
  },
});
const ROUNDS = Number(values.rounds);
const BYTES = Number(values.megabytes) * 1024 * 1024;
const PINGS = Number(values.pings);
const HANDSHAKES = Number(values.handshakes);
const WARMUP_BYTES = Number(values["warmup-megabytes"]) * 1024 * 1024;

type Connect = () => net.Socket | tls.TLSSocket;

/**
 * The server application. Bulk: the first byte "B" is answered "r" (ready), then the 8-byte
 * little-endian count that follows says how many bytes come, answered "ok" once they all came.
 * Anything else is echoed (pings, the handshake test's "h").
 */
function serverApp(socket: net.Socket): void {
  let mode: "unknown" | "header" | "bulk" | "ping" = "unknown";
  let header = new Uint8Array(0);
  let expected = -1;
  let received = 0;
  socket.on("error", () => {});
  socket.on("data", (chunk: Uint8Array) => {
    if (mode === "unknown") mode = chunk[0] === 66 /* B */ ? "header" : "ping";
    if (mode === "header") {
      const joined = new Uint8Array(header.length + chunk.length);
      joined.set(header);
      joined.set(chunk, header.length);
      if (joined.length < 9) {
        header = joined;
        return;
      }
      expected = Number(new DataView(joined.buffer, 1, 8).getBigUint64(0, true));
      mode = "bulk";
      socket.write("r");
      chunk = joined.subarray(9);
    }
    if (mode === "bulk") {
      received += chunk.length;
      if (received >= expected) socket.end("ok");
    } else socket.write(chunk);
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r((server.address() as net.AddressInfo).port))
  );
}

function connected(connect: Connect): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = connect();
    s.once("error", reject);
    s.once(s instanceof tls.TLSSocket ? "secureConnect" : "connect", () => {
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

/** Sends `bytes` (a multiple of 64 KiB) after the server said it is ready; MiB/s. */
async function throughput(connect: Connect, bytes = BYTES): Promise<number> {
  const socket = await connected(connect);
  const header = new Uint8Array(9);
  header[0] = 66; // B
  new DataView(header.buffer).setBigUint64(1, BigInt(bytes), true);
  await new Promise<void>((resolve) => {
    socket.once("data", () => resolve());
    socket.write(header);
  });
  const chunk = new Uint8Array(64 * 1024).fill(66);
  const start = performance.now();
  const done = new Promise<void>((r) => socket.once("data", () => r()));
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
  }
  await done;
  const seconds = (performance.now() - start) / 1000;
  socket.destroy();
  return bytes / 1024 / 1024 / seconds;
}

/** Protocol and cipher suite a TLS connection negotiated. */
function negotiated(socket: tls.TLSSocket): string {
  const text = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
  socket.destroy();
  return text;
}

async function latencies(connect: Connect, pings = PINGS): Promise<number[]> {
  const socket = await connected(connect);
  const ping = new Uint8Array(64).fill(80);
  const out: number[] = [];
  for (let i = 0; i < pings; i++) {
    const start = performance.now();
    let got = 0;
    await new Promise<void>((resolve) => {
      const onData = (c: Uint8Array) => {
        got += c.length;
        if (got >= ping.length) {
          socket.off("data", onData);
          resolve();
        }
      };
      socket.on("data", onData);
      socket.write(ping);
    });
    out.push(performance.now() - start);
  }
  socket.destroy();
  return out;
}

async function handshakeRate(connect: Connect, handshakes = HANDSHAKES): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < handshakes; i++) {
    const socket = await connected(connect);
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write("h");
    });
    socket.destroy();
  }
  return handshakes / ((performance.now() - start) / 1000);
}

/**
 * CPU time of another process, ms: the sum of its threads' run time from
 * `/proc/<pid>/task/<tid>/schedstat` (nanoseconds). `/proc/<pid>/stat` counts in clock ticks of
 * 10 ms, which over one 64 MiB round of a proxy (100–150 ms of CPU) quantised its CPU per MiB to
 * steps of 0.16 ms.
 */
function processCpuMs(pid: number): number {
  let ns = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0]);
    } catch { /* the thread ended meanwhile */ }
  }
  return ns / 1e6;
}

/** CPU time (user + system) of this process and of `pids`, ms (Linux /proc). */
function cpuMs(pids: readonly number[]): number {
  const self = process.cpuUsage();
  let total = (self.user + self.system) / 1000;
  for (const pid of pids) total += processCpuMs(pid);
  return total;
}

/** CPU ms of this process and of each of `pids`, in that order. */
function cpuEach(pids: readonly number[]): number[] {
  return [cpuMs([]), ...pids.map((pid) => cpuMs([pid]) - cpuMs([]))];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-meshbench-" });
  const ca = await meshAuthority();
  const clientFiles: PodFiles = await issuePod(ca, ["bench-client", "*"]);
  const serverFiles: PodFiles = await issuePod(ca, ["bench-server", "*"]);
  await writePodFiles(`${dir}/client`, clientFiles);
  await writePodFiles(`${dir}/server`, serverFiles);

  const plainServer = net.createServer(serverApp);
  const appPort = await listen(plainServer);
  const tlsServer = tls.createServer({
    key: serverFiles.key,
    cert: serverFiles.certChain,
    ca: serverFiles.meshCa,
    requestCert: true,
    rejectUnauthorized: true,
  }, serverApp);
  const directPort = await listen(tlsServer);
  const egressPort = await new Promise<number>((r) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => r(port));
    });
  });
  const ingress = await startMeshProxyProcess({
    env: { CONTRAST_MESH_POD_PORTS: "7000", CONTRAST_LOG_LEVEL: "warn" },
    tlsConfigDir: `${dir}/server`,
    upstreamPorts: { 7000: appPort },
  });
  const ingressPort = ingress.listeners.find((l) => l.direction === "ingress")!.port;
  const egress = await startMeshProxyProcess({
    env: {
      EDG_INGRESS_PROXY_CONFIG: "DISABLED",
      EDG_EGRESS_PROXY_CONFIG: `server#127.0.0.1:${egressPort}#bench-server:7000`,
      CONTRAST_LOG_LEVEL: "warn",
    },
    tlsConfigDir: `${dir}/client`,
    resolve: { "bench-server:7000": `127.0.0.1:${ingressPort}` },
  });
  const proxied: Connect = () =>
    net.connect({ host: "127.0.0.1", port: egressPort, noDelay: true });
  // Like the egress listener, the direct client parses its credentials once.
  const clientContext = tls.createSecureContext({
    key: clientFiles.key,
    cert: clientFiles.certChain,
    ca: clientFiles.meshCa,
  });
  const direct: Connect = () =>
    tls.connect({
      host: "127.0.0.1",
      port: directPort,
      secureContext: clientContext,
      servername: "bench-server",
    });
  const proxyPids = [egress.pid, ingress.pid];
  const series = () => ({
    mbps: [] as number[],
    lat: [] as number[],
    hs: [] as number[],
    cpuPerMib: [] as number[],
    cpuPerHandshake: [] as number[],
    /** Per process (this one, egress, ingress): CPU ms per MiB. */
    cpuPerMibEach: [[], [], []] as number[][],
  });
  const results = { direct: series(), proxied: series() };
  let ciphers = { direct: "", proxied: "" };
  let loadBefore: number[] = [];
  try {
    // Both paths negotiate with the same `node:tls` defaults: show what each got. The egress's
    // connection to the ingress negotiates what this client gets from the ingress listener.
    ciphers = {
      direct: negotiated(await connected(direct) as tls.TLSSocket),
      proxied: negotiated(
        await connected(() =>
          tls.connect({
            host: "127.0.0.1",
            port: ingressPort,
            secureContext: clientContext,
            servername: "bench-server",
          })
        ) as tls.TLSSocket,
      ),
    };
    for (const [name, connect] of [["direct", direct], ["proxied", proxied]] as const) {
      await throughput(connect, WARMUP_BYTES);
      await latencies(connect, Math.min(PINGS, 200));
      await handshakeRate(connect, Math.min(HANDSHAKES, 20));
      console.error(`warm-up of the ${name} path done`);
    }
    loadBefore = Deno.loadavg();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, connect] of [["direct", direct], ["proxied", proxied]] as const) {
        const r = results[name];
        const pids = name === "proxied" ? proxyPids : [];
        const before = cpuEach(pids);
        r.mbps.push(await throughput(connect));
        const after = cpuEach(pids);
        const mib = BYTES / 1024 / 1024;
        after.forEach((ms, i) => r.cpuPerMibEach[i]!.push((ms - before[i]!) / mib));
        r.cpuPerMib.push(
          after.reduce((a, b) => a + b, 0) / mib - before.reduce((a, b) => a + b, 0) / mib,
        );
        r.lat.push(...await latencies(connect));
        const hsBefore = cpuMs(pids);
        r.hs.push(await handshakeRate(connect));
        r.cpuPerHandshake.push((cpuMs(pids) - hsBefore) / HANDSHAKES);
      }
      console.error(`round ${round}/${ROUNDS} done`);
    }
  } finally {
    await egress.stop();
    await ingress.stop();
    plainServer.close();
    tlsServer.close();
    await Deno.remove(dir, { recursive: true });
  }
  const d = results.direct;
  const p = results.proxied;
  const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * f)]!;
  const rows = [
    ["throughput MiB/s (median of rounds)", median(d.mbps), median(p.mbps)],
    ["CPU ms per MiB, all processes", median(d.cpuPerMib), median(p.cpuPerMib)],
    ["  of which the benchmark's apps", median(d.cpuPerMibEach[0]!), median(p.cpuPerMibEach[0]!)],
    ["  of which the egress proxy", 0, median(p.cpuPerMibEach[1]!)],
    ["  of which the ingress proxy", 0, median(p.cpuPerMibEach[2]!)],
    ["CPU ms per handshake, all processes", median(d.cpuPerHandshake), median(p.cpuPerHandshake)],
    ["latency p50 ms", q(d.lat, 0.5), q(p.lat, 0.5)],
    ["latency p99 ms", q(d.lat, 0.99), q(p.lat, 0.99)],
    ["handshakes/s (median of rounds)", median(d.hs), median(p.hs)],
  ] as const;
  console.log(`${"".padEnd(38)}${"direct TLS".padStart(12)}${"via proxies".padStart(14)}`);
  for (const [label, a, b] of rows) {
    console.log(`${label.padEnd(38)}${a.toFixed(3).padStart(12)}${b.toFixed(3).padStart(14)}`);
  }
  const perRound = p.mbps.map((x, i) => x / d.mbps[i]!).sort((a, b) => a - b);
  const added = q(p.lat, 0.5) - q(d.lat, 0.5);
  console.log(
    `TLS negotiated: direct ${ciphers.direct}; egress → ingress ${ciphers.proxied}\n` +
      `throughput ratio proxied/direct per round: min ${perRound[0]!.toFixed(2)}, median ${
        median(perRound).toFixed(2)
      }, max ${perRound.at(-1)!.toFixed(2)} over ${perRound.length} rounds (goal ≥ 0.5)\n` +
      `added latency p50: ${added.toFixed(3)} ms (goal < 0.5 ms)\n` +
      `handshake rate ratio proxied/direct: ${(median(p.hs) / median(d.hs)).toFixed(2)}\n` +
      `CPU per MiB ratio direct/proxied: ${
        (median(d.cpuPerMib) / median(p.cpuPerMib)).toFixed(2)
      }\n` +
      `CPU per handshake ratio direct/proxied: ${
        (median(d.cpuPerHandshake) / median(p.cpuPerHandshake)).toFixed(2)
      }\n` +
      `load average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(1)).join("/")}, after ${
        Deno.loadavg().map((l) => l.toFixed(1)).join("/")
      } on ${navigator.hardwareConcurrency} cores`,
  );
}

await main();

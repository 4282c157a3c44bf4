/**
 * Overload with clients that give up: simulated initializers start their mesh exchange (channel
 * binding, evidence, certificate request on the same connection) on a fixed schedule at `--rates` attestations/s (open loop), each giving up after
 * `--client-timeout-ms` (its connection closed, as the Initializer's client does at its timeout),
 * against this tree's Coordinator and, with `--against DIR`, another checkout's, their phases
 * interleaved (order reversed every other round). Per phase it prints the exchanges served (an
 * answer within the timeout) per second and the Coordinator's CPU (user + system, all threads,
 * from `/proc`, over the phase and until it is idle again) per served exchange, then the load
 * average, and the connections it closed on its own so far by reason (its `/metrics`). With `--pin` the Coordinators run on CPU 0 and this generator on the others.
 * `--flow attest`: each client sends one `/attest` over its own TLS connection instead, read
 * unverified (a cheaper generator: the mesh exchange's client verifies a certificate chain);
 * `--flow mesh-raw`: the mesh exchange with its answer read unverified. `--coordinator-args "A …"`
 * passes arguments to both Coordinators (e.g. `--max-busy-connections 32`).
 *
 * Usage: `deno run -A scripts/bench_client_gone.ts [--against DIR] [--rates 300,450]
 * [--seconds 6] [--rounds 2] [--client-timeout-ms 1000] [--pin] [--flow mesh|mesh-raw|attest]
 * [--coordinator-args ARGS]`
 *
 * @module
 */
import { podAddress } from "../bench/coordinator/pod_address.ts";
import tls from "node:tls";
import { evidenceToJson } from "../protocol/evidence_json.ts";
import { meshReportData } from "../protocol/report_data.ts";
import { encodeHex } from "../util/bytes/mod.ts";
import { clientChannelBinding } from "../atls/channel_binding.ts";
import { generatePodKeys, requestMeshCredentials } from "../atls/mesh_client.ts";
import { SimulatedSnpEvidenceSource } from "../testing/simulated_evidence.ts";
import type { SimulatedSnpAuthority } from "../testing/snp/authority.ts";
import { PresignedP384Signer } from "../bench/coordinator/presigned_ecdsa.ts";
import { MEASUREMENT } from "../testing/simulation/deployment.ts";
import {
  type CoordinatorProcess,
  runDenoScript,
  startCoordinatorProcess,
} from "../testing/simulation/processes.ts";
import { createWorkspace, type Workspace, workspaceVm } from "../testing/simulation/workspace.ts";
import { exitOnBadOptions } from "../bench/script_options.ts";

/** The value after `name`, or `fallback`. */
function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1]! : fallback;
}

/** CPU seconds (user + system, all threads) process `pid` has used, from `/proc/<pid>/stat`. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Pins every thread of `pid` to `cpus` (a taskset list). */
async function pin(pid: number, cpus: string): Promise<void> {
  const out = await new Deno.Command("taskset", { args: ["-a", "-pc", cpus, String(pid)] })
    .output();
  if (out.code !== 0) throw new Error(`taskset ${pid}: ${new TextDecoder().decode(out.stderr)}`);
}

interface Target {
  readonly name: string;
  readonly ws: Workspace;
  readonly coordinator: CoordinatorProcess;
  readonly pod: SimulatedSnpEvidenceSource;
  readonly signer: PresignedP384Signer;
  served: number;
  offered: number;
  cpu: number;
  seconds: number;
}

async function start(name: string, repoRoot: string | undefined, pinned: boolean) {
  const ws = await createWorkspace("snp");
  const coordinator = await startCoordinatorProcess({
    historyDir: `${ws.dir}/history`,
    vm: workspaceVm(ws, ws.deployment.coordinator.digest),
    readyFile: `${ws.dir}/ready.json`,
    cwd: ws.dir,
    ...(repoRoot ? { repoRoot } : {}),
    extraArgs: ["--log-level", "info", ...coordinatorArgs],
  });
  if (pinned) await pin(coordinator.child.pid, "0");
  const set = await runDenoScript(
    "cli/main.ts",
    ["set", "-c", coordinator.userAddress, ws.yamlPath],
    ws.dir,
  );
  if (set.code !== 0) throw new Error(`set failed: ${set.stderr}`);
  // The simulated secure processor's signature with nonces precomputed before each phase (as
  // scripts/load_test.ts): the generator's CPU goes to the exchange, not to the pods' reports.
  const signer = await PresignedP384Signer.fromKey(await vcekSigningKey(ws.deployment.authority));
  const pod = new SimulatedSnpEvidenceSource(ws.deployment.authority, {
    hostData: ws.deployment.pods.web.digest,
    measurement: await MEASUREMENT,
    sign: (_key: CryptoKey, body: Uint8Array) => Promise.resolve(signer.sign(body)),
  });
  const target: Target = {
    name,
    ws,
    coordinator,
    pod,
    signer,
    served: 0,
    offered: 0,
    cpu: 0,
    seconds: 0,
  };
  return target;
}

/** The VCEK the simulated authority signs reports with. */
async function vcekSigningKey(authority: SimulatedSnpAuthority): Promise<CryptoKey> {
  let captured: CryptoKey | undefined;
  await authority.createReport({
    sign: (key, body) => {
      captured = key;
      return crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-384" },
        key,
        body as Uint8Array<ArrayBuffer>,
      ).then((s) => new Uint8Array(s));
    },
  });
  if (captured === undefined) throw new Error("the authority signed without its VCEK");
  return captured;
}

/** A TLS connection to `port` from `localAddress` (each client its own, as a pod), unverified. */
function connect(port: number, localAddress: string): tls.TLSSocket {
  // `localAddress` is honoured by Deno's node:tls (atls/pinned_client.ts passes it the same way).
  const options: tls.ConnectionOptions = {
    host: "127.0.0.1",
    port,
    rejectUnauthorized: false,
    minVersion: "TLSv1.3",
  };
  return tls.connect({ ...options, ...{ localAddress } });
}

/**
 * One `/attest` over a fresh TLS connection (unverified: the generator's CPU goes to the load),
 * closed at `timeoutMs`; resolves whether the whole answer (200) arrived in time.
 */
function attestOnce(port: number, localAddress: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, localAddress);
    const body = `{"nonce":"${"00".repeat(32)}"}`;
    const chunks: Uint8Array[] = [];
    let received = 0;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
    socket.on("secureConnect", () => {
      socket.write(
        `POST /attest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `content-length: ${body.length}\r\n\r\n${body}`,
      );
    });
    socket.on("data", (chunk: Uint8Array) => {
      chunks.push(chunk);
      received += chunk.length;
      const text = new TextDecoder().decode(concat(chunks));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN);
      if (received >= end + 4 + length) finish(text.startsWith("HTTP/1.1 200"));
    });
  });
}

function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The mesh exchange over one TLS connection (its channel binding, evidence, certificate request),
 * its answer read unverified, closed at `timeoutMs`: resolves whether the certificate answer (200)
 * arrived in time.
 */
function meshOnce(
  port: number,
  localAddress: string,
  timeoutMs: number,
  keys: Awaited<ReturnType<typeof generatePodKeys>>,
  pod: SimulatedSnpEvidenceSource,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, localAddress);
    let buffered = new Uint8Array(0);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const post = (path: string, body: string) =>
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `content-length: ${body.length}\r\n\r\n${body}`,
      );
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
    socket.on("secureConnect", async () => {
      let channelBinding: Uint8Array;
      try {
        channelBinding = clientChannelBinding(socket);
      } catch {
        return finish(false);
      }
      const evidence = await pod.getEvidence(
        await meshReportData({ channelBinding, leafSpki: keys.leafSpki }),
      );
      if (done) return;
      post(
        "/mesh/certificate",
        JSON.stringify({
          evidence: evidenceToJson(evidence),
          leafPublicKey: encodeHex(keys.leafSpki),
        }),
      );
    });
    socket.on("data", (chunk: Uint8Array) => {
      buffered = concat([buffered, chunk]);
      const text = new TextDecoder().decode(buffered);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN);
      if (buffered.length < end + 4 + length) return;
      finish(text.startsWith("HTTP/1.1 200"));
    });
  });
}

let pods = 0;

/** One open-loop phase at `rate`/s for `seconds` against `t`; returns served, offered and CPU. */
async function phase(t: Target, rate: number, seconds: number, timeoutMs: number) {
  const count = Math.round(rate * seconds);
  const keys = [];
  for (let i = 0; i < (flow === "attest" ? 0 : count); i++) keys.push(await generatePodKeys());
  t.signer.ensure(count);
  const pid = t.coordinator.child.pid;
  const cpu0 = await cpuSeconds(pid);
  const t0 = performance.now();
  let served = 0;
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const n = pods++ % (250 * 250);
    const localAddress = podAddress(n);
    if (flow === "mesh-raw") {
      const port = Number(t.coordinator.meshAddress.split(":").pop());
      running.push(
        meshOnce(port, localAddress, timeoutMs, keys[i]!, t.pod).then((ok) => {
          if (ok) served++;
        }),
      );
      continue;
    }
    if (flow === "attest") {
      const port = Number(t.coordinator.userAddress.split(":").pop());
      running.push(
        attestOnce(port, localAddress, timeoutMs).then((ok) => {
          if (ok) served++;
        }),
      );
      continue;
    }
    running.push(
      requestMeshCredentials(t.coordinator.meshAddress, keys[i]!, t.pod, {
        timeoutMs,
        localAddress: podAddress(n),
      }).then(() => {
        if (performance.now() - (t0 + (i * 1000) / rate) <= timeoutMs) served++;
      }, () => {}),
    );
  }
  await Promise.all(running);
  // The Coordinator finishes what it still holds: measured until its CPU stops moving.
  let last = await cpuSeconds(pid);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await cpuSeconds(pid);
    if (now - last < 0.02) break;
    last = now;
  }
  // What the Coordinator did with them, from its access log: answered, or dropped unanswered
  // because the client had gone (499), and connections dropped before their handshake.
  const lines = t.coordinator.logs.splice(0);
  const statuses = new Map<string, number>();
  for (const line of lines) {
    const m = /"path":"([^"]+)","status":(\d+)/.exec(line);
    if (m) statuses.set(`${m[1]} ${m[2]}`, (statuses.get(`${m[1]} ${m[2]}`) ?? 0) + 1);
  }
  // Connections the Coordinator closed on its own so far (all phases), by reason.
  const metrics = await (await fetch(`http://127.0.0.1:${t.coordinator.probePort}/metrics`)).text();
  for (
    const m of metrics.matchAll(/connections_closed_total\{api="mesh",reason="([a-z_]+)"\} (\d+)/g)
  ) {
    statuses.set(`closed ${m[1]} (so far)`, Number(m[2]));
  }
  return { served, offered: count, cpu: last - cpu0, seconds, statuses };
}

exitOnBadOptions(Deno.args, {
  usage: "deno run -A scripts/bench_client_gone.ts [options]",
  options: [
    { name: "--against", value: "string", help: "also measure the checkout in DIR, interleaved" },
    { name: "--rates", value: "string", default: "300,450", help: "attestations/s offered" },
    { name: "--seconds", value: "number", default: "6", help: "seconds per phase" },
    { name: "--rounds", value: "number", default: "2", help: "rounds" },
    { name: "--client-timeout-ms", value: "number", default: "1000", help: "each client gives up" },
    { name: "--pin", help: "Coordinators on CPU 0, this generator on the others" },
    { name: "--flow", value: "string", default: "mesh", help: "mesh | mesh-raw | attest" },
    { name: "--coordinator-args", value: "raw", help: "arguments for both Coordinators" },
  ],
});
const rates = flag("--rates", "300,450").split(",").map(Number);
const seconds = Number(flag("--seconds", "6"));
const rounds = Number(flag("--rounds", "2"));
const timeoutMs = Number(flag("--client-timeout-ms", "1000"));
const pinned = Deno.args.includes("--pin");
const flow = flag("--flow", "mesh");
const coordinatorArgs = flag("--coordinator-args", "").split(" ").filter((a) => a !== "");
const against = flag("--against", "");
if (pinned) {
  const cpus = navigator.hardwareConcurrency;
  await pin(Deno.pid, cpus > 1 ? `1-${cpus - 1}` : "0");
}
const targets = [await start("this tree", undefined, pinned)];
if (against) {
  targets.push(await start(against, against.endsWith("/") ? against : `${against}/`, pinned));
}
try {
  const results = new Map<string, { served: number; cpu: number; offered: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const rate of rates) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const r = await phase(t, rate, seconds, timeoutMs);
        const key = `${t.name} @${rate}/s`;
        const sum = results.get(key) ?? { served: 0, cpu: 0, offered: 0 };
        results.set(key, {
          served: sum.served + r.served,
          cpu: sum.cpu + r.cpu,
          offered: sum.offered + r.offered,
        });
        console.log(
          `round ${round + 1} ${key}: served ${r.served}/${r.offered} (${
            (r.served / seconds).toFixed(1)
          }/s), CPU ${r.cpu.toFixed(2)} s, ${
            r.served > 0 ? ((r.cpu / r.served) * 1000).toFixed(2) : "-"
          } ms per served, ${
            [...r.statuses].sort().map(([k, v]) => `${k}: ${v}`).join(", ")
          }; load average ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
        );
      }
    }
  }
  console.log("--- totals");
  for (const [key, r] of results) {
    console.log(
      `${key}: served ${r.served}/${r.offered} (${(r.served / (seconds * rounds)).toFixed(1)}/s), ${
        r.served > 0 ? ((r.cpu / r.served) * 1000).toFixed(2) : "-"
      } ms CPU per served`,
    );
  }
} finally {
  for (const t of targets) {
    await t.coordinator.stop();
    await t.ws.cleanup();
  }
}

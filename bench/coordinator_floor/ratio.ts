/**
 * The floor under issue 18's Coordinator CPU goal: what the Coordinator's connection layer costs
 * per attestation with nothing behind it, against the crypto bound, measured interleaved in one
 * run.
 *
 * `layer_server.ts` (a separate Deno process) runs the Coordinator's own HTTP/1.1 layer on
 * `node:tls` with a certificate shaped like the Coordinator's, answering fixed bodies; a client
 * process (`layer_client.ts`) makes `--connections` connections per round, `--in-flight` at a
 * time, each a pod's mesh attestation on the wire (one full TLS 1.3 handshake and the certificate
 * request with its real body sizes, `shape.ts`). The server's CPU time (user +
 * system, all threads, `/proc/<pid>/stat`) per connection is the layer's cost: TLS (rustls under
 * `node:tls`), the HTTP layer, Deno's event loop, GC and the kernel's socket work. After every
 * round this process measures the bound as `scripts/load_test.ts` does (one P-384 verify by
 * WebCrypto with an imported key, one P-384 signature by the Coordinator's `node:crypto` signer).
 * It prints both per round and as medians, and the best CPU ratio a Coordinator could reach
 * whose only work besides the layer were the bound: bound / (bound + layer). Whatever the
 * Coordinator spends beyond bound + layer is its own request handling (JSON, evidence parsing,
 * leaf, the latest-record read, logs, metrics, and their GC).
 *
 * `--server node-tls|deno-tls|plain` measures a bare server instead (`bare_server.ts`: the runtime's
 * TLS with nothing of the Coordinator's, or plain TCP), to tell the TLS handshake's price from the
 * HTTP layer's.
 *
 * Usage: `deno run -A bench/coordinator_floor/ratio.ts [--rounds 5] [--connections 600]
 * [--in-flight 8] [--server layer|node-tls|deno-tls|plain]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { boundFixture, boundStep } from "../coordinator/crypto_bound.ts";
import { processCpuMs } from "../process_cpu.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A bench/coordinator_floor/ratio.ts [options]",
  inlineValues: true,
  options: [
    { name: "--rounds", value: "number", default: "5", help: "rounds" },
    { name: "--connections", value: "number", default: "600", help: "connections per round" },
    { name: "--in-flight", value: "number", default: "8", help: "connections at a time" },
    {
      name: "--server",
      value: "string",
      default: "layer",
      help: "layer (the Coordinator's), node-tls, deno-tls or plain (bare_server.ts)",
    },
  ],
});
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "600" },
    "in-flight": { type: "string", default: "8" },
    server: { type: "string", default: "layer" },
  },
});
const SERVERS = {
  layer: "node:tls + coordinator/http",
  "node-tls": "bare node:tls",
  "deno-tls": "bare Deno.listenTls",
  plain: "plain TCP, no TLS",
} as const;
const serverKind = values.server as keyof typeof SERVERS;
if (!(serverKind in SERVERS)) {
  console.error(`--server: "${values.server}" is none of ${Object.keys(SERVERS).join(", ")}`);
  Deno.exit(2);
}
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const inFlight = Number(values["in-flight"]);
const HERE = new URL(".", import.meta.url).pathname;

const server = new Deno.Command(Deno.execPath(), {
  args: serverKind === "layer"
    ? ["run", "-A", `${HERE}layer_server.ts`]
    : ["run", "-A", `${HERE}bare_server.ts`, serverKind],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
const { port, pid } = JSON.parse((await reader.read()).value!) as { port: number; pid: number };

async function client(count: number): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${HERE}layer_client.ts`,
      String(port),
      String(count),
      String(inFlight),
      ...(serverKind === "plain" ? ["plain"] : []),
    ],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`client failed: ${new TextDecoder().decode(out.stderr)}`);
}

const fixture = await boundFixture();

/** The bound's CPU per attestation in this process (verify + sign), checked to verify. */
async function bound(iterations: number): Promise<number> {
  const before = processCpuMs(Deno.pid);
  for (let i = 0; i < iterations; i++) {
    await boundStep(fixture);
  }
  return (processCpuMs(Deno.pid) - before) / iterations;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  await client(Math.min(200, connections));
  await bound(50);
  const layers: number[] = [];
  const bounds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = processCpuMs(pid);
    await client(connections);
    layers.push((processCpuMs(pid) - before) / connections);
    bounds.push(await bound(Math.max(100, Math.round(connections / 3))));
    console.log(
      `round ${round + 1}: layer ${layers.at(-1)!.toFixed(3)} ms per connection, bound ` +
        `${bounds.at(-1)!.toFixed(3)} ms`,
    );
  }
  const layer = median(layers);
  const b = median(bounds);
  const load = Deno.loadavg().map((l) => l.toFixed(1)).join(" / ");
  console.log(
    `connection layer (${SERVERS[serverKind]}, ${inFlight} in flight, mesh flow's shape): ` +
      `${layer.toFixed(3)} ms CPU per attestation (median of ${rounds} rounds of ${connections})`,
  );
  console.log(`bound (P-384 verify + sign, interleaved): ${b.toFixed(3)} ms`);
  console.log(
    `best CPU ratio with nothing but the layer and the bound: bound / (bound + layer) = ` +
      `${(b / (b + layer)).toFixed(3)} (load average ${load})`,
  );
} finally {
  server.kill();
  await server.status;
}

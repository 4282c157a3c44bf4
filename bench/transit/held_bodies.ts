/**
 * Memory of the transit port under a compromised pod holding unfinished bodies: a Coordinator
 * process (memory history, simulated SNP, the default service limits: transit bodies up to
 * `DEFAULT_SERVICE_CONFIG.transit.maxBodyBytes`) whose resident memory is sampled every 20 ms,
 * and a client (this process) with the `web` pod's mesh certificate that opens `--connections`
 * connections (spread over `--addresses` loopback source addresses, 127.0.0.1 upwards), sends
 * each a request head declaring the largest body and then all but 1 MiB of it, and holds them.
 *
 * ```
 * deno run -A bench/transit/held_bodies.ts --connections 60 --addresses 1
 * ```
 *
 * Prints one JSON line: the Coordinator's peak resident memory, its V8 heap and external memory
 * at that peak (MiB), and how the connections ended. `tests/coordinator/transit/` asserts the
 * bound with it.
 *
 * @module
 */
import "reflect-metadata";
import net from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { DEFAULT_SERVICE_CONFIG } from "../../coordinator/service.ts";
import { podCredentials, startTransitCoordinator, TRANSIT_SERVICE_CONFIG } from "./fixture.ts";

/** What the Coordinator process reports. */
interface ServerReport {
  /** Peak resident memory, MiB. */
  readonly peakRssMiB: number;
  /** V8 heap used at the peak, MiB. */
  readonly heapUsedMiB: number;
  /** Memory outside the V8 heap that V8 knows of (array buffers) at the peak, MiB. */
  readonly externalMiB: number;
  /** Resident memory before the attack, MiB. */
  readonly baselineRssMiB: number;
}

/** The result of one attack. */
interface HeldBodiesResult extends ServerReport {
  /** Connections opened. */
  readonly connections: number;
  /** Source addresses used. */
  readonly addresses: number;
  /** Connections the server closed or refused before the attack ended. */
  readonly closedByServer: number;
  /** Body bytes the client got written in all, MiB. */
  readonly sentMiB: number;
}

const MiB = 1024 * 1024;

/** The Coordinator side: starts, prints its port and credentials, samples memory until stdin ends. */
async function serve(): Promise<void> {
  const config = {
    ...TRANSIT_SERVICE_CONFIG,
    transit: {
      ...DEFAULT_SERVICE_CONFIG.transit!,
      port: 0,
      sans: TRANSIT_SERVICE_CONFIG.transit!.sans,
    },
  };
  const c = await startTransitCoordinator(config);
  const view = (await c.coordinator.transitView())!;
  const web = await podCredentials(view, c.d.pods.web!.digest);
  const baseline = Deno.memoryUsage().rss;
  let peak = { rss: baseline, heapUsed: 0, external: 0 };
  const timer = setInterval(() => {
    const m = Deno.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 20);
  console.log(JSON.stringify({
    port: c.service.transitPort,
    caPem: view.ca.meshCaPem,
    web,
    maxBodyBytes: config.transit.maxBodyBytes,
  }));
  for await (const _ of Deno.stdin.readable) { /* until the client closes stdin */ }
  clearInterval(timer);
  const report: ServerReport = {
    peakRssMiB: Math.round(peak.rss / MiB),
    heapUsedMiB: Math.round(peak.heapUsed / MiB),
    externalMiB: Math.round(peak.external / MiB),
    baselineRssMiB: Math.round(baseline / MiB),
  };
  console.log(JSON.stringify(report));
  await c.close();
  Deno.exit(0);
}

/** Lines of `stream` one at a time. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
      yield text.slice(0, nl);
      text = text.slice(nl + 1);
    }
  }
}

/**
 * Runs one attack against a fresh Coordinator process: `connections` connections from
 * `addresses` source addresses, each holding all but 1 MiB of the largest body, for `holdMs`
 * after the last write.
 */
export async function heldBodiesAttack(
  connections: number,
  addresses: number,
  holdMs = 3_000,
  sendBytes?: number,
): Promise<HeldBodiesResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--serve"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = lines(child.stdout);
  const setup = JSON.parse((await out.next()).value as string);
  const declared: number = setup.maxBodyBytes;
  const sending = sendBytes ?? declared - MiB;
  let closedByServer = 0;
  let sent = 0;
  const sockets: tls.TLSSocket[] = [];
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = tls.connect({
        socket: net.connect({
          host: "127.0.0.1",
          port: setup.port,
          localAddress: `127.0.0.${1 + (i % addresses)}`,
        }),
        servername: "localhost",
        ca: setup.caPem,
        cert: setup.web.certPem,
        key: setup.web.keyPem,
      });
      sockets.push(socket);
      let done = false;
      const finish = () => {
        if (!done) resolve();
        done = true;
      };
      socket.on("error", () => {});
      socket.on("close", () => {
        closedByServer++;
        finish();
      });
      socket.on("secureConnect", async () => {
        socket.write(
          `POST /v1/transit/encrypt/web-secret HTTP/1.1\r\nhost: x\r\n` +
            `content-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`,
        );
        for (let n = 0; n < sending && !socket.destroyed; n += chunk.length) {
          await new Promise<void>((r) => socket.write(chunk, () => r()));
          sent += chunk.length;
        }
        finish();
      });
    });
  await Promise.all(Array.from({ length: connections }, (_, i) => one(i)));
  await new Promise((r) => setTimeout(r, holdMs));
  const open = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  await child.stdin.close();
  const report = JSON.parse((await out.next()).value as string) as ServerReport;
  await child.status;
  return {
    ...report,
    connections,
    addresses,
    closedByServer: connections - open,
    sentMiB: Math.round(sent / MiB),
  };
}

if (import.meta.main) {
  exitOnBadOptions(Deno.args, {
    usage: "deno run -A bench/transit/held_bodies.ts [options]",
    inlineValues: true,
    options: [
      { name: "--connections", value: "number", default: "60", help: "connections held" },
      { name: "--addresses", value: "number", default: "1", help: "loopback source addresses" },
      { name: "--send-kib", value: "number", help: "KiB of body each sends" },
      { name: "--serve", help: "the Coordinator side (run by the attack itself)" },
    ],
  });
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      serve: { type: "boolean", default: false },
      connections: { type: "string", default: "60" },
      addresses: { type: "string", default: "1" },
      "send-kib": { type: "string" },
    },
  });
  if (values.serve) await serve();
  else {
    console.log(JSON.stringify(
      await heldBodiesAttack(
        Number(values.connections),
        Number(values.addresses),
        3_000,
        values["send-kib"] === undefined ? undefined : Number(values["send-kib"]) * 1024,
      ),
    ));
  }
}

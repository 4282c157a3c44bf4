/**
 * Transit KMS throughput next to in-process AES-256-GCM, measured interleaved in one run.
 *
 * An in-process Coordinator serves the transit API on 127.0.0.1; a client in the same process
 * sends `POST /v1/transit/encrypt` and `/decrypt` (64-byte plaintexts, `concurrency` requests in
 * flight over keep-alive TLS connections with the pod's mesh certificate), and the same process
 * seals and opens the same payloads with WebCrypto AES-256-GCM directly (the floor: what an
 * application holding the key itself would spend). Rounds alternate between the two so both
 * see the same machine load; it prints requests/s, the CPU time per operation (client and
 * server share the process, so the transit figure includes both ends and TLS) and the ratios
 * transit / in-process.
 *
 * Usage: `deno run -A bench/transit/ratio.ts [--rounds 5] [--requests 400] [--concurrency 8]`
 *
 * @module
 */
import "reflect-metadata";
import https from "node:https";
import process from "node:process";
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { importAesGcmKey, openAesGcm, sealAesGcm } from "../../kms/aes_gcm.ts";
import { encodeBase64 } from "../../util/bytes/mod.ts";
import { type ClientCredentials, podCredentials, startTransitCoordinator } from "./fixture.ts";

interface Sample {
  readonly ops: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

function post(agent: https.Agent, port: number, path: string, body: string, ca: string) {
  return new Promise<string>((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      servername: "localhost",
      port,
      method: "POST",
      path,
      ca,
      agent,
      headers: { "content-type": "application/json" },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => text += c);
      res.on("end", () => res.statusCode === 200 ? resolve(text) : reject(new Error(text)));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function measure(ops: number, fn: () => Promise<unknown>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { ops, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

async function inParallel(total: number, concurrency: number, one: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
}

function summary(samples: Sample[]) {
  const ops = samples.reduce((a, s) => a + s.ops, 0);
  const wall = samples.reduce((a, s) => a + s.wallMs, 0);
  const cpu = samples.reduce((a, s) => a + s.cpuMs, 0);
  return { perSecond: ops / (wall / 1000), cpuUsPerOp: (cpu * 1000) / ops };
}

if (import.meta.main) {
  exitOnBadOptions(Deno.args, {
    usage: "deno run -A bench/transit/ratio.ts [options]",
    inlineValues: true,
    options: [
      { name: "--rounds", value: "number", default: "5", help: "rounds" },
      { name: "--requests", value: "number", default: "400", help: "requests per round" },
      { name: "--concurrency", value: "number", default: "8", help: "requests at a time" },
    ],
  });
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "5" },
      requests: { type: "string", default: "400" },
      concurrency: { type: "string", default: "8" },
    },
  });
  const rounds = Number(values.rounds);
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const c = await startTransitCoordinator();
  const view = async () => (await c.coordinator.transitView())!;
  const port = () => c.service.transitPort!;
  const ca = (await view()).ca.meshCaPem;
  const d = c.d;
  const web: ClientCredentials = await podCredentials(await view(), d.pods.web!.digest);
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: concurrency,
    cert: web.certPem,
    key: web.keyPem,
  });
  const plaintext = crypto.getRandomValues(new Uint8Array(64));
  const encryptBody = JSON.stringify({ plaintext: encodeBase64(plaintext) });
  const key = await importAesGcmKey(crypto.getRandomValues(new Uint8Array(32)));
  const sealed = await sealAesGcm(key, plaintext);
  const first = JSON.parse(
    await post(agent, port(), "/v1/transit/encrypt/web-secret", encryptBody, ca),
  );
  const decryptBody = JSON.stringify({ ciphertext: first.data.ciphertext });
  const samples = {
    transitEnc: [] as Sample[],
    transitDec: [] as Sample[],
    localEnc: [] as Sample[],
    localDec: [] as Sample[],
  };
  try {
    // Round 0 warms up (TLS sessions, key derivation, JIT) and is not counted.
    for (let round = 0; round <= rounds; round++) {
      if (round === 1) { for (const list of Object.values(samples)) list.length = 0; }
      samples.transitEnc.push(
        await measure(requests, () =>
          inParallel(requests, concurrency, async () => {
            await post(agent, port(), "/v1/transit/encrypt/web-secret", encryptBody, ca);
          })),
      );
      samples.localEnc.push(
        await measure(requests, () =>
          inParallel(requests, concurrency, async () => {
            await sealAesGcm(key, plaintext);
          })),
      );
      samples.transitDec.push(
        await measure(requests, () =>
          inParallel(requests, concurrency, async () => {
            await post(agent, port(), "/v1/transit/decrypt/web-secret", decryptBody, ca);
          })),
      );
      samples.localDec.push(
        await measure(requests, () =>
          inParallel(requests, concurrency, async () => {
            await openAesGcm(key, sealed);
          })),
      );
    }
  } finally {
    agent.destroy();
    await c.close();
  }
  const row = (name: string, transit: Sample[], local: Sample[]) => {
    const t = summary(transit);
    const l = summary(local);
    console.log(
      `${name}: transit ${t.perSecond.toFixed(0)} req/s (${t.cpuUsPerOp.toFixed(0)} µs CPU/op), ` +
        `in-process ${l.perSecond.toFixed(0)} op/s (${l.cpuUsPerOp.toFixed(1)} µs CPU/op); ` +
        `throughput ratio transit/in-process ${(t.perSecond / l.perSecond).toExponential(2)}, ` +
        `CPU per op ${(t.cpuUsPerOp / l.cpuUsPerOp).toFixed(0)}×`,
    );
  };
  console.log(
    `${rounds} interleaved rounds × ${requests} operations, ${concurrency} in flight, 64-byte plaintexts`,
  );
  row("encrypt", samples.transitEnc, samples.localEnc);
  row("decrypt", samples.transitDec, samples.localDec);
}

/**
 * The Coordinator's own request handling per mesh attestation, without the connection layer:
 * an in-process Coordinator (simulated SNP, file history like a deployment's, text logs to
 * stderr at info level as deployed) whose mesh API handler (`createRequestHandler` with
 * `meshRoutes`, the request budget and JSON limits of the service) is called directly with the
 * certificate request of a simulated pod of the web policy (workload secret answered), each
 * request carrying its own channel binding as its connection would (32 random bytes here: no
 * connection). The pods' keys and evidence are made before the timed phase; the timed phase
 * holds only the handler's work, `--in-flight` certificate requests at a time. This process's
 * CPU (all threads) per attestation is printed against the bound measured right after (as
 * `scripts/load_test.ts` measures it), with their difference: what the Coordinator spends on an
 * attestation beyond the two signature operations and the connection (`ratio.ts`). Fails on any
 * answer but 200. Redirect stderr (the access log) to keep the output readable.
 *
 * `--allocations` adds one more round, not timed, whose certificate requests run under V8's
 * sampling heap profiler (`allocation_profile.ts`): the JavaScript heap allocated per
 * attestation by the handler, by allocating function and by the repository's functions with
 * their callees (what the garbage collector has to clear, ~0.1–0.2 ms of CPU per attestation in
 * the Coordinator's process).
 *
 * Usage: `deno run -A bench/coordinator_floor/app_cpu.ts [--rounds 4] [--attestations 400]
 * [--in-flight 8] [--allocations] 2>/dev/null`
 *
 * @module
 */
import "reflect-metadata";
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { deployment, MEASUREMENT } from "../../testing/simulation/deployment.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { FileHistoryBackend } from "../../coordinator/history/file_backend.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { Logger } from "../../util/log/logger.ts";
import { BufferedStderr } from "../../util/log/buffered_stderr.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { createRequestHandler } from "../../coordinator/http/server.ts";
import type { IncomingRequest } from "../../coordinator/http/http1_server.ts";
import { meshRoutes } from "../../coordinator/routes.ts";
import { API_JSON_SHAPE } from "../../coordinator/service.ts";
import { RequestBudget } from "../../coordinator/http/request_budget.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { generatePodKeys } from "../../atls/mesh_client.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { boundFixture, boundStep } from "../coordinator/crypto_bound.ts";
import {
  AllocationSampler,
  formatAllocations,
  summarizeAllocations,
} from "./allocation_profile.ts";
import { processCpuMs } from "../process_cpu.ts";
import { podAddress } from "../coordinator/pod_address.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A bench/coordinator_floor/app_cpu.ts [options] 2>/dev/null",
  inlineValues: true,
  options: [
    { name: "--rounds", value: "number", default: "4", help: "rounds" },
    {
      name: "--attestations",
      value: "number",
      default: "400",
      help: "certificate requests per round",
    },
    { name: "--in-flight", value: "number", default: "8", help: "requests at a time" },
    {
      name: "--allocations",
      help: "one more round, not timed, sampling the heap allocated per certificate request",
    },
  ],
});
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "4" },
    attestations: { type: "string", default: "400" },
    "in-flight": { type: "string", default: "8" },
    allocations: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const count = Number(values.attestations);
const inFlight = Number(values["in-flight"]);

const d = await deployment("snp");
const historyDir = await Deno.makeTempDir({ prefix: "app-cpu-" });
const verifiers = new ManifestVerifiers();
const logger = new Logger("coordinator", {
  format: "text",
  level: "info",
  sink: new BufferedStderr().sink,
});
const metrics = new CoordinatorMetrics();
const coordinator = await Coordinator.start({
  evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
    hostData: d.coordinator.digest,
    measurement: await MEASUREMENT,
  }),
  historyBackend: await FileHistoryBackend.open(historyDir),
  parseManifest,
  verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
  logger,
  metrics,
});
const manifest = d.manifest();
await coordinator.setManifest(parseManifestRequest({
  manifest: encodeBase64(manifest),
  policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
  previous_transition: "00".repeat(32),
  signature: await d.ownerSignature(manifest),
}));
const handler = createRequestHandler({
  api: "mesh",
  routes: meshRoutes(coordinator),
  limits: { maxBodyBytes: 256 * 1024, jsonShape: API_JSON_SHAPE },
  logger,
  metrics,
  requestBudget: new RequestBudget(),
});
const pod = new SimulatedSnpEvidenceSource(d.authority, {
  hostData: d.pods.web.digest,
  measurement: await MEASUREMENT,
});
const UTF8 = new TextEncoder();
const TEXT = new TextDecoder();

/** A request from `clientAddress` over a connection whose channel binding is `binding`. */
function request(
  path: string,
  body: Uint8Array,
  clientAddress: string,
  binding: Uint8Array,
): IncomingRequest {
  return {
    method: "POST",
    path,
    clientAddress,
    signal: new AbortController().signal,
    peer: { channelBinding: () => binding },
    declaredBodyBytes: body.length,
    body: () => Promise.resolve(body),
  };
}

async function answer(
  path: string,
  body: Uint8Array,
  client: string,
  binding: Uint8Array,
): Promise<Uint8Array> {
  const out = await handler.handle(request(path, body, client, binding));
  if (out.status !== 200) throw new Error(`${path}: ${out.status} ${TEXT.decode(out.body)}`);
  return out.body;
}

const fixture = await boundFixture();

let address = 0;
const sizes = { certificateRequest: 0, certificate: 0 };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const own: number[] = [];
const bounds: number[] = [];
try {
  const sampledRound = values.allocations ? rounds + 1 : -1;
  for (let round = 0; round <= rounds || round === sampledRound; round++) {
    const sampled = round === sampledRound;
    const keys = await Promise.all(Array.from({ length: count }, () => generatePodKeys()));
    const clients = keys.map(() => {
      return podAddress(address++);
    });
    // Each pod's connection has its own channel binding.
    const bindings = keys.map(() => crypto.getRandomValues(new Uint8Array(32)));
    const bodies = await Promise.all(keys.map(async (k, i) => {
      const reportData = await meshReportData({
        channelBinding: bindings[i]!,
        leafSpki: k.leafSpki,
      });
      return UTF8.encode(JSON.stringify({
        evidence: evidenceToJson(await pod.getEvidence(reportData)),
        leafPublicKey: encodeHex(k.leafSpki),
      }));
    }));
    sizes.certificateRequest = bodies[0]!.length;
    let next = 0;
    const certificateSampler = sampled ? await AllocationSampler.start() : undefined;
    let cpu = processCpuMs();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        sizes.certificate = (await answer(
          "/mesh/certificate",
          bodies[i]!,
          clients[i]!,
          bindings[i]!,
        )).length;
      }
    }));
    const spent = processCpuMs() - cpu;
    if (certificateSampler) {
      console.log(`allocations (round ${round}, not timed):`);
      console.log(
        formatAllocations(
          summarizeAllocations(await certificateSampler.stop(), count),
          "certificate request",
        ),
      );
      continue;
    }
    cpu = processCpuMs();
    for (let i = 0; i < count; i++) {
      await boundStep(fixture);
    }
    const bound = (processCpuMs() - cpu) / count;
    // Round 0 warms up (compilation, heap growth), as the load test's warm-up does.
    if (round === 0) continue;
    own.push(spent / count);
    bounds.push(bound);
    console.log(
      `round ${round}: handler ${own.at(-1)!.toFixed(3)} ms per attestation, bound ` +
        `${bound.toFixed(3)} ms, beyond the bound ${(own.at(-1)! - bound).toFixed(3)} ms`,
    );
  }
  const o = median(own);
  const b = median(bounds);
  console.log(
    `handler (certificate, ${inFlight} in flight, no connection layer): ` +
      `${o.toFixed(3)} ms CPU per attestation; bound ${b.toFixed(3)} ms; beyond the bound ` +
      `${(o - b).toFixed(3)} ms, CPU ratio bound / handler ${(b / o).toFixed(3)} (medians of ` +
      `${rounds} rounds of ${count}; load average ` +
      `${Deno.loadavg().map((l) => l.toFixed(1)).join(" / ")})`,
  );
  console.log(
    `sizes: certificate request ${sizes.certificateRequest} B, certificate answer ` +
      `${sizes.certificate} B`,
  );
} finally {
  await coordinator.close();
  await Deno.remove(historyDir, { recursive: true });
}

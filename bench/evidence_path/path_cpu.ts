/**
 * CPU of the Coordinator's per-request evidence path of `POST /mesh/certificate`, alone: from the
 * parsed JSON body (`parseMeshCertificateRequest`) and the connection's channel binding (32
 * random bytes per request here: no connection) through `meshReportData` to the verdict of
 * `ManifestVerifiers.verify` (simulated SNP evidence of the web pod, chain cached as in a running
 * Coordinator), next to the bare WebCrypto P-384 verify of the same reports (the bound of this
 * path), measured alternately in one run. Prints the CPU per request of each and the difference:
 * what the path costs beyond its signature check. Fails if a verdict is not the expected one.
 *
 * Usage: `deno run -A bench/evidence_path/path_cpu.ts [--rounds 5] [--requests 1000]
 * [--in-flight 8]`
 *
 * @module
 */
import "reflect-metadata";
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { deployment, MEASUREMENT } from "../../testing/simulation/deployment.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { parseMeshCertificateRequest } from "../../protocol/messages.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { generatePodKeys } from "../../atls/mesh_client.ts";
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import { parseSnpReport } from "../../snp/abi/report.ts";
import { parseCertTable } from "../../snp/abi/cert_table.ts";
import { parseCertificate } from "../../x509/certificate.ts";
import { importVekKey, reportSignatureRaw } from "../../snp/verify/report_signature.ts";
import { SNP_SIGNED_LENGTH } from "../../snp/abi/report.ts";
import { Session } from "node:inspector";
import { summarizeProfile } from "../coordinator/cpu_profile.ts";
import { processCpuMs } from "../process_cpu.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A bench/evidence_path/path_cpu.ts [options]",
  inlineValues: true,
  options: [
    { name: "--rounds", value: "number", default: "5", help: "rounds" },
    { name: "--requests", value: "number", default: "1000", help: "requests per round" },
    { name: "--in-flight", value: "number", default: "8", help: "requests at a time" },
    {
      name: "--profile",
      value: "string",
      help: "sample the path's JavaScript (V8 CPU profile to FILE; not a figure to report)",
    },
  ],
});
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    requests: { type: "string", default: "1000" },
    "in-flight": { type: "string", default: "8" },
    profile: { type: "string" },
  },
});
const rounds = Number(values.rounds);
const count = Number(values.requests);
const inFlight = Number(values["in-flight"]);

const d = await deployment("snp");
const manifest = parseManifest(d.manifest());
const verifiers = new ManifestVerifiers();
const pod = new SimulatedSnpEvidenceSource(d.authority, {
  hostData: d.pods.web.digest,
  measurement: await MEASUREMENT,
});
const UTF8 = new TextEncoder();
const TEXT = new TextDecoder();

/** A request as the route gets it: the parsed JSON body and its connection's channel binding. */
interface RouteInput {
  readonly body: unknown;
  readonly channelBinding: Uint8Array;
}

/** Requests as the HTTP layer hands them to the route. */
async function makeBodies(): Promise<RouteInput[]> {
  return await Promise.all(Array.from({ length: count }, async () => {
    const k = await generatePodKeys();
    const channelBinding = crypto.getRandomValues(new Uint8Array(32));
    const reportData = await meshReportData({ channelBinding, leafSpki: k.leafSpki });
    // Through bytes, as the HTTP layer gets them (fresh strings and objects per request).
    const bytes = UTF8.encode(JSON.stringify({
      evidence: evidenceToJson(await pod.getEvidence(reportData)),
      leafPublicKey: encodeHex(k.leafSpki),
    }));
    return { body: JSON.parse(TEXT.decode(bytes)), channelBinding };
  }));
}

const expectedDigest = encodeHex(d.pods.web.digest);
async function path(input: RouteInput): Promise<void> {
  const request = parseMeshCertificateRequest(input.body);
  const reportData = await meshReportData({
    channelBinding: input.channelBinding,
    leafSpki: request.leafPublicKey,
  });
  const verified = await verifiers.verify(manifest, request.evidence, {
    reportData,
    now: new Date(),
  });
  if (!constantTimeEqual(verified.claims.reportData, reportData)) throw new Error("report data");
  if (verified.policy.digest !== expectedDigest) throw new Error("wrong policy");
}

/** The bound: the WebCrypto verify of each report's signature, nothing else. */
interface BoundInput {
  key: CryptoKey;
  signature: Uint8Array<ArrayBuffer>;
  signed: Uint8Array<ArrayBuffer>;
}
async function boundInputs(bodies: RouteInput[]): Promise<BoundInput[]> {
  return await Promise.all(bodies.map(async (b) => {
    const e = parseMeshCertificateRequest(b.body).evidence;
    const report = parseSnpReport(e.report);
    const vcek = parseCertTable(e.aux!).find((c) => c.kind === "VCEK")!;
    return {
      key: await importVekKey(parseCertificate(vcek.data, "vcek")),
      signature: reportSignatureRaw(report) as Uint8Array<ArrayBuffer>,
      signed: e.report.slice(0, SNP_SIGNED_LENGTH),
    };
  }));
}
async function bound(input: BoundInput): Promise<void> {
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-384" },
    input.key,
    input.signature,
    input.signed,
  );
  if (!ok) throw new Error("bare verify failed");
}

async function timed<T>(items: T[], step: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const start = processCpuMs();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < items.length) await step(items[next++]!);
  }));
  return (processCpuMs() - start) / items.length;
}

const session = values.profile ? new Session() : undefined;
session?.connect();
// deno-lint-ignore no-explicit-any
function post(method: string): Promise<any> {
  return new Promise((resolve, reject) =>
    session!.post(method, (err, result) => err ? reject(err) : resolve(result))
  );
}
let profiledMs = 0;
async function profiled(bodies: RouteInput[]): Promise<number> {
  if (!session) return await timed(bodies, path);
  await post("Profiler.enable");
  await post("Profiler.start");
  const f = await timed(bodies, path);
  const { profile } = await post("Profiler.stop");
  profiles.push(profile);
  profiledMs += f * bodies.length;
  return f;
}
// deno-lint-ignore no-explicit-any
const profiles: any[] = [];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const full: number[] = [];
const bare: number[] = [];
for (let round = 0; round <= rounds; round++) {
  const bodies = await makeBodies();
  const inputs = await boundInputs(await makeBodies());
  const f = round === 0 ? await timed(bodies, path) : await profiled(bodies);
  const b = await timed(inputs, bound);
  if (round === 0) continue; // warm-up
  full.push(f);
  bare.push(b);
  console.log(
    `round ${round}: path ${f.toFixed(3)} ms, bare verify ${b.toFixed(3)} ms, beyond ${
      (f - b).toFixed(3)
    } ms`,
  );
}
const f = median(full);
const b = median(bare);
console.log(
  `evidence path ${f.toFixed(3)} ms CPU per request, bare P-384 verify ${b.toFixed(3)} ms, ` +
    `beyond the verify ${(f - b).toFixed(3)} ms, ratio ${(b / f).toFixed(3)} (medians of ` +
    `${rounds} rounds of ${count}, ${inFlight} in flight; load average ${
      Deno.loadavg().map((l) => l.toFixed(1)).join(" / ")
    })`,
);
if (values.profile) {
  const merged = profiles.at(-1);
  await Deno.writeTextFile(values.profile, JSON.stringify(merged));
  let total = 0;
  const sums = new Map<string, number>();
  for (const p of profiles) {
    const s = summarizeProfile(p, 60);
    total += s.busyMs;
    for (const e of s.functions) sums.set(e.name, (sums.get(e.name) ?? 0) + e.selfMs);
  }
  const n = rounds * count;
  console.log(
    `profile: ${
      (total / n * 1000).toFixed(1)
    } µs busy JS per request (last round in ${values.profile})`,
  );
  for (const [name, ms] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, 45)) {
    console.log(`  ${(ms / n * 1000).toFixed(2).padStart(7)} µs  ${name}`);
  }
}

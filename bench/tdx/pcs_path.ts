/**
 * CPU of TDX quote verification the way a Coordinator does it with Intel PCS collateral:
 * `TdxEvidenceVerifier` → `IntelPcsClient` → `cachingFetcherTransport` → `CachingFetcher` (disk
 * cache warm, its memory layer on), shared chain cache and verification cache, the PCK CRL
 * required — next to its bound, the two bare WebCrypto P-256 verifies the quote needs (QE report
 * by the PCK key, quote by the attestation key), and `verifyTdxQuote` with one fixed collateral
 * object (what `tests/tdx/verify_ratio.ts` times), measured alternately in one process. The quote
 * and collateral are the real up-to-date vector of `../shared/conformance/tdx/` (served to the
 * fetcher as PCS responses once, then from its cache). Fails unless the verifier accepts the quote
 * as UpToDate, a warm verification makes exactly two signature checks and no verification-cache
 * miss, and the timed rounds made
 * no network request.
 *
 * Usage: `deno run -A bench/tdx/pcs_path.ts [--rounds 5] [--requests 400]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exitOnBadOptions } from "../script_options.ts";
import { CachingFetcher } from "../../collateral/caching_fetcher.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { importEcdsaPublicKey } from "../../x509/signature.ts";
import { parseTdxQuote } from "../../tdx/quote/parse_quote.ts";
import { pckChainFromQuote, verifyTdxQuote } from "../../tdx/verify/verify_quote.ts";
import { TdxVerificationCache } from "../../tdx/verify/verification_cache.ts";
import { readTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { cachingFetcherTransport, IntelPcsClient, pcsUrls } from "../../tdx/pcs/client.ts";
import { collateralRequestOf, TdxEvidenceVerifier } from "../../tdx/verifier.ts";
import { defaultTdxReferenceValues } from "../../tdx/reference_values.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import { processCpuMs } from "../process_cpu.ts";

exitOnBadOptions(Deno.args, {
  usage: "deno run -A bench/tdx/pcs_path.ts [options]",
  inlineValues: true,
  options: [
    { name: "--rounds", value: "number", default: "5", help: "rounds (each times every case)" },
    {
      name: "--requests",
      value: "number",
      default: "400",
      help: "verifications per case and round",
    },
  ],
});
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    requests: { type: "string", default: "400" },
  },
});
const rounds = Number(values.rounds);
const count = Number(values.requests);

const DIR = new URL("../../../shared/conformance/tdx/v4-phala-b0c06f-uptodate", import.meta.url)
  .pathname;
const NOW = new Date("2025-06-19T11:32:27Z");
const quoteBytes = await Deno.readFile(`${DIR}/quote.bin`).catch(() => {
  console.error(`${DIR}/quote.bin: not found (this benchmark needs ../shared/conformance)`);
  Deno.exit(1);
});
const collateral = await readTdxCollateralDir(DIR);
const quote = parseTdxQuote(quoteBytes);

// Intel PCS as the fetcher sees it: the conformance collateral under the URLs the client asks for.
const urls = pcsUrls(collateralRequestOf(quote));
const enc = encodeURIComponent;
const responses = new Map<string, { body: Uint8Array; headers: Record<string, string> }>([
  [urls.tcbInfo, {
    body: collateral.tcbInfo,
    headers: { "tcb-info-issuer-chain": enc(collateral.tcbInfoIssuerChain) },
  }],
  [urls.qeIdentity, {
    body: collateral.qeIdentity,
    headers: { "sgx-enclave-identity-issuer-chain": enc(collateral.qeIdentityIssuerChain) },
  }],
  [urls.pckCrl, {
    body: collateral.pckCrl!,
    headers: { "sgx-pck-crl-issuer-chain": enc(collateral.pckCrlIssuerChain!) },
  }],
  [urls.rootCaCrl, { body: collateral.rootCaCrl!, headers: {} }],
]);
let networkRequests = 0;
const fakeFetch = (input: string | URL | Request): Promise<Response> => {
  networkRequests++;
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const r = responses.get(url);
  return Promise.resolve(
    r
      ? new Response(r.body.slice(), { status: 200, headers: r.headers })
      : new Response("not found", { status: 404 }),
  );
};
const cacheDir = await Deno.makeTempDir({ prefix: "tdx-pcs-bench-" });
const clock = () => NOW;
const fetcher = new CachingFetcher({
  cacheDir,
  fetch: fakeFetch as typeof fetch,
  clock,
  retries: 0,
});
const verificationCache = new TdxVerificationCache();
const verifier = new TdxEvidenceVerifier({
  referenceValues: defaultTdxReferenceValues(),
  collateral: new IntelPcsClient({ transport: cachingFetcherTransport(fetcher, { clock }) }),
  chainCache: new ChainCache(),
  verificationCache,
  requirePckCrl: true,
});
const evidence = { platform: "tdx" as const, report: quoteBytes };
const verifyOptions = { reportData: quote.body.reportData, now: NOW };

// The path it names, before anything is timed: accepted, UpToDate, the PCK CRL checked.
const first = await verifier.verifyDetailed(evidence, verifyOptions);
if (
  !first.accepted || first.verified.tcb.status !== "UpToDate" ||
  !first.verified.pckRevocationChecked
) {
  console.error("the verifier did not accept the quote as UpToDate with the PCK CRL checked");
  console.error(first.accepted ? first.verified.tcb.status : first.error);
  Deno.exit(1);
}
const warmRequests = networkRequests;

// Warm, the path's only signature checks are the quote's two (collateral, CRLs and the PCK chain
// come from the verification cache): count them before timing.
const subtle = crypto.subtle;
const realVerify = subtle.verify;
let verifies = 0;
subtle.verify = function (...args: Parameters<SubtleCrypto["verify"]>) {
  verifies++;
  return realVerify.apply(subtle, args);
};
await verifier.verify(evidence, verifyOptions);
await verifier.verify(evidence, verifyOptions);
verifies = 0;
const missesBefore = verificationCache.stats.misses;
for (let i = 0; i < 10; i++) await verifier.verify(evidence, verifyOptions);
subtle.verify = realVerify;
const misses = verificationCache.stats.misses - missesBefore;
if (verifies !== 20 || misses !== 0) {
  console.error(
    `warm, 10 verifications made ${verifies} signature checks (not 20) and missed the ` +
      `verification cache ${misses} times (not 0)`,
  );
  Deno.exit(1);
}

const qc = quote.signatureData.qeCertification;
const pckKey = await importEcdsaPublicKey(pckChainFromQuote(quote)[0]!.spki, "P-256");
const attKey = await importEcdsaPublicKey(quote.signatureData.attestationKey, "P-256");
const alg = { name: "ECDSA", hash: "SHA-256" };
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
const fixedOptions = {
  now: NOW,
  trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
  collateral,
  cache: new ChainCache(),
  verificationCache: new TdxVerificationCache(),
};

const cases: Record<string, () => Promise<unknown>> = {
  "bare 2x P-256 verify": async () => {
    const [a, b] = await Promise.all([
      crypto.subtle.verify(alg, pckKey, buf(qc.qeReportSignature), buf(qc.qeReportBytes)),
      crypto.subtle.verify(alg, attKey, buf(quote.signatureData.signature), buf(quote.signedBytes)),
    ]);
    if (!a || !b) throw new Error("bare verify failed");
  },
  "verifyTdxQuote, fixed collateral": async () => {
    await verifyTdxQuote(quoteBytes, fixedOptions);
  },
  "TdxEvidenceVerifier + PCS client": async () => {
    await verifier.verify(evidence, verifyOptions);
  },
};
for (let i = 0; i < 50; i++) for (const f of Object.values(cases)) await f();

const per: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, f] of Object.entries(cases)) {
    const t = processCpuMs();
    for (let i = 0; i < count; i++) await f();
    per[name]!.push((processCpuMs() - t) / count);
  }
}
if (networkRequests !== warmRequests) {
  console.error(`the warm rounds made ${networkRequests - warmRequests} network requests`);
  Deno.exit(1);
}
await Deno.remove(cacheDir, { recursive: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bound = median(per["bare 2x P-256 verify"]!);
const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
console.log(`CPU per verification, median of ${rounds} rounds x ${count} (load ${load}):`);
for (const [name, xs] of Object.entries(per)) {
  const m = median(xs);
  console.log(
    `  ${name.padEnd(36)} ${(m * 1000).toFixed(0).padStart(5)} us  ${
      (m / bound).toFixed(2)
    }x the bound  [${xs.map((x) => (x * 1000).toFixed(0)).join(" ")}]`,
  );
}

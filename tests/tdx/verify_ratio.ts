/**
 * Prints the ratio (bare time / contrast time, higher is better; goal >= 0.8) of TDX quote
 * verification with cached collateral against the bare ECDSA P-256 verifies it needs, and the
 * speed of @phala/dcap-qvl, measured interleaved in the same run so machine load hits all alike.
 *
 * Run: `deno run -A tests/tdx/verify_ratio.ts [rounds]`
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { verify as qvlVerify } from "@phala/dcap-qvl";
import { ChainCache } from "../../x509/chain_cache.ts";
import { importEcdsaPublicKey } from "../../x509/signature.ts";
import { parseTdxQuote } from "../../tdx/quote/parse_quote.ts";
import { pckChainFromQuote, verifyTdxQuote } from "../../tdx/verify/verify_quote.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import { TdxVerificationCache } from "../../tdx/verify/verification_cache.ts";
import { readTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { conformanceFile } from "../conformance.ts";
import { toQvlCollateral } from "./cross_check_dcap_qvl_test.ts";

const rounds = Number(Deno.args[0] ?? 300);
const dir = conformanceFile("tdx/v4-phala-b0c06f-uptodate").pathname;
const quoteBytes = await Deno.readFile(`${dir}/quote.bin`);
const collateral = await readTdxCollateralDir(dir);
const now = new Date("2025-06-19T11:32:27Z");
const quote = parseTdxQuote(quoteBytes);
const qc = quote.signatureData.qeCertification;
const pckKey = await importEcdsaPublicKey(pckChainFromQuote(quote)[0]!.spki, "P-256");
const attKey = await importEcdsaPublicKey(quote.signatureData.attestationKey, "P-256");
const alg = { name: "ECDSA", hash: "SHA-256" };
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
const opts = {
  now,
  trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
  collateral,
  cache: new ChainCache(),
  verificationCache: new TdxVerificationCache(),
};
const qvlCollateral = toQvlCollateral(collateral);
const qvlQuote = Buffer.from(quoteBytes);
const secs = Math.floor(now.getTime() / 1000);

const cases: Record<string, () => Promise<unknown>> = {
  bare: () =>
    Promise.all([
      crypto.subtle.verify(alg, pckKey, buf(qc.qeReportSignature), buf(qc.qeReportBytes)),
      crypto.subtle.verify(alg, attKey, buf(quote.signatureData.signature), buf(quote.signedBytes)),
    ]),
  cached: () => verifyTdxQuote(quoteBytes, opts),
  uncached: () => verifyTdxQuote(quoteBytes, { now, trustAnchors: opts.trustAnchors, collateral }),
  dcapQvl: () => Promise.resolve(qvlVerify(qvlQuote, qvlCollateral, secs)),
};
const times: Record<string, number[]> = { bare: [], cached: [], uncached: [], dcapQvl: [] };
for (let i = 0; i < 20; i++) for (const f of Object.values(cases)) await f();
for (let i = 0; i < rounds; i++) {
  for (const [name, f] of Object.entries(cases)) {
    if ((name === "dcapQvl" || name === "uncached") && i % 10 !== 0) continue;
    const t = performance.now();
    await f();
    times[name]!.push(performance.now() - t);
  }
}
const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
};
const b = stat(times.bare!);
const c = stat(times.cached!);
const q = stat(times.dcapQvl!);
const u = stat(times.uncached!);
const ms = (x: number) => `${x.toFixed(3)} ms`;
console.log(`bare 2×P-256 verify: median ${ms(b.median)}, min ${ms(b.min)}`);
console.log(`contrast, cached:    median ${ms(c.median)}, min ${ms(c.min)}`);
console.log(`contrast, no cache:  median ${ms(u.median)}, min ${ms(u.min)}`);
console.log(`@phala/dcap-qvl:     median ${ms(q.median)}, min ${ms(q.min)}`);
console.log(
  `ratio bare/contrast: median ${(b.median / c.median).toFixed(2)}, min ${
    (b.min / c.min).toFixed(2)
  }`,
);
console.log(`dcap-qvl / contrast cached: ${(q.median / c.median).toFixed(1)}× (median)`);
console.log(`dcap-qvl / contrast no cache: ${(q.median / u.median).toFixed(1)}× (median)`);

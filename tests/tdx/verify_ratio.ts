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
import { QuoteVerifier } from "@phala/dcap-qvl";
import { ChainCache } from "../../x509/chain_cache.ts";
import { importEcdsaPublicKey } from "../../x509/signature.ts";
import { parseTdxQuote } from "../../tdx/quote/parse_quote.ts";
import { pckChainFromQuote, verifyTdxQuote } from "../../tdx/verify/verify_quote.ts";
import { TdxVerificationCache } from "../../tdx/verify/verification_cache.ts";
import { loadBenchFixture } from "./bench_fixture.ts";
import { toQvlCollateral } from "./qvl_collateral.ts";

const rounds = Number(Deno.args[0] ?? 300);
const fixture = await loadBenchFixture();
const { quote: quoteBytes, collateral, now } = fixture;
const quote = parseTdxQuote(quoteBytes);
const qc = quote.signatureData.qeCertification;
const pckKey = await importEcdsaPublicKey(pckChainFromQuote(quote)[0]!.spki, "P-256");
const attKey = await importEcdsaPublicKey(quote.signatureData.attestationKey, "P-256");
const alg = { name: "ECDSA", hash: "SHA-256" };
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
const opts = {
  now,
  trustAnchors: [fixture.anchor],
  collateral,
  cache: new ChainCache(),
  verificationCache: new TdxVerificationCache(),
};
const qvlCollateral = toQvlCollateral(collateral);
const qvlQuote = Buffer.from(quoteBytes);
const qvl = fixture.rootDer
  ? QuoteVerifier.newWithRootCa(Buffer.from(fixture.rootDer))
  : QuoteVerifier.newProd();
const secs = Math.floor(now.getTime() / 1000);

const cases: Record<string, () => Promise<unknown>> = {
  bare: () =>
    Promise.all([
      crypto.subtle.verify(alg, pckKey, buf(qc.qeReportSignature), buf(qc.qeReportBytes)),
      crypto.subtle.verify(alg, attKey, buf(quote.signatureData.signature), buf(quote.signedBytes)),
    ]),
  cached: () => verifyTdxQuote(quoteBytes, opts),
  uncached: () => verifyTdxQuote(quoteBytes, { now, trustAnchors: opts.trustAnchors, collateral }),
  dcapQvl: () => Promise.resolve(qvl.verify(qvlQuote, qvlCollateral, secs)),
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

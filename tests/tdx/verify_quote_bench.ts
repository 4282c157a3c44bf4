/**
 * Quote verification speed: contrast with cached collateral, next to the bare ECDSA P-256
 * verifies a quote needs (QE report by the PCK key, quote by the attestation key), contrast
 * without a cache, and the npm verifier @phala/dcap-qvl. Run: `deno bench -A tests/tdx/`.
 * Compare the averages within one run (the README states the ratios measured).
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

const fixture = await loadBenchFixture();
const { quote: quoteBytes, collateral, now } = fixture;
const quote = parseTdxQuote(quoteBytes);
const qc = quote.signatureData.qeCertification;
const pckKey = await importEcdsaPublicKey(pckChainFromQuote(quote)[0]!.spki, "P-256");
const attKey = await importEcdsaPublicKey(quote.signatureData.attestationKey, "P-256");
const alg = { name: "ECDSA", hash: "SHA-256" };
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

const options = { now, trustAnchors: [fixture.anchor], collateral };
const warmCache = {
  ...options,
  cache: new ChainCache(),
  verificationCache: new TdxVerificationCache(),
};
await verifyTdxQuote(quoteBytes, warmCache);
const qvlCollateral = toQvlCollateral(collateral);
const nowSecs = Math.floor(now.getTime() / 1000);
const qvlQuote = Buffer.from(quoteBytes);
const qvl = fixture.rootDer
  ? QuoteVerifier.newWithRootCa(Buffer.from(fixture.rootDer))
  : QuoteVerifier.newProd();

Deno.bench(
  "bare: the 2 P-256 verifies a quote needs",
  { group: "tdx", baseline: true },
  async () => {
    const [a, b] = await Promise.all([
      crypto.subtle.verify(alg, pckKey, buf(qc.qeReportSignature), buf(qc.qeReportBytes)),
      crypto.subtle.verify(alg, attKey, buf(quote.signatureData.signature), buf(quote.signedBytes)),
    ]);
    if (!a || !b) throw new Error("bare verify failed");
  },
);

Deno.bench("contrast verifyTdxQuote, cached collateral and chain", { group: "tdx" }, async () => {
  const r = await verifyTdxQuote(quoteBytes, warmCache);
  if (r.tcb.status !== "UpToDate") throw new Error("unexpected status");
});

Deno.bench("contrast verifyTdxQuote, no cache", { group: "tdx" }, async () => {
  await verifyTdxQuote(quoteBytes, options);
});

Deno.bench("@phala/dcap-qvl verify (npm, no cache)", { group: "tdx" }, () => {
  const r = qvl.verify(qvlQuote, qvlCollateral, nowSecs);
  if (r.status !== "UpToDate") throw new Error("unexpected status");
});

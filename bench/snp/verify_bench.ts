/**
 * `deno bench`: verifying an SEV-SNP report with a warm chain cache, next to the bare WebCrypto
 * ECDSA P-384 verification of the same signature (the floor no verifier can beat) in the same
 * run. The ratio bare / full is what the README reports (goal ≥ 0.8).
 *
 * Run: `deno bench -A bench/snp/verify_bench.ts` (needs ../shared/conformance).
 *
 * @module
 */
import { parseSnpReport, SNP_SIGNED_LENGTH } from "../../snp/abi/report.ts";
import { defaultSnpReferenceValues } from "../../snp/reference_values.ts";
import { SnpEvidenceVerifier } from "../../snp/verifier.ts";
import { importVekKey, reportSignatureRaw } from "../../snp/verify/report_signature.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { parseCertificate } from "../../x509/certificate.ts";

const dir = new URL("../../../shared/conformance/snp/milan-v5-gcp-teekit/", import.meta.url);
const report = await Deno.readFile(new URL("report.bin", dir));
const vcek = await Deno.readFile(new URL("vcek.der", dir));
const ask = await Deno.readFile(new URL("ask.pem", dir));
const ark = await Deno.readFile(new URL("ark.pem", dir));
const now = new Date("2025-12-06T06:04:27Z");

const verifier = new SnpEvidenceVerifier({
  referenceValues: defaultSnpReferenceValues(),
  chainCache: new ChainCache(),
  certificates: { vek: vcek, intermediate: ask, ark },
  requireRevocationCheck: false, // the vector ships no AMD CRL: skipped explicitly
});
const evidence = { platform: "snp" as const, report };
const reportData = report.slice(0x50, 0x90);
await verifier.verify(evidence, { now, reportData }); // warm the chain cache

const key = await importVekKey(parseCertificate(vcek, "vcek"));
const signature = reportSignatureRaw(parseSnpReport(report)) as Uint8Array<ArrayBuffer>;
const signed = report.slice(0, SNP_SIGNED_LENGTH);

Deno.bench({
  name: "bare WebCrypto ECDSA P-384 verify",
  group: "snp-verify",
  baseline: true,
  async fn() {
    if (!await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, key, signature, signed)) {
      throw new Error("signature did not verify");
    }
  },
});

Deno.bench({
  name: "SNP report verification (cached chain)",
  group: "snp-verify",
  async fn() {
    await verifier.verify(evidence, { now, reportData });
  },
});

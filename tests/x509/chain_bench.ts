/**
 * Chain verification cost: the AMD VCEK ← ASK ← ARK chain (RSA-4096 PSS) and an Intel PCK chain
 * (ECDSA P-256), uncached and with a {@link ChainCache}, next to a bare WebCrypto P-384 verify
 * measured in the same run. Run with `deno bench -A tests/x509/chain_bench.ts`.
 *
 * @module
 */
import { conformanceAvailable, conformanceFile } from "../conformance.ts";
import { parseCertificate, parseCertificates } from "../../x509/certificate.ts";
import { verifyChain } from "../../x509/chain.ts";
import { ChainCache } from "../../x509/chain_cache.ts";

const ignore = !conformanceAvailable;
const read = (p: string) => ignore ? new Uint8Array() : Deno.readFileSync(conformanceFile(p));

const amd = ignore ? undefined : {
  vcek: parseCertificate(read("snp/milan-v2-virtee/vcek.der"), "vcek"),
  ask: parseCertificate(read("snp/milan-v2-virtee/ask.pem"), "ask"),
  ark: parseCertificate(read("snp/milan-v2-virtee/ark.pem"), "ark"),
  now: new Date("2023-04-04T19:23:43Z"),
};
const intel = ignore ? undefined : {
  chain: parseCertificates(
    new TextDecoder().decode(read("tdx/v4-phala-b0c06f-uptodate/pck_chain_from_quote.pem")),
    "pck",
  ),
  now: new Date("2025-06-19T11:32:27Z"),
};
const amdPin = amd ? await amd.ark.fingerprint() : "";
const intelPin = intel ? await intel.chain[2]!.fingerprint() : "";
const amdCache = new ChainCache();
const intelCache = new ChainCache();

const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
// Verified with an imported public key, as every verifier here does: Deno's WebCrypto verifies
// with a generated pair's public key by deriving it from the private key each time (~2× the CPU).
const p384Public = await crypto.subtle.importKey(
  "spki",
  await crypto.subtle.exportKey("spki", p384.publicKey),
  { name: "ECDSA", namedCurve: "P-384" },
  false,
  ["verify"],
);
const message = new Uint8Array(672);
const signature = await crypto.subtle.sign(
  { name: "ECDSA", hash: "SHA-384" },
  p384.privateKey,
  message,
);

Deno.bench(
  { name: "bare WebCrypto ECDSA P-384 verify", group: "amd", baseline: true },
  async () => {
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-384" },
      p384Public,
      signature,
      message,
    );
  },
);

Deno.bench({ name: "AMD VCEK chain, uncached", group: "amd", ignore }, async () => {
  await verifyChain({
    leaf: amd!.vcek,
    intermediates: [amd!.ask, amd!.ark],
    trustAnchors: [amdPin],
    now: amd!.now,
    field: "vcek",
  });
});

Deno.bench({ name: "AMD VCEK chain, cached", group: "amd", ignore }, async () => {
  await verifyChain({
    leaf: amd!.vcek,
    intermediates: [amd!.ask, amd!.ark],
    trustAnchors: [amdPin],
    now: amd!.now,
    field: "vcek",
    cache: amdCache,
  });
});

Deno.bench({ name: "Intel PCK chain, uncached", group: "intel", ignore }, async () => {
  await verifyChain({
    leaf: intel!.chain[0]!,
    intermediates: intel!.chain.slice(1),
    trustAnchors: [intelPin],
    now: intel!.now,
    field: "pck",
  });
});

Deno.bench({ name: "Intel PCK chain, cached", group: "intel", ignore }, async () => {
  await verifyChain({
    leaf: intel!.chain[0]!,
    intermediates: intel!.chain.slice(1),
    trustAnchors: [intelPin],
    now: intel!.now,
    field: "pck",
    cache: intelCache,
  });
});

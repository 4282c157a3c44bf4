import assert from "node:assert/strict";
import { VerificationError } from "../../../util/errors/mod.ts";
import { SNP_PRODUCTS } from "../../../snp/abi/product.ts";
import { intermediateName } from "../../../snp/verify/chain.ts";
import { AMD_ARK_SHA256 } from "../../../snp/verify/roots.ts";
import { parseCertificate } from "../../../x509/certificate.ts";
import { verifyChain } from "../../../x509/chain.ts";
import { conformanceFile, conformanceTest, readConformanceManifest } from "../../conformance.ts";

const NOW = new Date("2025-06-01T00:00:00Z");

async function amdCert(product: string, name: "ark" | "ask" | "asvk") {
  const pem = await Deno.readTextFile(conformanceFile(`amd/${product.toLowerCase()}/${name}.pem`));
  return parseCertificate(pem, `${product}.${name}`);
}

conformanceTest("the pinned ARK fingerprints are those of AMD's published roots", async () => {
  const manifest = await readConformanceManifest();
  const roots = manifest.amd_roots as {
    product: string;
    certs: { ark: { sha256_fingerprint: string } };
  }[];
  for (const product of SNP_PRODUCTS) {
    const ark = await amdCert(product, "ark");
    assert.equal(await ark.fingerprint(), AMD_ARK_SHA256[product], product);
    const listed = roots.find((r) => r.product === product)!.certs.ark.sha256_fingerprint;
    assert.equal(listed.replace(/:/g, "").toLowerCase(), AMD_ARK_SHA256[product], product);
  }
});

conformanceTest("each product's ASK and ASVK chain to its pinned ARK with RSA-PSS", async () => {
  for (const product of SNP_PRODUCTS) {
    const ark = await amdCert(product, "ark");
    for (const [name, kind] of [["ask", "VCEK"], ["asvk", "VLEK"]] as const) {
      const intermediate = await amdCert(product, name);
      assert.match(intermediate.subject, new RegExp(`CN=${intermediateName(kind, product)}`));
      const chain = await verifyChain({
        leaf: intermediate,
        intermediates: [ark],
        trustAnchors: [AMD_ARK_SHA256[product]],
        now: NOW,
        field: `${product}.${name}`,
      });
      assert.equal(chain.rootFingerprint, AMD_ARK_SHA256[product]);
    }
  }
});

conformanceTest("an ASK does not chain to another product's pinned ARK", async () => {
  const ask = await amdCert("Genoa", "ask");
  const milanArk = await amdCert("Milan", "ark");
  const genoaArk = await amdCert("Genoa", "ark");
  await assert.rejects(
    verifyChain({
      leaf: ask,
      intermediates: [milanArk, genoaArk],
      trustAnchors: [AMD_ARK_SHA256.Milan],
      now: NOW,
      field: "ask",
    }),
    VerificationError,
  );
});

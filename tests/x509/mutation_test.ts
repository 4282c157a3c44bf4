/**
 * No false accept: every single-bit flip anywhere in a real leaf certificate (AMD VCEK with an
 * RSA-PSS signature, Intel PCK certificate with an ECDSA signature) makes chain verification
 * fail with a typed error. DER is canonical and the signature covers the signed part, so no flip
 * may survive.
 */
import assert from "node:assert/strict";
import { ContrastError } from "../../util/errors/mod.ts";
import { type Certificate, parseCertificate } from "../../x509/certificate.ts";
import { verifyChain } from "../../x509/chain.ts";
import { conformanceTest } from "../conformance.ts";
import { conformanceCert, conformanceCerts } from "./vectors.ts";

async function everyFlipRejected(
  leaf: Certificate,
  intermediates: Certificate[],
  anchor: string,
  now: Date,
): Promise<number> {
  // The genuine certificate verifies: the rejections below are due to the flips.
  await verifyChain({ leaf, intermediates, trustAnchors: [anchor], now, field: "chain" });
  let rejected = 0;
  for (let i = 0; i < leaf.der.length; i++) {
    const bit = 1 << (i % 8);
    const der = new Uint8Array(leaf.der);
    der[i]! ^= bit;
    try {
      const mutated = parseCertificate(der, "leaf");
      await verifyChain({
        leaf: mutated,
        intermediates,
        trustAnchors: [anchor],
        now,
        field: "chain",
      });
      assert.fail(`flipping bit ${bit} of byte ${i} was accepted`);
    } catch (e) {
      if (!(e instanceof ContrastError)) throw e;
      rejected++;
    }
  }
  return rejected;
}

conformanceTest("every single-bit flip of a real AMD VCEK is rejected", async () => {
  const dir = "snp/milan-v2-virtee";
  const vcek = await conformanceCert(`${dir}/vcek.der`, "vcek");
  const ask = await conformanceCert(`${dir}/ask.pem`, "ask");
  const ark = await conformanceCert(`${dir}/ark.pem`, "ark");
  const n = await everyFlipRejected(
    vcek,
    [ask, ark],
    await ark.fingerprint(),
    new Date("2023-04-04T19:23:43Z"),
  );
  assert.equal(n, vcek.der.length);
});

conformanceTest("every single-bit flip of a real Intel PCK certificate is rejected", async () => {
  const [pck, ca, root] = await conformanceCerts(
    "tdx/v4-phala-b0c06f-uptodate/pck_chain_from_quote.pem",
    "pck",
  );
  const n = await everyFlipRejected(
    pck!,
    [ca!, root!],
    await root!.fingerprint(),
    new Date("2025-06-19T11:32:27Z"),
  );
  assert.equal(n, pck!.der.length);
});

import assert from "node:assert/strict";
import {
  precomputeNonces,
  PresignedP384Signer,
} from "../../../bench/coordinator/presigned_ecdsa.ts";
import { SimulatedSnpAuthority } from "../../../testing/snp/authority.ts";
import { parseSnpReport } from "../../../snp/abi/report.ts";
import { importVekKey, verifyReportSignature } from "../../../snp/verify/report_signature.ts";
import { Certificate } from "../../../x509/certificate.ts";
import { ParseError, VerificationError } from "../../../util/errors/mod.ts";

const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const SHA384 = { name: "ECDSA", hash: "SHA-384" } as const;

async function p384Pair(extractable = true): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(P384, extractable, ["sign", "verify"]) as CryptoKeyPair;
}

Deno.test("presigned ECDSA: every signature verifies with WebCrypto, a changed message does not", async () => {
  const pair = await p384Pair();
  const signer = await PresignedP384Signer.fromKey(pair.privateKey);
  signer.ensure(8);
  for (let i = 0; i < 8; i++) {
    const message = crypto.getRandomValues(new Uint8Array(672 + i));
    const signature = signer.sign(message);
    assert.equal(signature.length, 96);
    assert.equal(
      await crypto.subtle.verify(
        SHA384,
        pair.publicKey,
        signature as Uint8Array<ArrayBuffer>,
        message,
      ),
      true,
      `signature ${i}`,
    );
    message[0]! ^= 1;
    assert.equal(
      await crypto.subtle.verify(
        SHA384,
        pair.publicKey,
        signature as Uint8Array<ArrayBuffer>,
        message,
      ),
      false,
      `signature ${i} over a changed message`,
    );
  }
  assert.equal(signer.remaining, 0);
});

Deno.test("presigned ECDSA: a nonce signs once; an empty pool throws instead of reusing one", async () => {
  const signer = await PresignedP384Signer.fromKey((await p384Pair()).privateKey);
  signer.ensure(2);
  const message = new Uint8Array(100);
  const a = signer.sign(message);
  const b = signer.sign(message);
  // Same message, different nonces: different r.
  assert.notDeepEqual(a.subarray(0, 48), b.subarray(0, 48));
  assert.throws(() => signer.sign(message), RangeError);
  signer.ensure(1);
  assert.equal(signer.remaining, 1);
  signer.sign(message);
});

Deno.test("presigned ECDSA: refuses keys it cannot sign with", async () => {
  await assert.rejects(PresignedP384Signer.fromKey((await p384Pair(false)).privateKey), RangeError);
  await assert.rejects(PresignedP384Signer.fromKey((await p384Pair()).publicKey), RangeError);
  const p256 = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign"],
  ) as CryptoKeyPair;
  await assert.rejects(PresignedP384Signer.fromKey(p256.privateKey), RangeError);
  assert.throws(() => new PresignedP384Signer(0n), RangeError);
  assert.throws(() => precomputeNonces(1.5), RangeError);
});

Deno.test("simulated SNP report signed with a presigned nonce verifies as any other; a bad signer is refused", async () => {
  const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
  let signer: PresignedP384Signer | undefined;
  const sign = async (key: CryptoKey, body: Uint8Array) => {
    signer ??= await PresignedP384Signer.fromKey(key);
    signer.ensure(1);
    return signer.sign(body);
  };
  const signed = await authority.createReport({ reportData: new Uint8Array(64).fill(3), sign });
  const vcek = await importVekKey(new Certificate(signed.vcek, "vcek"));
  await verifyReportSignature(parseSnpReport(signed.report), vcek);
  // A signature over other bytes is caught by the verifier, a wrong length by the authority.
  const forged = await authority.createReport({
    sign: (key, body) => sign(key, body.map((b, i) => i === 0 ? b ^ 1 : b)),
  });
  await assert.rejects(
    verifyReportSignature(parseSnpReport(forged.report), vcek),
    VerificationError,
  );
  await assert.rejects(
    authority.createReport({ sign: () => Promise.resolve(new Uint8Array(95)) }),
    ParseError,
  );
});

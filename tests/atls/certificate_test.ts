import "reflect-metadata";
import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { decodePem } from "../../util/bytes/mod.ts";
import {
  certificateSpki,
  createAttestedTlsIdentity,
  generateTlsKeyPair,
  readCertificateEvidence,
} from "../../atls/certificate.ts";
import { decodeOctetStringSequence, encodeOctetStringSequence } from "../../x509/der.ts";

Deno.test("the certificate carries the evidence of its platform and the key's SPKI", async () => {
  const keys = await generateTlsKeyPair();
  const report = crypto.getRandomValues(new Uint8Array(1184));
  const aux = crypto.getRandomValues(new Uint8Array(300));
  const id = await createAttestedTlsIdentity(keys, { platform: "snp", report, aux });
  const der = decodePem(id.certPem, "CERTIFICATE")[0]!.der;
  assert.deepEqual(readCertificateEvidence(der), { platform: "snp", report, aux });
  assert.deepEqual(certificateSpki(der), id.spki);
  const tdx = await createAttestedTlsIdentity(keys, { platform: "tdx", report });
  assert.deepEqual(readCertificateEvidence(decodePem(tdx.certPem)[0]!.der), {
    platform: "tdx",
    report,
  });
});

Deno.test("a certificate without evidence yields none", async () => {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  assert.equal(readCertificateEvidence(decodePem(id.certPem)[0]!.der), undefined);
});

Deno.test("rejects bytes that are not a certificate", () => {
  assert.throws(() => readCertificateEvidence(new Uint8Array([1, 2, 3])), ParseError);
  assert.throws(() => certificateSpki(new Uint8Array([0x30, 0])), ParseError);
});

Deno.test("DER sequence round-trips, with long lengths, and rejects malformed input", () => {
  const items = [new Uint8Array(0), new Uint8Array(200).fill(7), new Uint8Array(70000).fill(1)];
  assert.deepEqual(decodeOctetStringSequence(encodeOctetStringSequence(items), "x"), items);
  const good = encodeOctetStringSequence([new Uint8Array([1])]);
  assert.throws(
    () => decodeOctetStringSequence(good.subarray(0, good.length - 1), "x"),
    ParseError,
  );
  assert.throws(() => decodeOctetStringSequence(new Uint8Array([0x31, 0]), "x"), ParseError);
  assert.throws(
    () => decodeOctetStringSequence(new Uint8Array([0x30, 3, 0x02, 1, 0]), "x"),
    ParseError,
  );
  assert.throws(() => decodeOctetStringSequence(new Uint8Array([...good, 0]), "x"), ParseError);
});

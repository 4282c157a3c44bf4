import "reflect-metadata";
import assert from "node:assert/strict";
import { MeshAnswerJson } from "../../coordinator/mesh_answer.ts";
import { CertificateAuthority } from "../../coordinator/ca/certificate_authority.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import {
  type MeshCertificateResponseJson,
  parseMeshCertificateResponse,
} from "../../protocol/messages.ts";

const UTF8 = new TextEncoder();
// base64 with "+", "/" and "=": characters JSON leaves as they are.
const SECRET = Uint8Array.from({ length: 47 }, (_, i) => 0xfb + 3 * i);

/** What the answer was before: the object of `issueMeshCertificate`, through JSON.stringify. */
function stringified(
  pems: { intermediatePem: string; meshCaPem: string; rootPem: string },
  der: Uint8Array,
  workloadSecret?: Uint8Array,
): Uint8Array {
  const answer: MeshCertificateResponseJson = {
    certChain: encodePem("CERTIFICATE", der) + pems.intermediatePem,
    meshCa: pems.meshCaPem,
    rootCa: pems.rootPem,
    ...(workloadSecret ? { workloadSecret: workloadSecret.toBase64() } : {}),
  };
  return UTF8.encode(JSON.stringify(answer));
}

Deno.test("MeshAnswerJson writes JSON.stringify's bytes of the answer object for every leaf length around the PEM line, with and without a workload secret", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
  const answers = new MeshAnswerJson(ca);
  const bytes = Uint8Array.from({ length: 2000 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let length = 0; length <= 200; length++) {
    const der = bytes.subarray(0, length);
    assert.deepEqual(answers.encode(der).bytes, stringified(ca, der), `${length} bytes`);
    assert.deepEqual(answers.encode(der, SECRET).bytes, stringified(ca, der, SECRET));
  }
  assert.deepEqual(answers.encode(bytes, SECRET).bytes, stringified(ca, bytes, SECRET));
  // An answer with the secret is marked for the connection layer to zero once written.
  assert.equal(answers.encode(bytes, SECRET).sensitive, true);
  assert.equal(answers.encode(bytes).sensitive, false);
});

Deno.test("MeshAnswerJson writes the workload secret's base64 as Uint8Array.toBase64 does, for every padding and every byte value", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
  const answers = new MeshAnswerJson(ca);
  const der = Uint8Array.from({ length: 100 }, (_, i) => i);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let length = 1; length <= 70; length++) {
    const secret = all.subarray(256 - length);
    assert.deepEqual(answers.encode(der, secret).bytes, stringified(ca, der, secret));
  }
  assert.deepEqual(answers.encode(der, all).bytes, stringified(ca, der, all));
});

Deno.test("MeshAnswerJson: an issued leaf's answer parses to its chain, the mesh CA and the root", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
  const pod = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const leaf = await ca.issueLeaf({
    publicKey: pod.publicKey,
    sans: [{ kind: "dns", value: "web" }],
  });
  const text = new TextDecoder().decode(new MeshAnswerJson(ca).encode(leaf.der, SECRET).bytes);
  const parsed = parseMeshCertificateResponse(JSON.parse(text));
  assert.equal(parsed.certChain, leaf.chainPem);
  assert.equal(parsed.certChain, leaf.pem + ca.intermediatePem);
  assert.equal(parsed.meshCa, ca.meshCaPem);
  assert.equal(parsed.rootCa, ca.rootPem);
  assert.deepEqual(parsed.workloadSecret, SECRET);
});

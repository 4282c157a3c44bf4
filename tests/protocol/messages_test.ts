import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import {
  parseAttestRequest,
  parseAttestResponse,
  parseChallengeResponse,
  parseManifestRequest,
  parseMeshCertificateRequest,
  parseMeshCertificateResponse,
  parseRecoverRequest,
} from "../../protocol/messages.ts";

function rejectsAt(fn: () => unknown, path: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    assert.ok(
      e.issues.some((i) => i.path === path),
      `expected an issue at ${path}, got ${JSON.stringify(e.issues)}`,
    );
    return true;
  });
}

const hex32 = "ab".repeat(32);

Deno.test("parses a well-formed attest request", () => {
  assert.equal(parseAttestRequest({ nonce: hex32 }).nonce.length, 32);
});

Deno.test("attest request: withoutPolicies is an optional boolean", () => {
  assert.equal(parseAttestRequest({ nonce: hex32 }).withoutPolicies, undefined);
  assert.equal(parseAttestRequest({ nonce: hex32, withoutPolicies: true }).withoutPolicies, true);
  assert.equal(
    parseAttestRequest({ nonce: hex32, withoutPolicies: false }).withoutPolicies,
    undefined,
  );
  rejectsAt(() => parseAttestRequest({ nonce: hex32, withoutPolicies: "yes" }), "withoutPolicies");
  rejectsAt(() => parseAttestRequest({ nonce: hex32, withoutPolicies: 1 }), "withoutPolicies");
});

Deno.test("attest request: rejects short nonce, unknown field, non-object", () => {
  rejectsAt(() => parseAttestRequest({ nonce: "ab" }), "nonce");
  rejectsAt(() => parseAttestRequest({ nonce: hex32, extra: 1 }), "extra");
  rejectsAt(() => parseAttestRequest([]), "(root)");
  rejectsAt(() => parseAttestRequest(undefined), "(root)");
});

Deno.test("manifest request: every field checked", () => {
  const ok = { manifest: "e30=", policies: ["YQ=="], previous_transition: hex32, signature: "" };
  const r = parseManifestRequest(ok);
  assert.equal(new TextDecoder().decode(r.manifest), "{}");
  assert.equal(r.signature.length, 0);
  rejectsAt(() => parseManifestRequest({ ...ok, manifest: 5 }), "manifest");
  rejectsAt(() => parseManifestRequest({ ...ok, policies: [1] }), "policies[0]");
  rejectsAt(
    () => parseManifestRequest({ ...ok, previous_transition: "00" }),
    "previous_transition",
  );
  rejectsAt(() => parseManifestRequest({ ...ok, signature: "xyz" }), "signature");
});

Deno.test("recover request: sealed seed shape checked", () => {
  const ok = {
    sealedSeed: { enc: "AA==", ciphertext: "AA==" },
    ownerPublicKey: "00",
    signature: "00",
  };
  assert.equal(parseRecoverRequest(ok).sealedSeed.enc.length, 1);
  rejectsAt(
    () => parseRecoverRequest({ ...ok, sealedSeed: { enc: "AA==" } }),
    "sealedSeed.ciphertext",
  );
  rejectsAt(() => parseRecoverRequest({ ...ok, ownerPublicKey: 1 }), "ownerPublicKey");
});

Deno.test("mesh certificate request: evidence and key checked; the challenge protocol's fields are unknown", () => {
  const ok = {
    evidence: { platform: "snp", report: "AA==" },
    leafPublicKey: "3000",
  };
  assert.equal(parseMeshCertificateRequest(ok).evidence.platform, "snp");
  rejectsAt(
    () => parseMeshCertificateRequest({ ...ok, evidence: { platform: "sgx", report: "" } }),
    "evidence.platform",
  );
  // A client of the challenge protocol (nonce, HPKE key) is refused, naming each field.
  rejectsAt(() => parseMeshCertificateRequest({ ...ok, nonce: hex32 }), "nonce");
  rejectsAt(() => parseMeshCertificateRequest({ ...ok, hpkePublicKey: hex32 }), "hpkePublicKey");
  const { leafPublicKey: _leaf, ...withoutLeaf } = ok;
  rejectsAt(() => parseMeshCertificateRequest(withoutLeaf), "leafPublicKey");
  const { evidence: _evidence, ...withoutEvidence } = ok;
  rejectsAt(() => parseMeshCertificateRequest(withoutEvidence), "evidence");
});

Deno.test("mesh certificate request: hex keys decode in either case; every bad one is named with its reason", () => {
  const ok = {
    evidence: { platform: "snp", report: "AA==" },
    leafPublicKey: "3000aBcD",
  };
  const parsed = parseMeshCertificateRequest(ok);
  assert.deepEqual(parsed.leafPublicKey, new Uint8Array([0x30, 0x00, 0xab, 0xcd]));
  assert.deepEqual(
    parseMeshCertificateRequest({ ...ok, leafPublicKey: "" }).leafPublicKey,
    new Uint8Array(),
  );
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ leafPublicKey: "300" }, "leafPublicKey", /expected a hex string/],
    [{ leafPublicKey: "30 0" }, "leafPublicKey", /expected a hex string/],
    [{ leafPublicKey: "0x30" }, "leafPublicKey", /expected a hex string/],
    [{ leafPublicKey: 5 }, "leafPublicKey", /expected a string/],
  ];
  for (const [change, path, reason] of cases) {
    assert.throws(() => parseMeshCertificateRequest({ ...ok, ...change }), (e: unknown) => {
      assert.ok(e instanceof InvalidDocumentError, String(e));
      assert.deepEqual(e.issues.map((i) => i.path), [path], JSON.stringify(change));
      assert.match(e.issues[0]!.reason, reason);
      return true;
    });
  }
  rejectsAt(
    () => parseMeshCertificateRequest({ ...ok, evidence: { platform: "snp", report: "", x: 1 } }),
    "evidence.x",
  );
});

Deno.test("mesh certificate answer: the workload secret is base64 of its bytes; anything else is named", () => {
  const cert = { certChain: "a", meshCa: "b", rootCa: "c" };
  const secret = Uint8Array.from({ length: 32 }, (_, i) => 0xf0 + i);
  assert.deepEqual(
    parseMeshCertificateResponse({ ...cert, workloadSecret: secret.toBase64() }).workloadSecret,
    secret,
  );
  // The sealed box of the HPKE protocol, not base64, empty: each refused at workloadSecret.
  for (const bad of [{ enc: "AA==", ciphertext: "AA==" }, "not base64!", "", 5]) {
    rejectsAt(
      () => parseMeshCertificateResponse({ ...cert, workloadSecret: bad }),
      "workloadSecret",
    );
  }
});

Deno.test("answers are parsed strictly too", () => {
  assert.equal(parseChallengeResponse({ nonce: hex32, expiresInSeconds: 60 }).nonce.length, 32);
  rejectsAt(
    () => parseChallengeResponse({ nonce: hex32, expiresInSeconds: -1 }),
    "expiresInSeconds",
  );
  const cert = { certChain: "a", meshCa: "b", rootCa: "c" };
  assert.equal(parseMeshCertificateResponse(cert).workloadSecret, undefined);
  rejectsAt(() => parseMeshCertificateResponse({ ...cert, x: 1 }), "x");
  const attest = {
    evidence: { platform: "snp", report: "AA==" },
    hpkePublicKey: hex32,
    manifests: ["e30="],
    policies: { [hex32]: "YQ==" },
    rootCa: "",
    meshCa: "",
    latestTransition: hex32,
    recoveryNeeded: false,
    signatures: ["abcd"],
  };
  assert.equal(parseAttestResponse(attest).policies.size, 1);
  assert.deepEqual(parseAttestResponse(attest).signatures, [new Uint8Array([0xab, 0xcd])]);
  assert.equal(parseAttestResponse(attest).seedShares, undefined);
  assert.deepEqual(
    parseAttestResponse({ ...attest, seedShares: "AQI=" }).seedShares,
    new Uint8Array([1, 2]),
  );
  rejectsAt(() => parseAttestResponse({ ...attest, signatures: [] }), "signatures");
  rejectsAt(() => parseAttestResponse({ ...attest, signatures: ["XY"] }), "signatures[0]");
  rejectsAt(
    () => parseAttestResponse({ ...attest, policies: { "NOT-HEX": "YQ==" } }),
    "policies.NOT-HEX",
  );
  rejectsAt(() => parseAttestResponse({ ...attest, latestTransition: "00" }), "latestTransition");
});

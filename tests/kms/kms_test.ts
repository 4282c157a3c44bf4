import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import {
  formatCiphertext,
  importAesGcmKey,
  KeyAccessDeniedError,
  type KeyRing,
  NONCE_LENGTH,
  openAesGcm,
  parseCiphertext,
  parseCreateKeyRequest,
  parseDecryptRequest,
  parseEncryptRequest,
  parseRewrapRequest,
  resolveKeyName,
  sealAesGcm,
  TAG_LENGTH,
  transitDecrypt,
  transitEncrypt,
  transitRewrap,
} from "../../kms/mod.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("aes-gcm: nonce ‖ ciphertext ‖ tag, fresh nonce, AAD and tampering checked", async () => {
  const key = await importAesGcmKey(new Uint8Array(32).fill(1));
  const a = await sealAesGcm(key, bytes("hello"), bytes("ad"));
  const b = await sealAesGcm(key, bytes("hello"), bytes("ad"));
  assert.equal(a.length, NONCE_LENGTH + 5 + TAG_LENGTH);
  assert.notDeepEqual(a.subarray(0, NONCE_LENGTH), b.subarray(0, NONCE_LENGTH));
  assert.deepEqual(await openAesGcm(key, a, bytes("ad")), bytes("hello"));
  await assert.rejects(openAesGcm(key, a, bytes("other")), VerificationError);
  await assert.rejects(openAesGcm(key, a), VerificationError);
  const flipped = a.slice();
  flipped[NONCE_LENGTH] ^= 1;
  await assert.rejects(openAesGcm(key, flipped, bytes("ad")), /message authentication failed/);
  await assert.rejects(openAesGcm(key, a.subarray(0, 27)), ParseError);
  const other = await importAesGcmKey(new Uint8Array(32).fill(2));
  await assert.rejects(openAesGcm(other, a, bytes("ad")), VerificationError);
  assert.throws(() => importAesGcmKey(new Uint8Array(16)), /expected 32 bytes/);
});

Deno.test("ciphertext: vault:v<N>: round trip and every malformed form named", () => {
  const text = formatCiphertext(12, new Uint8Array([1, 2, 3]));
  assert.equal(text, "vault:v12:AQID");
  assert.deepEqual(parseCiphertext(text), { version: 12, sealed: new Uint8Array([1, 2, 3]) });
  for (
    const [bad, reason] of [
      ["AQID", /no prefix/],
      ["vault:v:AQID", /key version/],
      ["vault:v0:AQID", /key version/],
      ["vault:v01:AQID", /key version/],
      ["vault:v1AQID", /key version/],
      ["vault:v99999999999:AQID", /key version/],
      ["vault:v1:", /empty/],
      ["vault:v1:!!", /not base64/],
    ] as const
  ) {
    assert.throws(() => parseCiphertext(bad, "batch_input[2]"), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.field, "batch_input[2]");
      assert.match(e.reason, reason);
      return true;
    }, bad);
  }
});

Deno.test("key names: the owner's ID or ID:label; other IDs are denied, labels checked", () => {
  const id = "apps/v1/Deployment/default/web";
  assert.deepEqual(resolveKeyName(id, id), { workloadSecretId: id, label: "" });
  assert.deepEqual(resolveKeyName(`${id}:backups`, id), { workloadSecretId: id, label: "backups" });
  assert.throws(() => resolveKeyName("apps/v1/Deployment/default/db", id), KeyAccessDeniedError);
  assert.throws(() => resolveKeyName(`${id}x`, id), KeyAccessDeniedError, "prefix is not enough");
  assert.throws(() => resolveKeyName("web", "web-secret"), /does not belong to WorkloadSecretID/);
  assert.throws(() => resolveKeyName(`${id}:`, id), ParseError);
  assert.throws(() => resolveKeyName(`${id}:a/b`, id), /label/);
  assert.throws(() => resolveKeyName("", id), /missing key name/);
  assert.throws(() => resolveKeyName("x".repeat(600), id), /longer than/);
});

Deno.test("requests: single and batch parsed strictly", () => {
  const single = parseEncryptRequest({
    plaintext: "aGk=",
    associated_data: "YQ==",
    key_version: 2,
  });
  assert.equal(single.batch, false);
  assert.deepEqual(single.items[0], {
    plaintext: bytes("hi"),
    associatedData: bytes("a"),
    keyVersion: 2,
  });
  const batch = parseEncryptRequest({
    key_version: "1",
    batch_input: [{ plaintext: "", reference: "x" }, { plaintext: "aGk=", key_version: 3 }],
  });
  assert.equal(batch.batch, true);
  assert.equal(batch.items[0]!.keyVersion, 1, "top-level key_version is the default");
  assert.equal(batch.items[1]!.keyVersion, 3);
  assert.equal(batch.items[0]!.reference, "x");
  assert.deepEqual(parseDecryptRequest({ ciphertext: "vault:v1:AA" }).items[0], {
    ciphertext: "vault:v1:AA",
    associatedData: new Uint8Array(0),
  });
  assert.equal(
    parseRewrapRequest({ ciphertext: "c", key_version: 0 }).items[0]!.keyVersion,
    undefined,
  );
  const refused: [() => unknown, RegExp][] = [
    [() => parseEncryptRequest([]), /body: expected a JSON object/],
    [() => parseEncryptRequest({ plaintext: "", nonce: "AA==" }), /^nonce: .*not supported/],
    [
      () => parseEncryptRequest({ batch_input: [{ plaintext: "", context: "x" }] }),
      /batch_input\[0\]\.context/,
    ],
    [() => parseEncryptRequest({ batch_input: [null] }), /batch_input\[0\]/],
    [() => parseEncryptRequest({ batch_input: {} }), /batch_input: expected a non-empty array/],
    [() => parseEncryptRequest({ plaintext: "", key_version: -1 }), /key_version/],
    [() => parseEncryptRequest({ plaintext: "", key_version: 1.5 }), /key_version/],
    [
      () =>
        parseEncryptRequest({
          batch_input: [{ plaintext: "" }],
          partial_failure_response_code: 99,
        }),
      /partial_failure_response_code/,
    ],
    [
      () => parseEncryptRequest({ batch_input: Array(10_001).fill({ plaintext: "" }) }),
      /more than 10000/,
    ],
    [() => parseDecryptRequest({}), /ciphertext: missing/],
    [() => parseDecryptRequest({ ciphertext: 5 }), /ciphertext: missing/],
    [
      () => parseDecryptRequest({ batch_input: [{ ciphertext: "c", reference: 1 }] }),
      /reference: expected a string/,
    ],
    [() => parseCreateKeyRequest({ derived: true }), /derived: not supported/],
    [() => parseCreateKeyRequest({ type: "ed25519" }), /type: only aes256-gcm96/],
    [() => parseCreateKeyRequest({ auto_rotate_period: "1h" }), /auto_rotate_period: unknown/],
  ];
  for (const [fn, reason] of refused) {
    assert.throws(
      fn,
      (e: unknown) => e instanceof ParseError && reason.test(e.message),
      String(reason),
    );
  }
  parseCreateKeyRequest(undefined);
  parseCreateKeyRequest({ type: "aes256-gcm96", exportable: false });
});

function ring(latestVersion: number, seed = new Uint8Array(64)): KeyRing {
  const engine = SeedEngine.fromSeed(seed, new Uint8Array(32));
  return {
    latestVersion,
    key: async (v) => importAesGcmKey(await engine.transitKey("id", "", v)),
  };
}

Deno.test("engine: versions, rewrap, batch statuses, and a different seed cannot decrypt", async () => {
  const r2 = ring(2);
  const enc = await transitEncrypt(r2, parseEncryptRequest({ plaintext: "aGk=" }));
  assert.equal(enc.status, 200);
  assert.match(String(enc.data.ciphertext), /^vault:v2:/);
  const v1 = await transitEncrypt(r2, parseEncryptRequest({ plaintext: "aGk=", key_version: 1 }));
  const rewrapped = await transitRewrap(r2, parseRewrapRequest({ ciphertext: v1.data.ciphertext }));
  assert.match(String(rewrapped.data.ciphertext), /^vault:v2:/);
  const dec = await transitDecrypt(
    r2,
    parseDecryptRequest({ ciphertext: rewrapped.data.ciphertext }),
  );
  assert.equal(dec.data.plaintext, "aGk=");
  const r1 = ring(1);
  await assert.rejects(
    transitDecrypt(r1, parseDecryptRequest({ ciphertext: enc.data.ciphertext })),
    /version 2 does not exist \(latest is 1\)/,
  );
  const otherSeed = ring(2, new Uint8Array(64).fill(9));
  await assert.rejects(
    transitDecrypt(otherSeed, parseDecryptRequest({ ciphertext: enc.data.ciphertext })),
    VerificationError,
  );
  const batch = await transitDecrypt(
    r2,
    parseDecryptRequest({
      batch_input: [{ ciphertext: enc.data.ciphertext, reference: "a" }, { ciphertext: "x" }],
      partial_failure_response_code: 200,
    }),
  );
  assert.equal(batch.status, 200);
  const results = batch.data.batch_results as Record<string, string>[];
  assert.deepEqual(results[0], { plaintext: "aGk=", reference: "a" });
  assert.match(results[1]!.error!, /no prefix/);
});

Deno.test("seed: transit keys are deterministic per (id, label, version) and independent", async () => {
  const seed = crypto.getRandomValues(new Uint8Array(64));
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const a = SeedEngine.fromSeed(seed, salt);
  const b = SeedEngine.fromSeed(seed, salt);
  assert.deepEqual(await a.transitKey("w", "", 1), await b.transitKey("w", "", 1));
  const distinct = [
    await a.transitKey("w", "", 1),
    await a.transitKey("w", "", 2),
    await a.transitKey("w", "x", 1),
    await a.transitKey("w:x", "", 1),
    await a.transitKey("v", "", 1),
    await a.workloadSecret("w"),
  ].map((k) => Array.from(k).join(","));
  assert.equal(new Set(distinct).size, distinct.length);
  assert.throws(() => a.transitKey("", "", 1), /WorkloadSecretID/);
  assert.throws(() => a.transitKey("w", "", 0), /version/);
});

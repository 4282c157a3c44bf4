import assert from "node:assert/strict";
import { p384 } from "@noble/curves/nist.js";
import { decodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { hkdfSha256 } from "../../seed/hkdf.ts";
import { deriveP384Key, p384ScalarFromSecret } from "../../seed/p384.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";

const SEED = Uint8Array.from({ length: 64 }, (_, i) => i);
const SALT = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);

async function spki(key: CryptoKey): Promise<string> {
  return encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", key)));
}

Deno.test("HKDF-SHA256 matches RFC 5869 test case 3 (empty salt and info)", async () => {
  const ikm = new Uint8Array(22).fill(0x0b);
  assert.equal(
    encodeHex(await hkdfSha256(ikm, new Uint8Array(0), "", 42)),
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  );
});

Deno.test("same seed and salt give the same root CA and history keys", async () => {
  const a = SeedEngine.fromSeed(SEED, SALT);
  const b = SeedEngine.fromSeed(SEED, SALT);
  assert.equal(
    await spki((await a.rootCaKey()).publicKey),
    await spki((await b.rootCaKey()).publicKey),
  );
  assert.equal(
    await spki((await a.historySigningKey()).publicKey),
    await spki((await b.historySigningKey()).publicKey),
  );
  assert.notEqual(
    await spki((await a.rootCaKey()).publicKey),
    await spki((await a.historySigningKey()).publicKey),
  );
});

Deno.test("another seed or another salt gives other keys and secrets", async () => {
  const base = SeedEngine.fromSeed(SEED, SALT);
  const otherSeed = SeedEngine.fromSeed(SEED.map((x, i) => (i === 63 ? x ^ 1 : x)), SALT);
  const otherSalt = SeedEngine.fromSeed(SEED, SALT.map((x, i) => (i === 0 ? x ^ 1 : x)));
  const root = await spki((await base.rootCaKey()).publicKey);
  assert.notEqual(root, await spki((await otherSeed.rootCaKey()).publicKey));
  assert.notEqual(root, await spki((await otherSalt.rootCaKey()).publicKey));
  assert.notDeepEqual(await base.workloadSecret("a"), await otherSeed.workloadSecret("a"));
});

Deno.test("derived private key signs and the derived public key verifies (P-384, SHA-384)", async () => {
  const keys = await SeedEngine.fromSeed(SEED, SALT).rootCaKey();
  const message = new TextEncoder().encode("hello");
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-384" },
    keys.privateKey,
    message,
  );
  assert.ok(
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-384" },
      keys.publicKey,
      signature,
      message,
    ),
  );
  assert.equal(keys.privateKey.extractable, false);
  assert.equal((keys.publicKey.algorithm as EcKeyAlgorithm).namedCurve, "P-384");
});

Deno.test("derived public key is the scalar's point, and the scalar is in [1, n-1]", async () => {
  const secret = new Uint8Array(64).fill(0xff);
  const scalar = p384ScalarFromSecret(secret);
  const n = p384.Point.Fn.ORDER;
  const value = BigInt("0x" + encodeHex(scalar));
  assert.ok(value >= 1n && value < n);
  assert.equal(p384ScalarFromSecret(new Uint8Array(64)).at(-1), 1, "zero secret maps to 1");
  const key = await deriveP384Key(secret);
  const jwk = await crypto.subtle.exportKey("jwk", key.keyPair.publicKey);
  const raw = p384.getPublicKey(scalar, false);
  assert.deepEqual(decodeBase64(jwk.x!), raw.slice(1, 49));
  assert.deepEqual(decodeBase64(jwk.y!), raw.slice(49));
  // Deterministic signatures: same bytes twice, and valid under the WebCrypto public key.
  const message = new TextEncoder().encode("tbs");
  const der1 = key.signDeterministic(message);
  assert.deepEqual(der1, key.signDeterministic(message));
  const compact = p384.Signature.fromBytes(der1, "der").toBytes("compact");
  assert.ok(
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-384" },
      key.keyPair.publicKey,
      compact,
      message,
    ),
  );
});

Deno.test("p384ScalarFromSecret rejects a secret of the wrong length", () => {
  assert.throws(
    () => p384ScalarFromSecret(new Uint8Array(48)),
    (e) => e instanceof ParseError && e.field === "secret",
  );
});

Deno.test("workload secrets: HKDF with info 'WORKLOAD SECRET ID: <id>', 32 bytes, per id", async () => {
  const engine = SeedEngine.fromSeed(SEED, SALT);
  const secret = await engine.workloadSecret("db");
  assert.equal(secret.length, 32);
  assert.deepEqual(secret, await hkdfSha256(SEED, SALT, "WORKLOAD SECRET ID: db", 32));
  assert.deepEqual(secret, await SeedEngine.fromSeed(SEED, SALT).workloadSecret("db"));
  assert.notDeepEqual(secret, await engine.workloadSecret("web"));
  assert.throws(
    () => engine.workloadSecret(""),
    (e) => e instanceof ParseError && e.field === "WorkloadSecretID",
  );
});

Deno.test("fromSeed rejects wrong seed and salt lengths; create makes random 64/32-byte values", () => {
  assert.throws(
    () => SeedEngine.fromSeed(new Uint8Array(63), SALT),
    (e) => e instanceof ParseError && e.field === "seed",
  );
  assert.throws(
    () => SeedEngine.fromSeed(SEED, new Uint8Array(33)),
    (e) => e instanceof ParseError && e.field === "salt",
  );
  const a = SeedEngine.create();
  const b = SeedEngine.create();
  assert.equal(a.seed().length, 64);
  assert.equal(a.salt().length, 32);
  assert.notDeepEqual(a.seed(), b.seed());
});

Deno.test("HKDF-SHA256 gives WebCrypto's HKDF bytes on random inputs (lengths 1-255, empty salt and info too)", async () => {
  for (let round = 0; round < 64; round++) {
    const ikm = crypto.getRandomValues(new Uint8Array(1 + (round * 7) % 80));
    const salt = crypto.getRandomValues(new Uint8Array(round % 4 === 0 ? 0 : (round * 5) % 64));
    const info = round % 5 === 0 ? "" : `WORKLOAD SECRET ID: ${"ü".repeat(round % 9)}${round}`;
    const length = 1 + (round * 37) % 255;
    const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    const expected = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt, info: new TextEncoder().encode(info) },
        key,
        length * 8,
      ),
    );
    assert.deepEqual(await hkdfSha256(ikm, salt, info, length), expected);
  }
});

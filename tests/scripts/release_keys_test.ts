/**
 * The release key parsers: the PKCS#8 and SubjectPublicKeyInfo forms of Ed25519 keys that
 * WebCrypto and `openssl` write are read, and every other shape is refused with the file named.
 */
import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { concatBytes, encodePem } from "../../util/bytes/mod.ts";
import {
  parseEd25519PrivateKeyPem,
  parseEd25519PublicKeyPem,
  publicKeyFingerprint,
} from "../../scripts/release/ed25519_pem.ts";
import {
  importSigningKey,
  signSums,
  verifySumsSignature,
} from "../../scripts/release/signature.ts";
import { checksums, parseSha256Sums } from "../../scripts/release/sha256sums.ts";

/** A fresh Ed25519 key pair from WebCrypto: PKCS#8 v1 DER, its seed and raw public key. */
async function webCryptoKey() {
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { pkcs8, seed: pkcs8.slice(16), publicKey };
}

/** PKCS#8 version 2 (RFC 5958) of `seed` with `publicKey` in its `[1]` field. */
function pkcs8V2(seed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const body = concatBytes(
    new Uint8Array([0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]),
    new Uint8Array([0x04, 0x22, 0x04, 0x20]),
    seed,
    new Uint8Array([0x81, 0x21, 0x00]),
    publicKey,
  );
  return concatBytes(new Uint8Array([0x30, body.length]), body);
}

const refuses = (fn: () => unknown, reason: RegExp, field = "k.pem") =>
  assert.throws(
    fn,
    (e) => e instanceof ParseError && e.message.startsWith(field) && reason.test(e.message),
  );

Deno.test("a WebCrypto PKCS#8 key signs what its public key verifies; fingerprint is of the SPKI", async () => {
  const { pkcs8, publicKey } = await webCryptoKey();
  const parsed = parseEd25519PrivateKeyPem(encodePem("PRIVATE KEY", pkcs8), "k.pem");
  assert.deepEqual(parsed.pkcs8, pkcs8);
  const key = await importSigningKey(parsed, "k.pem");
  assert.deepEqual(key.publicKey, publicKey);
  assert.equal(key.privateKey.extractable, false);
  const sums = new TextEncoder().encode(await checksums({ "a.txt": new Uint8Array([1]) }));
  const sig = await signSums(key, sums);
  await verifySumsSignature([publicKey], sums, sig);
  const spki = new Uint8Array(
    await crypto.subtle.exportKey(
      "spki",
      await crypto.subtle.importKey("raw", publicKey, "Ed25519", true, ["verify"]),
    ),
  );
  assert.deepEqual(parseEd25519PublicKeyPem(encodePem("PUBLIC KEY", spki), "p.pem"), publicKey);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
  assert.equal(
    await publicKeyFingerprint(publicKey),
    Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
  );
  // One bit of SHA256SUMS changed, or the signature, or another key: refused.
  const other = await webCryptoKey();
  for (
    const [k, s, g] of [
      [publicKey, concatBytes(sums, new Uint8Array([0x0a])), sig],
      [publicKey, sums, sig.map((b, i) => (i === 0 ? b ^ 1 : b))],
      [other.publicKey, sums, sig],
    ] as const
  ) {
    await assert.rejects(
      verifySumsSignature([k], s, g),
      (e) => e instanceof VerificationError && /does not verify/.test(e.message),
    );
  }
  assert.equal(await verifySumsSignature([other.publicKey, publicKey], sums, sig), publicKey);
  await assert.rejects(
    verifySumsSignature([publicKey], sums, sig.subarray(0, 63)),
    (e) => e instanceof VerificationError && /63 bytes/.test(e.message),
  );
});

Deno.test("PKCS#8 version 2: the public key it holds must be the private key's", async () => {
  const { seed, publicKey, pkcs8 } = await webCryptoKey();
  const good = parseEd25519PrivateKeyPem(
    encodePem("PRIVATE KEY", pkcs8V2(seed, publicKey)),
    "k.pem",
  );
  assert.deepEqual(good.pkcs8, pkcs8);
  assert.deepEqual((await importSigningKey(good, "k.pem")).publicKey, publicKey);
  const other = await webCryptoKey();
  const bad = parseEd25519PrivateKeyPem(
    encodePem("PRIVATE KEY", pkcs8V2(seed, other.publicKey)),
    "k.pem",
  );
  await assert.rejects(
    importSigningKey(bad, "k.pem"),
    (e) => e instanceof ParseError && /not the private key's/.test(e.message),
  );
});

Deno.test("malformed private and public keys are refused, naming the file", async () => {
  const { pkcs8, seed, publicKey } = await webCryptoKey();
  const pem = (der: Uint8Array, label = "PRIVATE KEY") => encodePem(label, der);
  refuses(() => parseEd25519PrivateKeyPem("no pem here", "k.pem"), /not a PEM file/);
  refuses(
    () => parseEd25519PrivateKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n", "k.pem"),
    /no complete BEGIN\/END block/,
  );
  refuses(
    () =>
      parseEd25519PrivateKeyPem(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "k.pem",
      ),
    /encrypted PEM key/,
  );
  // Trailing data, parameters, a public key in a version 1 key, a short seed, version 2 without
  // the [1] tag, an unknown algorithm, a long-form length that is not minimal.
  refuses(
    () => parseEd25519PrivateKeyPem(pem(concatBytes(pkcs8, new Uint8Array([0]))), "k.pem"),
    /not one DER SEQUENCE/,
  );
  const withParams = concatBytes(
    new Uint8Array([
      0x30,
      0x30,
      0x02,
      0x01,
      0x00,
      0x30,
      0x07,
      0x06,
      0x03,
      0x2b,
      0x65,
      0x70,
      0x05,
      0x00,
    ]),
    new Uint8Array([0x04, 0x22, 0x04, 0x20]),
    seed,
  );
  refuses(() => parseEd25519PrivateKeyPem(pem(withParams), "k.pem"), /takes no parameters/);
  const v1WithPublic = pkcs8V2(seed, publicKey);
  v1WithPublic[4] = 0;
  refuses(
    () => parseEd25519PrivateKeyPem(pem(v1WithPublic), "k.pem"),
    /unexpected data after the key/,
  );
  const short = pkcs8.slice(0, 47);
  short[1] = 0x2d;
  short[13] = 0x21;
  short[15] = 0x1f;
  refuses(
    () => parseEd25519PrivateKeyPem(pem(short), "k.pem"),
    /not a 32-byte Ed25519 CurvePrivateKey/,
  );
  const v3 = pkcs8.slice();
  v3[4] = 2;
  refuses(() => parseEd25519PrivateKeyPem(pem(v3), "k.pem"), /not PKCS#8 version 1 or 2/);
  const unknown = pkcs8.slice();
  unknown[11] = 0x7f;
  refuses(
    () => parseEd25519PrivateKeyPem(pem(unknown), "k.pem"),
    /algorithm 1\.3\.101\.127, not Ed25519/,
  );
  const longForm = concatBytes(new Uint8Array([0x30, 0x81, 0x2e]), pkcs8.slice(2));
  refuses(
    () => parseEd25519PrivateKeyPem(pem(longForm), "k.pem"),
    /DER length not in its shortest form/,
  );

  const spki = concatBytes(
    new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]),
    publicKey,
  );
  refuses(() => parseEd25519PublicKeyPem(pem(pkcs8), "p.pem"), /a private key/, "p.pem");
  refuses(
    () => parseEd25519PublicKeyPem(pem(spki, "CERTIFICATE"), "p.pem"),
    /labelled CERTIFICATE/,
    "p.pem",
  );
  const x25519 = spki.slice();
  x25519[8] = 0x6e;
  refuses(
    () => parseEd25519PublicKeyPem(pem(x25519, "PUBLIC KEY"), "p.pem"),
    /X25519 \(1\.3\.101\.110\)/,
    "p.pem",
  );
  const unusedBits = spki.slice();
  unusedBits[11] = 1;
  refuses(
    () => parseEd25519PublicKeyPem(pem(unusedBits, "PUBLIC KEY"), "p.pem"),
    /not a 32-byte Ed25519 public key/,
    "p.pem",
  );
  refuses(
    () => parseEd25519PublicKeyPem(pem(spki, "PUBLIC KEY") + pem(spki, "PUBLIC KEY"), "p.pem"),
    /2 PEM blocks/,
    "p.pem",
  );
});

Deno.test("SHA256SUMS: the lines release.ts writes are read; any other line is refused", async () => {
  const text = await checksums({ "b/c.js": new Uint8Array([2]), "a.yml": new Uint8Array([1]) });
  assert.deepEqual(parseSha256Sums(text).map((e) => e.path), ["a.yml", "b/c.js"]);
  const hex = "ab".repeat(32);
  const cases: [string, RegExp][] = [
    [`${hex}  a.yml`, /does not end in a newline/],
    ["\n", /line 1: not `<sha256/],
    [`${hex} *a.yml\n`, /line 1: not `<sha256/],
    [`${hex.toUpperCase()}  a.yml\n`, /line 1: not `<sha256/],
    [`${hex}  a.yml\n\n`, /line 2: not `<sha256/],
    [`${hex}  /etc/passwd\n`, /an absolute path/],
    [`${hex}  ../x.js\n`, /`\.\.` path segment/],
    [`${hex}  a//x.js\n`, /empty, `\.` or `\.\.` path segment/],
    [`${hex}  a\\x.js\n`, /backslash/],
    [`${hex}  a.yml\n${hex}  a.yml\n`, /line 2: a\.yml is listed twice/],
  ];
  for (const [bad, reason] of cases) {
    assert.throws(
      () => parseSha256Sums(bad),
      (e) =>
        e instanceof VerificationError && e.message.startsWith("SHA256SUMS") &&
        reason.test(e.message),
      JSON.stringify(bad),
    );
  }
});

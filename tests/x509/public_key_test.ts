import assert from "node:assert/strict";
import { VerificationError } from "../../util/errors/mod.ts";
import { readElement } from "../../x509/der.ts";
import { MIN_RSA_BITS, parsePublicKeyInfo } from "../../x509/public_key.ts";
import { alg, oid, PSS, seq } from "./der_builders.ts";
import { assertOnCurve } from "../../x509/public_key.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";

Deno.test("public keys: RSA below 2048 bits and unknown curves are refused", async () => {
  const small = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 1024,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", small.publicKey));
  assert.throws(() => parsePublicKeyInfo(spki, "key"), (e) => {
    assert.ok(e instanceof VerificationError);
    assert.match(e.reason, new RegExp(`RSA key of 1024 bits is below ${MIN_RSA_BITS}`));
    return true;
  });
  const p521 = seq(
    alg("1.2.840.10045.2.1", oid("1.3.132.0.35")),
    Uint8Array.of(0x03, 0x02, 0x00, 0x04),
  );
  assert.throws(
    () => parsePublicKeyInfo(p521, "key"),
    /unsupported elliptic curve 1\.3\.132\.0\.35/,
  );
  const dsa = seq(alg("1.2.840.10040.4.1"), Uint8Array.of(0x03, 0x02, 0x00, 0x00));
  assert.throws(() => parsePublicKeyInfo(dsa, "key"), /unsupported public key algorithm/);
});

Deno.test("public keys: an EC point off the curve is refused", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  assert.equal(parsePublicKeyInfo(spki, "key").kind, "ec");
  spki[spki.length - 1]! ^= 0x01; // y no longer matches x
  assert.throws(() => parsePublicKeyInfo(spki, "key"), /not a point on P-256/);
});

Deno.test("public keys: an RSA key under the RSASSA-PSS OID is normalised for WebCrypto", async () => {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSA-PSS",
      modulusLength: 2048,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-384",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const outer = readElement(spki, 0, "spki");
  const bitString = readElement(outer.value, readElement(outer.value, 0, "a").end, "b").raw;
  const pssSpki = seq(alg(PSS), bitString);
  const info = parsePublicKeyInfo(pssSpki, "key");
  assert.equal(info.kind, "rsa");
  assert.deepEqual(info.spki, spki);
});

Deno.test("public keys: the curve check agrees with @noble/curves on valid and tampered points", async () => {
  const { p256, p384 } = await import("@noble/curves/nist.js");
  for (const [curve, noble] of [["P-256", p256], ["P-384", p384]] as const) {
    for (let i = 0; i < 20; i++) {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
        "sign",
      ]);
      const point = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      assertOnCurve(point, curve, "key");
      const tampered = point.slice();
      tampered[tampered.length - 1 - i]! ^= 1 << (i % 8);
      let nobleAccepts = true;
      try {
        noble.Point.fromBytes(tampered).assertValidity();
      } catch {
        nobleAccepts = false;
      }
      assert.equal(nobleAccepts, false);
      assert.throws(() => assertOnCurve(tampered, curve, "key"), VerificationError);
    }
    // Coordinates at or above p are refused even when congruent to a point.
    const size = curve === "P-256" ? 32 : 48;
    const big = new Uint8Array(1 + 2 * size).fill(0xff);
    big[0] = 0x04;
    assert.throws(() => assertOnCurve(big, curve, "key"), VerificationError);
  }
});

Deno.test("P-521 keys parse only where asked for (manifest owner keys), and are checked on the curve", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, [
    "sign",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  assert.throws(() => parsePublicKeyInfo(spki, "key"), /unsupported elliptic curve/);
  const info = parsePublicKeyInfo(spki, "key", { curves: ["P-521"] });
  assert.equal(info.kind === "ec" && info.curve, "P-521");
  const offCurve = spki.slice();
  offCurve[offCurve.length - 1]! ^= 1;
  assert.throws(
    () => parsePublicKeyInfo(offCurve, "key", { curves: ["P-521"] }),
    /not a point on P-521/,
  );
});

Deno.test("the manifest's key readers use this parser: one minimum RSA size, strict DER", async () => {
  const { readRsaPublicKey, readEcdsaPublicKey } = await import("../../manifest/public_keys.ts");
  const small = await generateRsaOaepKeys(1024);
  const der = new Uint8Array(await crypto.subtle.exportKey("spki", small.publicKey));
  const result = readRsaPublicKey(der);
  assert.ok("error" in result);
  assert.match(result.error, new RegExp(`below ${MIN_RSA_BITS}`));
  const trailing = readEcdsaPublicKey(new Uint8Array([...der, 0]));
  assert.ok("error" in trailing && /trailing/.test(trailing.error));
});

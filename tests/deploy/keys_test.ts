import assert from "node:assert/strict";
import { decodeHex, encodePem } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { generateOwnerKey, readOwnerKey, readPublicKeyFile } from "../../deploy/keys.ts";
import { readEcdsaPublicKey } from "../../manifest/public_keys.ts";

Deno.test("a generated workload owner key is P-384 and reads back to the same public key", async () => {
  const key = await generateOwnerKey("workload");
  assert.match(key.privatePem, /^-----BEGIN PRIVATE KEY-----/);
  const again = await readOwnerKey("workload", key.privatePem, "workload-owner.pem");
  assert.equal(again.publicHex, key.publicHex);
  assert.equal(again.created, false);
  const parsed = readEcdsaPublicKey(decodeHex(key.publicHex));
  assert.ok(!("error" in parsed), JSON.stringify(parsed));
  const spki = await crypto.subtle.importKey(
    "spki",
    decodeHex(key.publicHex) as Uint8Array<ArrayBuffer>,
    { name: "ECDSA", namedCurve: "P-384" },
    true,
    ["verify"],
  );
  assert.equal((spki.algorithm as EcKeyAlgorithm).namedCurve, "P-384");
});

Deno.test("rejects a key of the wrong kind or a file without a key", async () => {
  const p256 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const pem = encodePem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", p256.privateKey)),
  );
  await assert.rejects(
    readOwnerKey("workload", pem, "k.pem"),
    (e: ParseError) => e.field === "k.pem" && /P-384/.test(e.reason),
  );
  await assert.rejects(readOwnerKey("seedshare", pem, "s.pem"), /not an RSA private key/);
  await assert.rejects(
    readOwnerKey("workload", "hello", "x.pem"),
    (e: ParseError) => e.field === "x.pem",
  );
  const pub = encodePem(
    "PUBLIC KEY",
    new Uint8Array(await crypto.subtle.exportKey("spki", p256.publicKey)),
  );
  await assert.rejects(readPublicKeyFile("workload", pub, "p.pem"), /not a P-384/);
});

Deno.test("--add-*-owner-key accepts a PUBLIC KEY PEM", async () => {
  const key = await generateOwnerKey("workload");
  const priv = await readOwnerKey("workload", key.privatePem, "k");
  const pubPem = encodePem("PUBLIC KEY", decodeHex(priv.publicHex));
  assert.equal(await readPublicKeyFile("workload", pubPem, "pub.pem"), key.publicHex);
});

import assert from "node:assert/strict";
import { encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { ForbiddenError, UnauthenticatedError } from "../../protocol/errors.ts";
import {
  importSeedshareOwnerSigningKey,
  importWorkloadOwnerKey,
  recoveryMessage,
  signManifestUpdate,
  signRecovery,
  verifyManifestUpdateSignature,
  verifyRecoverySignature,
} from "../../protocol/signatures.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";

async function ecKey(curve: "P-256" | "P-384") {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return importWorkloadOwnerKey(
    encodePem(
      "PRIVATE KEY",
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    ),
  );
}

const transition = crypto.getRandomValues(new Uint8Array(32));

Deno.test("accepts an update signed by any listed owner key (P-256 and P-384)", async () => {
  const a = await ecKey("P-384");
  const b = await ecKey("P-256");
  const keys = [encodeHex(a.publicKeyDer), encodeHex(b.publicKeyDer)];
  assert.equal(
    await verifyManifestUpdateSignature(keys, transition, await signManifestUpdate(a, transition)),
    0,
  );
  assert.equal(
    await verifyManifestUpdateSignature(keys, transition, await signManifestUpdate(b, transition)),
    1,
  );
});

Deno.test("rejects an update signed by a key not in the manifest", async () => {
  const a = await ecKey("P-384");
  const stranger = await ecKey("P-384");
  await assert.rejects(
    verifyManifestUpdateSignature(
      [encodeHex(a.publicKeyDer)],
      transition,
      await signManifestUpdate(stranger, transition),
    ),
    UnauthenticatedError,
  );
});

Deno.test("rejects a signature over another transition, a flipped one, and none", async () => {
  const a = await ecKey("P-384");
  const keys = [encodeHex(a.publicKeyDer)];
  const sig = await signManifestUpdate(a, transition);
  await assert.rejects(
    verifyManifestUpdateSignature(keys, new Uint8Array(32), sig),
    UnauthenticatedError,
  );
  const flipped = sig.slice();
  flipped[5]! ^= 1;
  await assert.rejects(
    verifyManifestUpdateSignature(keys, transition, flipped),
    UnauthenticatedError,
  );
  await assert.rejects(
    verifyManifestUpdateSignature(keys, transition, new Uint8Array()),
    UnauthenticatedError,
  );
});

Deno.test("updates are disabled when the manifest lists no owner keys", async () => {
  await assert.rejects(
    verifyManifestUpdateSignature([], transition, new Uint8Array(96)),
    ForbiddenError,
  );
});

Deno.test("recovery signatures: owner accepted; stranger, other message refused", async () => {
  const pair = await generateRsaOaepKeys();
  const pem = encodePem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
  );
  const key = await importSeedshareOwnerSigningKey(pem);
  const oaepDer = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  assert.deepEqual(key.publicKeyDer, oaepDer, "same SPKI as the manifest's RSA key");
  const sealed = { enc: new Uint8Array(32).fill(1), ciphertext: new Uint8Array(112).fill(2) };
  const message = recoveryMessage(new Uint8Array(32), transition, sealed);
  const sig = await signRecovery(key, message);
  await verifyRecoverySignature([encodeHex(oaepDer)], key.publicKeyDer, message, sig);
  await assert.rejects(
    verifyRecoverySignature([], key.publicKeyDer, message, sig),
    ForbiddenError,
  );
  const other = recoveryMessage(new Uint8Array(32), new Uint8Array(32), sealed);
  await assert.rejects(
    verifyRecoverySignature([encodeHex(oaepDer)], key.publicKeyDer, other, sig),
    UnauthenticatedError,
  );
});

Deno.test("rejects key files that are not the expected keys", async () => {
  await assert.rejects(importWorkloadOwnerKey("nothing here"), ParseError);
  await assert.rejects(
    importWorkloadOwnerKey(encodePem("PRIVATE KEY", new Uint8Array([1, 2, 3]))),
    ParseError,
  );
  await assert.rejects(
    importSeedshareOwnerSigningKey(encodePem("PRIVATE KEY", new Uint8Array([1, 2, 3]))),
    ParseError,
  );
});

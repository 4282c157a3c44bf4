/**
 * Seed shares are made once, with the seed, for the first manifest's seedshare owners, and a
 * recovery needs a signature by a seedshare owner of the latest manifest and that owner's share.
 * An update that replaced the seedshare owners was accepted, and after the next restart of every
 * replica no one could recover the deployment (the new key had no share, the old one was no longer
 * listed). Such updates are refused, naming the key.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { readRsaPublicKey } from "../../manifest/public_keys.ts";
import { deployment } from "./fixture.ts";
import { setManifest, sharedParts, startOn } from "./replica_fixture.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";

async function newRsaKeyHex(): Promise<string> {
  const pair = await generateRsaOaepKeys();
  return encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)));
}

Deno.test({
  name: "manifest update: seedshare owners must hold seed shares (the first manifest's keys)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const c = await startOn(
      d,
      new MemoryHistoryBackend(),
      d.coordinator.digest,
      sharedParts("seedshare-owner-update"),
    );
    const first = await setManifest(d, c, d.manifest());
    const stranger = await newRsaKeyHex();
    const refused = async (keys: string[], path: string) => {
      const update = d.manifest((m) => m.SeedshareOwnerPubKeys = keys);
      await assert.rejects(
        setManifest(d, c, update, decodeHex(first.transition)),
        (e) =>
          e instanceof InvalidDocumentError &&
          e.issues.some((i) => i.path === path && /seed share/.test(i.reason)),
        `an update with SeedshareOwnerPubKeys ${path} was not refused`,
      );
    };
    await refused([stranger], "SeedshareOwnerPubKeys[0]");
    await refused([d.seedshareOwner.publicHex, stranger], "SeedshareOwnerPubKeys[1]");
    await refused([], "SeedshareOwnerPubKeys");
    // The share holder's key in the other encoding (PKCS#1, as Contrast writes it) still holds it.
    const info = readRsaPublicKey(decodeHex(d.seedshareOwner.publicHex));
    assert.ok(!("error" in info) && info.encoding === "spki");
    const reencoded = d.manifest((m) => m.SeedshareOwnerPubKeys = [encodeHex(info.pkcs1)]);
    const second = await setManifest(d, c, reencoded, decodeHex(first.transition));
    assert.ok(second.transition);
  },
});

import assert from "node:assert/strict";
import { encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { VerificationError } from "../../util/errors/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { type SignedManifest, verifyOwnerChain } from "../../protocol/owner_chain.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";

/** An owner key: its signing key and public hex. */
async function owner() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const pem = encodePem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
  );
  return {
    key: await importWorkloadOwnerKey(pem),
    hex: encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey))),
  };
}

const manifest = (keys: string[], n: number) =>
  new TextEncoder().encode(JSON.stringify({ WorkloadOwnerPubKeys: keys, n }));
const keysOf = (bytes: Uint8Array) =>
  JSON.parse(new TextDecoder().decode(bytes)).WorkloadOwnerPubKeys as string[];

/** A history of `manifests`, each signed by `signers[i]`. */
async function history(
  manifests: Uint8Array[],
  signers: { key: Awaited<ReturnType<typeof owner>>["key"] }[],
): Promise<SignedManifest[]> {
  let previous = GENESIS_TRANSITION;
  const out: SignedManifest[] = [];
  for (const [i, bytes] of manifests.entries()) {
    const transition = await transitionHash(await manifestHash(bytes), previous);
    out.push({ bytes, signature: await signManifestUpdate(signers[i]!.key, transition) });
    previous = transition;
  }
  return out;
}

const A = await owner();
const B = await owner();
const STRANGER = await owner();

function failsAt(field: string, pattern: RegExp) {
  return (e: unknown) =>
    e instanceof VerificationError && e.field === field && pattern.test(e.message);
}

Deno.test("an owner chain verifies: first self-listed key, then the predecessor's keys", async () => {
  // B signs a first manifest listing B, then an update.
  const h = await history([manifest([B.hex], 0), manifest([B.hex], 1)], [B, B]);
  const result = await verifyOwnerChain(h, keysOf, [B.hex]);
  assert.deepEqual(result.pinnedLinks, [0, 1]);
  const rotated = await history(
    [manifest([A.hex], 0), manifest([B.hex], 1), manifest([B.hex], 2)],
    [
      A,
      A,
      B,
    ],
  );
  assert.deepEqual((await verifyOwnerChain(rotated, keysOf, [B.hex])).pinnedLinks, [2]);
  assert.deepEqual((await verifyOwnerChain(rotated, keysOf, [A.hex])).pinnedLinks, [0, 1]);
  assert.deepEqual((await verifyOwnerChain(rotated, keysOf)).pinnedLinks, []);
});

Deno.test("a stranger's own chain verifies on its own but not against pinned keys", async () => {
  const h = await history([manifest([STRANGER.hex], 0)], [STRANGER]);
  await verifyOwnerChain(h, keysOf);
  await assert.rejects(
    verifyOwnerChain(h, keysOf, [A.hex]),
    failsAt("WorkloadOwnerPubKeys", /signed by a workload owner key this pod pins/),
  );
  await assert.rejects(
    verifyOwnerChain([], keysOf, [A.hex]),
    failsAt("WorkloadOwnerPubKeys", /no manifest yet/),
  );
});

Deno.test("a missing, foreign or misplaced signature is refused with its index", async () => {
  const [first, second] = await history([manifest([A.hex], 0), manifest([A.hex], 1)], [A, A]);
  await assert.rejects(
    verifyOwnerChain([{ bytes: first!.bytes }], keysOf, [A.hex]),
    failsAt("history[0].signature", /not signed by an owner/),
  );
  await assert.rejects(
    verifyOwnerChain([first!, { bytes: second!.bytes, signature: new Uint8Array() }], keysOf),
    failsAt("history[1].signature", /not signed by an owner/),
  );
  // The first manifest signed by a key it does not list.
  const [foreign] = await history([manifest([A.hex], 0)], [STRANGER]);
  await assert.rejects(
    verifyOwnerChain([foreign!], keysOf),
    failsAt("history[0].signature", /first manifest is not signed by a key it lists/),
  );
  // An update signed by a key only the update itself lists (a takeover).
  const [, takeover] = await history([manifest([A.hex], 0), manifest([STRANGER.hex], 1)], [
    A,
    STRANGER,
  ]);
  await assert.rejects(
    verifyOwnerChain([first!, takeover!], keysOf),
    failsAt("history[1].signature", /not signed by a key of the previous manifest/),
  );
  // Signatures swapped between transitions.
  await assert.rejects(
    verifyOwnerChain(
      [{ ...first!, signature: second!.signature }, { ...second!, signature: first!.signature }],
      keysOf,
    ),
    failsAt("history[0].signature", /first manifest/),
  );
  // A flipped bit.
  const flipped = second!.signature!.slice();
  flipped[5]! ^= 1;
  await assert.rejects(
    verifyOwnerChain([first!, { ...second!, signature: flipped }], keysOf),
    failsAt("history[1].signature", /previous manifest/),
  );
});

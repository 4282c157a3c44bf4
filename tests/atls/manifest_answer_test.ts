/**
 * `sendManifest` parses the Coordinator's answer to `POST /manifest` strictly before `set` writes
 * any of it: a `seedShares` that is not a seed-share document (it went into `seed-shares.json`
 * as whatever JSON arrived, unreadable by `recover` later), a transition that is not 32 bytes of
 * hex, a missing or non-PEM CA are a verification failure naming `coordinator.<field>`.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { sendManifest } from "../../atls/coordinator_client.ts";
import type { PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { VerificationError } from "../../util/errors/mod.ts";
import { createSeedShares } from "../../seed/seed_shares.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";

/** A client whose every request is answered with `answer`. */
function answering(answer: unknown): PinnedHttpsClient {
  return { request: () => Promise.resolve(answer) } as unknown as PinnedHttpsClient;
}

const REQUEST = {
  manifest: new Uint8Array([123, 125]),
  policies: [],
  previousTransition: new Uint8Array(32),
  signature: new Uint8Array(64),
};
const PEM = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";

Deno.test("sendManifest returns the answer typed, its seed-share document parsed", async () => {
  const { publicKey } = await generateRsaOaepKeys();
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const hex = Array.from(spki, (b) => b.toString(16).padStart(2, "0")).join("");
  const shares = await createSeedShares(SeedEngine.create(), [hex]);
  const good = { transition: "ab".repeat(32), rootCa: PEM, meshCa: PEM };
  assert.deepEqual(await sendManifest(answering(good), REQUEST), good);
  const first = await sendManifest(answering({ ...good, seedShares: shares }), REQUEST);
  assert.deepEqual(first.seedShares, shares);
});

Deno.test("sendManifest refuses an answer that does not parse, naming the field", async () => {
  const good = { transition: "ab".repeat(32), rootCa: PEM, meshCa: PEM };
  const cases: [unknown, RegExp][] = [
    [{ ...good, seedShares: { planted: "<script>" } }, /^coordinator\.seedShares/],
    [{ ...good, seedShares: "not a document" }, /^coordinator\.seedShares/],
    [{ ...good, transition: "ab" }, /^coordinator\.transition/],
    [{ ...good, rootCa: "" }, /^coordinator\.rootCa/],
    [{ transition: good.transition, rootCa: PEM }, /^coordinator\.meshCa/],
    [{ ...good, extra: 1 }, /^coordinator\.extra/],
    [[1, 2], /^coordinator/],
  ];
  for (const [answer, field] of cases) {
    const error = await sendManifest(answering(answer), REQUEST).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof VerificationError, `${JSON.stringify(answer)}: ${String(error)}`);
    assert.match(error.field, field, JSON.stringify(answer));
  }
});

/**
 * What makes a seed safe to hand to a recovering Coordinator: it must be the deployment's seed.
 * A seed-share document proves nothing by itself (anyone can encrypt a seed of their choosing to
 * the seedshare owner's public key), and the one the Coordinator stores with its history is in
 * the infrastructure's hands, together with the history a planted seed would have to sign. What
 * the owner holds that the infrastructure cannot forge is the root CA it received from the
 * attested Coordinator (`contrast set` writes `coordinator-root-ca.pem`): its key is derived from
 * the seed and salt alone, so a seed is the deployment's exactly when it derives that key.
 *
 * @module
 */
import { constantTimeEqual } from "../util/bytes/mod.ts";
import { VerificationError } from "../util/errors/mod.ts";
import { SeedEngine } from "../seed/seed_engine.ts";
import { parseCertificate } from "../x509/certificate.ts";

/** The option that sends a seed no root CA in the workspace can confirm. */
export const TRUST_SEED_SHARES_FLAG = "--trust-seed-shares";

/** What the check knows besides the seed. */
interface SeedAnchor {
  /** PEM text of the workspace's `coordinator-root-ca.pem`, when there is one. */
  readonly rootCaPem?: string;
  /** The path of that file (for messages). */
  readonly rootCaPath: string;
  /** Names the seed-share document in messages. */
  readonly sourceName: string;
  /** Whether the owner accepts a seed that no root CA confirms ({@link TRUST_SEED_SHARES_FLAG}). */
  readonly trustUnconfirmed: boolean;
}

/**
 * Checks that `seed` and `salt` are the deployment's before they are sent: they must derive the
 * root CA key of `anchor.rootCaPem`. Without a root CA (`set` writes it together with the seed
 * shares it receives, so a workspace without one holds shares from elsewhere: the Coordinator's
 * store after a first `set` whose answer was lost), only when the owner says so explicitly.
 *
 * @throws {import("../util/errors/mod.ts").ParseError} naming the root CA file when it is not a
 *   certificate (exit 2)
 * @throws {VerificationError} naming the root CA file when the seed derives another root CA, or
 *   `seedShares` when there is no root CA and the seed was not explicitly trusted (exit 1)
 */
export async function checkSeedIsTheDeployments(
  seed: Uint8Array,
  salt: Uint8Array,
  anchor: SeedAnchor,
): Promise<void> {
  if (anchor.rootCaPem === undefined) {
    if (!anchor.trustUnconfirmed) {
      throw new VerificationError(
        "seedShares",
        `the seed in ${anchor.sourceName} cannot be checked: there is no ${anchor.rootCaPath} to ` +
          `check it against, and the infrastructure can plant a seed-share document together ` +
          `with a history its own seed signs (the Coordinator would then run on a seed it ` +
          `knows). Nothing was sent. Put the deployment's root CA there, or pass ` +
          `${TRUST_SEED_SHARES_FLAG} if this deployment never handed one out (a crash during the ` +
          `first contrast set)`,
      );
    }
    return;
  }
  const root = parseCertificate(anchor.rootCaPem, anchor.rootCaPath);
  const engine = SeedEngine.fromSeed(seed, salt);
  const derived = new Uint8Array(
    await crypto.subtle.exportKey("spki", (await engine.rootCaKey()).publicKey),
  );
  if (!constantTimeEqual(derived, root.spki)) {
    throw new VerificationError(
      anchor.rootCaPath,
      `the seed in ${anchor.sourceName} does not derive this root CA: the seed-share document is ` +
        `not this deployment's (the infrastructure may have planted it). Nothing was sent`,
    );
  }
}

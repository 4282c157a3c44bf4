/**
 * Before a workload owner signs an update on top of a Coordinator's history (`set`,
 * `sign --prepare`), takes its CA files as theirs, or is told it enforces their manifest
 * (`verify`), the Coordinator must be the one the owner set up, not one started over.
 *
 * `attestTarget` already requires a transition signed by an owner of the local manifest, but an
 * owner-signed history is public: after wiping the store, the infrastructure can replay the
 * owner's own first manifest and signature to a fresh Coordinator, which makes a new seed. Pods
 * accept it (the pinned owner signed that transition) and get new workload secrets and CAs, so
 * the data the old ones protect becomes unreadable; an owner who then signs an update or takes
 * the CA files makes that reset permanent without noticing. With `coordinator-root-ca.pem` in
 * the workspace (every `set` writes it) the attested root CA must equal it: the root CA is
 * derived from the seed, which only the Coordinator that made it, its peers and the seedshare
 * owners hold, so a Coordinator started over has another one (`contrast recover` brings the old
 * seed back; a store lost for good can be restored from `verify/history.json`).
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { readFileIfExists } from "../util/files/mod.ts";
import type { AttestResponse } from "../protocol/messages.ts";

/**
 * Refuses a Coordinator with a history whose root CA is not the workspace's
 * `coordinator-root-ca.pem` (see the module documentation). Without that file, or when the
 * Coordinator has no history yet (the owner's manifest will be its first), nothing is compared.
 *
 * @param state the verified `/attest` answer
 * @returns whether the workspace pinned the root CA: true when the file was there and equal to
 *   the attested one, false when nothing was compared
 * @throws {VerificationError} naming `coordinator-root-ca.pem` when the root CA differs
 */
export async function requireSameCoordinator(
  state: AttestResponse,
  workspace: string,
): Promise<boolean> {
  if (state.manifests.length === 0) return false;
  const rootFile = `${workspace}/coordinator-root-ca.pem`;
  const known = await readFileIfExists(rootFile);
  if (known === undefined) return false;
  if (new TextDecoder().decode(known) === state.rootCa) return true;
  throw new VerificationError(
    rootFile,
    "the Coordinator's root CA differs from this workspace's: it was started over (e.g. after " +
      "its store was wiped) and runs on a new seed, so it is not this workspace's Coordinator. " +
      "Recover the old seed (contrast recover, or --restore-history from verify/history.json), " +
      "or remove the file if you started the deployment over yourself",
  );
}

/** What an earlier `set` leaves in a workspace: the deployment's root CA and its seed shares. */
const EARLIER_DEPLOYMENT_FILES = ["coordinator-root-ca.pem", "seed-shares.json"] as const;

/**
 * Refuses to make the owner's manifest the first of a Coordinator without a history while the
 * workspace holds what an earlier `set` wrote (`coordinator-root-ca.pem`, `seed-shares.json`):
 * the Coordinator's store was wiped (by the infrastructure, or lost), and a first manifest would
 * start the deployment over on a new seed without saying so, and replace the workspace's only
 * copy of the old seed shares, after which nothing protected by the old seed (workload secrets,
 * encrypted volumes) could be recovered. A Coordinator with a history, or in recovery, is not
 * concerned.
 *
 * @param state the verified `/attest` answer
 * @throws {VerificationError} naming the first of those files found
 */
export async function requireNoEarlierDeployment(
  state: AttestResponse,
  workspace: string,
): Promise<void> {
  if (state.manifests.length > 0 || state.latestTransition || state.recoveryNeeded) return;
  for (const name of EARLIER_DEPLOYMENT_FILES) {
    const file = `${workspace}/${name}`;
    if (await readFileIfExists(file) === undefined) continue;
    throw new VerificationError(
      file,
      "the Coordinator has no manifest, but this workspace set one before: its store was wiped " +
        "(e.g. by the infrastructure), and a first manifest would start the deployment over on a " +
        "new seed and replace this workspace's root CA and seed shares. Nothing was sent. Restore " +
        "the store (start the Coordinator with --restore-history verify/history.json, then " +
        "contrast recover), or, to start over deliberately, move coordinator-root-ca.pem, " +
        "seed-shares.json and verify/ aside",
    );
  }
}

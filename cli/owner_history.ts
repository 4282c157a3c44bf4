/**
 * Before a workload owner signs an update on top of a Coordinator's history (`set`,
 * `sign --prepare`), or takes its CA files as theirs, the history must be theirs.
 *
 * Pods accept a history as soon as one transition of it is signed by an owner key they pin, and
 * a signature over a transition vouches for every manifest before it (transitions are a hash
 * chain). An infrastructure that wipes the Coordinator's store can set a first manifest of its
 * own that lists the owner's public key as a workload owner (the key is public); if the owner's
 * next `set` signed on top of it, pods would accept everything the infrastructure's manifest
 * admitted, e.g. its own workload with the owner's `WorkloadSecretID`, which already got that
 * workload secret. So the history must be the one the owner knows:
 * - with `coordinator-root-ca.pem` in the workspace (every `set` writes it): the attested root CA
 *   must equal it. The root CA is derived from the seed, which only the Coordinator that made it,
 *   its peers and the seedshare owners hold, so a Coordinator started over has another one;
 * - without it: some transition of the history must be signed by a workload owner of the local
 *   manifest (by key or by key digest).
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { readFileIfExists } from "../util/files/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../manifest/hash.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { workloadOwnersOf } from "../manifest/workload_owners.ts";
import type { AttestResponse } from "../protocol/messages.ts";
import { authenticateManifestUpdate } from "../protocol/signatures.ts";

/** The local manifest the owner is about to sign (or already set). */
interface OwnersManifest {
  /** Its file, for error messages. */
  readonly path: string;
  /** The parsed manifest (its workload owners). */
  readonly manifest: Manifest;
}

/**
 * Refuses a Coordinator history that is not the owner's (see the module documentation). A
 * Coordinator without a history passes: the owner's manifest will be its first.
 *
 * @param state the verified `/attest` answer (its history hashes to the attested transition)
 * @throws {VerificationError} naming `coordinator-root-ca.pem` when the root CA differs, or the
 *   local manifest's `WorkloadOwnerPubKeys` when no transition is signed by one of its owners
 */
export async function requireOwnersHistory(
  state: AttestResponse,
  local: OwnersManifest,
  workspace: string,
): Promise<void> {
  if (state.manifests.length === 0) return;
  const rootFile = `${workspace}/coordinator-root-ca.pem`;
  const known = await readFileIfExists(rootFile);
  if (known !== undefined) {
    if (new TextDecoder().decode(known) !== state.rootCa) {
      throw new VerificationError(
        rootFile,
        "the Coordinator's root CA differs from this workspace's: its history is not the one " +
          "you set (the Coordinator was started over, e.g. after its store was wiped); not " +
          "signing on top of it. Recover the deployment, or remove the file if you started it " +
          "over yourself",
      );
    }
    return;
  }
  if (!(await signedByOwnerOf(state, local.manifest))) {
    throw new VerificationError(
      `${local.path}: WorkloadOwnerPubKeys`,
      `no manifest of the Coordinator's history (${state.manifests.length} manifests) is signed ` +
        "by a workload owner of this manifest: a history someone else started; not signing on " +
        "top of it (with this deployment's coordinator-root-ca.pem in the workspace, the root CA " +
        "is compared instead)",
    );
  }
}

/** Whether some transition of the attested history is signed by a workload owner of `manifest`. */
async function signedByOwnerOf(state: AttestResponse, manifest: Manifest): Promise<boolean> {
  const owners = workloadOwnersOf(manifest);
  let previous = GENESIS_TRANSITION;
  for (const [i, bytes] of state.manifests.entries()) {
    const transition = await transitionHash(await manifestHash(bytes), previous);
    const signature = state.signatures[i];
    if (signature && signature.length > 0) {
      const signed = await authenticateManifestUpdate(owners, transition, signature).then(
        () => true,
        () => false,
      );
      if (signed) return true;
    }
    previous = transition;
  }
  return false;
}

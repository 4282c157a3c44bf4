/**
 * Attesting the Coordinator a command names (`set`, `verify`, `recover`, `sign`): loaded only when
 * the command runs, with the attested-TLS client and the evidence verifiers.
 *
 * @module
 */
import { type CliCollateralOptions, cliEvidenceVerifier } from "../atls/workspace.ts";
import { attestCoordinator, type AttestedCoordinator } from "../atls/coordinator_client.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { type WorkloadOwners, workloadOwnersOf } from "../manifest/workload_owners.ts";

/** What a command that talks to a Coordinator knows of it: where, how to verify, how long. */
interface CoordinatorTarget {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
  /** Time limit of each network operation in milliseconds. */
  readonly timeoutMs?: number;
}

/** What names the workload owners in an error of {@link attestTarget}. */
const LOCAL_OWNERS = "of the local manifest (or the signing key)";

/**
 * Attests the Coordinator of `target` against the local `manifest`'s reference values and
 * Coordinator policy, with the command's collateral sources and time limit. A Coordinator with
 * a history must have some transition signed by a workload owner of the local manifest (or by
 * `signerKeys`, the key the command signs with), as the pods generated from that manifest
 * require: otherwise the history is someone else's (for instance the infrastructure's first
 * manifest, whose seed shares it can read), and the owner must neither sign on top of it nor
 * be told it is theirs.
 *
 * @throws {import("../util/errors/mod.ts").VerificationError} naming `WorkloadOwnerPubKeys` when
 *   no transition of the Coordinator's history is signed by one of those keys
 */
export function attestTarget(
  target: CoordinatorTarget,
  manifest: Manifest,
  signerKeys: readonly string[] = [],
): Promise<AttestedCoordinator> {
  const local = workloadOwnersOf(manifest);
  const pinned: WorkloadOwners = {
    keys: [...local.keys, ...signerKeys],
    keyDigests: local.keyDigests,
  };
  return attestCoordinator(
    target.coordinator,
    manifest,
    cliEvidenceVerifier(target.collateral),
    { timeoutMs: target.timeoutMs, pinnedOwnerKeys: pinned, pinnedBy: LOCAL_OWNERS },
  );
}

/**
 * Attesting the Coordinator a command names (`set`, `verify`, `recover`, `sign`): loaded only when
 * the command runs, with the attested-TLS client and the evidence verifiers.
 *
 * @module
 */
import { type CliCollateralOptions, cliEvidenceVerifier } from "../atls/workspace.ts";
import { attestCoordinator, type AttestedCoordinator } from "../atls/coordinator_client.ts";
import type { Manifest } from "../manifest/manifest.ts";

/** What a command that talks to a Coordinator knows of it: where, how to verify, how long. */
interface CoordinatorTarget {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
  /** Time limit of each network operation in milliseconds. */
  readonly timeoutMs?: number;
}

/**
 * Attests the Coordinator of `target` against the local `manifest`'s reference values and
 * Coordinator policy, with the command's collateral sources and time limit.
 */
export function attestTarget(
  target: CoordinatorTarget,
  manifest: Manifest,
): Promise<AttestedCoordinator> {
  return attestCoordinator(
    target.coordinator,
    manifest,
    cliEvidenceVerifier(target.collateral),
    { timeoutMs: target.timeoutMs },
  );
}

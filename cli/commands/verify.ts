/**
 * `contrast verify -c HOST:PORT [-m manifest.json] [--json]`
 *
 * Attests the Coordinator against the local manifest and writes what it attested into
 * `verify/`: `manifest.<i>.json` (oldest first), `policy.<digest>.toml`,
 * `coordinator-root-ca.pem`, `mesh-ca.pem` and `latest-transition` (hex). Fails (exit 1) unless
 * the active manifest is byte for byte the local one; exit 3 when the Coordinator needs
 * recovery. `--json` prints a one-object summary for CI.
 *
 * @module
 */
import type { Command } from "commander";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { UnavailableError, ValidationError } from "../../util/errors/mod.ts";
import { attestCoordinator } from "../../atls/coordinator_client.ts";
import { cliEvidenceVerifier, readLocalManifest } from "../../atls/workspace.ts";
import { writeFileAtomic } from "../../util/files/atomic_write.ts";
import { constantTimeEqual } from "../../util/bytes/mod.ts";

/** Options of {@link runVerify}. */
export interface VerifyCommandOptions {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Local manifest path. */
  readonly manifest: string;
  /** Workspace folder (`verify/` is created in it). */
  readonly workspace: string;
}

/** The `--json` summary. */
export interface VerifySummary {
  /** Whether the active manifest equals the local one. */
  readonly ok: boolean;
  /** Platform of the Coordinator's evidence. */
  readonly platform: string;
  /** hex launch-configuration digest of the Coordinator (its policy). */
  readonly coordinatorPolicy: string;
  /** hex launch measurement. */
  readonly measurement: string;
  /** hex latest transition. */
  readonly latestTransition: string;
  /** Number of manifests in the history. */
  readonly manifests: number;
  /** hex SHA-256 of the active manifest. */
  readonly activeManifestSha256: string;
  /** hex SHA-256 of the local manifest. */
  readonly localManifestSha256: string;
  /** Folder written. */
  readonly verifyDir: string;
}

/**
 * Runs `contrast verify`; returns the summary.
 *
 * @throws {ValidationError} naming `manifest` when the active manifest differs from the local one
 */
export async function runVerify(options: VerifyCommandOptions): Promise<VerifySummary> {
  const local = await readLocalManifest(options.manifest);
  const attested = await attestCoordinator(
    options.coordinator,
    local.manifest,
    cliEvidenceVerifier(),
  );
  const state = attested.state;
  if (state.recoveryNeeded) {
    throw new UnavailableError("coordinator", "the Coordinator needs recovery: contrast recover");
  }
  const dir = `${options.workspace}/verify`;
  await Deno.mkdir(dir, { recursive: true });
  for (const [i, bytes] of state.manifests.entries()) {
    await writeFileAtomic(`${dir}/manifest.${i}.json`, bytes);
  }
  for (const [digest, doc] of state.policies) {
    await writeFileAtomic(`${dir}/policy.${digest}.toml`, doc);
  }
  await writeFileAtomic(`${dir}/coordinator-root-ca.pem`, state.rootCa);
  await writeFileAtomic(`${dir}/mesh-ca.pem`, state.meshCa);
  const latest = state.latestTransition ? encodeHex(state.latestTransition) : "";
  await writeFileAtomic(`${dir}/latest-transition`, latest + "\n");
  const active = state.manifests.at(-1);
  const summary: VerifySummary = {
    ok: active !== undefined && constantTimeEqual(active, local.bytes),
    platform: attested.claims.platform,
    coordinatorPolicy: encodeHex(attested.claims.hostData),
    measurement: encodeHex(attested.claims.measurement),
    latestTransition: latest,
    manifests: state.manifests.length,
    activeManifestSha256: active ? encodeHex(await sha256(active)) : "",
    localManifestSha256: encodeHex(await sha256(local.bytes)),
    verifyDir: dir,
  };
  return summary;
}

/** Registers `contrast verify`. */
export function registerVerifyCommand(program: Command): void {
  program
    .command("verify")
    .description("attest the Coordinator and check that it enforces the local manifest")
    .requiredOption("-c, --coordinator <host:port>", "Coordinator user API address")
    .option("-m, --manifest <file>", "local manifest", "manifest.json")
    .option("-w, --workspace <dir>", "where verify/ is written", ".")
    .option("--json", "print a JSON summary")
    .action(async (o) => {
      const summary = await runVerify({
        coordinator: o.coordinator,
        manifest: o.manifest,
        workspace: o.workspace,
      });
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      if (!summary.ok) {
        throw new ValidationError(
          "manifest",
          "the Coordinator's active manifest differs from the local manifest",
          { expected: summary.localManifestSha256, actual: summary.activeManifestSha256 || "none" },
        );
      }
      if (!o.json) {
        console.log(
          `✔ Coordinator attested (${summary.platform}, policy ${
            summary.coordinatorPolicy.slice(0, 16)
          }…)`,
        );
        console.log(`✔ Active manifest equals ${o.manifest} (${summary.manifests} in history)`);
        console.log(`  wrote ${summary.verifyDir}/`);
      }
    });
}

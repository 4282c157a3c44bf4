/**
 * What `contrast verify` does once its flags are parsed (see `verify.ts` for the command): attest
 * the Coordinator against the local manifest, write what it attested into `verify/` and compare
 * the active manifest with the local one. Loaded only when the command runs, so `contrast verify
 * --help` does not load the attested-TLS client, the verifiers or their packages.
 *
 * @module
 */
import { attestTarget } from "../coordinator_target.ts";
import { requireSameCoordinator } from "../owner_history.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { encodeHistoryBackup, parseHistoryBackup } from "../../protocol/history_backup.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { readFileIfExists } from "../../util/files/mod.ts";
import { type CliCollateralOptions, readLocalManifest } from "../../atls/workspace.ts";
import { writeFileAtomic } from "../../util/files/atomic_write.ts";
import { checkWriteTargets } from "../../util/files/write_together.ts";
import { constantTimeEqual } from "../../util/bytes/mod.ts";
import type { AttestResponse } from "../../protocol/messages.ts";
import { attestationCaveats } from "../attestation_caveats.ts";

/** Options of {@link runVerify}. */
export interface VerifyCommandOptions {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Local manifest path. */
  readonly manifest: string;
  /** Workspace folder (`verify/` is created in it). */
  readonly workspace: string;
  /** Time limit of each network operation in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
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
  /** hex SHA-256 of the root certificate the Coordinator's evidence chains to. */
  readonly rootSha256: string;
  /**
   * Whether that root is not a vendor's (AMD ARK, Intel SGX Root CA) but a simulated one the
   * local manifest names (`Simulated-SNP` / `Simulated-TDX`): no real TEE was attested.
   */
  readonly simulatedRoot: boolean;
  /** Whether the Coordinator permits debugging (the host can read its memory). */
  readonly debug: boolean;
  /** hex latest transition. */
  readonly latestTransition: string;
  /** Number of manifests in the history. */
  readonly manifests: number;
  /** hex SHA-256 of the active manifest. */
  readonly activeManifestSha256: string;
  /** hex SHA-256 of the local manifest. */
  readonly localManifestSha256: string;
  /** The verify/ folder (written only when the Coordinator has a history). */
  readonly verifyDir: string;
  /**
   * Whether a root CA in the workspace pinned the deployment's seed (`coordinator-root-ca.pem`,
   * or `verify/coordinator-root-ca.pem` of an earlier run). Without one, a Coordinator started
   * over on a new seed with the owner's (public) history replayed passes too.
   */
  readonly rootCaPinned: boolean;
}

/**
 * Runs `contrast verify`; returns the summary.
 *
 * @throws {ValidationError} naming `manifest` when the active manifest differs from the local one
 */
export async function runVerify(options: VerifyCommandOptions): Promise<VerifySummary> {
  const local = await readLocalManifest(options.manifest);
  // Checked before the network is touched: verify/ must be a folder, or one that can be made.
  await checkWriteTargets([`${options.workspace}/verify/latest-transition`], {
    createFolders: true,
  });
  const attested = await attestTarget(options, local.manifest);
  const state = attested.state;
  if (state.recoveryNeeded) {
    throw new UnavailableError("coordinator", "the Coordinator needs recovery: contrast recover");
  }
  // A Coordinator started over (its store wiped, the owner's public history replayed to a fresh
  // one: same manifests, new seed) is not the one the owner set up: refused before verify/ (and
  // the backup of the genuine history in it) is replaced.
  await requireSameCoordinator(state, options.workspace);
  const dir = `${options.workspace}/verify`;
  // Read before verify/ is replaced: this run's own root CA file pins nothing.
  const rootCaPinned = await exists(`${options.workspace}/coordinator-root-ca.pem`) ||
    await exists(`${dir}/coordinator-root-ca.pem`);
  // A Coordinator without a history attested nothing worth keeping, and it may be the owner's
  // after the infrastructure wiped its store: verify/ (with history.json, the backup it can be
  // restored from) is kept as it is.
  if (state.manifests.length > 0) {
    await requireSameAsLastVerified(state, dir);
    await replaceVerifyFolder(options.workspace, dir, state);
  }
  const latest = state.latestTransition ? encodeHex(state.latestTransition) : "";
  const active = state.manifests.at(-1);
  const caveats = attestationCaveats(attested.claims);
  const summary: VerifySummary = {
    ok: active !== undefined && constantTimeEqual(active, local.bytes),
    platform: attested.claims.platform,
    coordinatorPolicy: encodeHex(attested.claims.hostData),
    measurement: encodeHex(attested.claims.measurement),
    ...caveats,
    latestTransition: latest,
    manifests: state.manifests.length,
    activeManifestSha256: active ? encodeHex(await sha256(active)) : "",
    localManifestSha256: encodeHex(await sha256(local.bytes)),
    verifyDir: dir,
    rootCaPinned,
  };
  return summary;
}

/** Whether a file is at `path`. */
async function exists(path: string): Promise<boolean> {
  return await readFileIfExists(path) !== undefined;
}

/**
 * Refuses to replace `verify/` with what a Coordinator on another seed attested (its root CA is
 * not `verify/coordinator-root-ca.pem`), or `verify/history.json` with a history that does not
 * contain its latest transition: a store put back to an older, genuinely signed state (same seed, so the root CA
 * check passes) would otherwise replace the backup of the newer history with its own, and the
 * newer history could no longer be restored. Transitions are a hash chain, so containing the
 * backup's latest transition means extending the backup's whole history.
 *
 * @throws {VerificationError} naming verify/'s root CA when the Coordinator's differs, or the
 *   backup when the attested history does not extend it
 * @throws {import("../../util/errors/mod.ts").ParseError} naming the backup when it does not parse
 */
async function requireSameAsLastVerified(state: AttestResponse, dir: string): Promise<void> {
  // verify/'s own copy of the root CA: a workspace without coordinator-root-ca.pem (an auditor's,
  // which never ran set) still tells a Coordinator started over on a new seed from its own.
  const rootFile = `${dir}/coordinator-root-ca.pem`;
  const root = await readFileIfExists(rootFile);
  if (root !== undefined && new TextDecoder().decode(root) !== state.rootCa) {
    throw new VerificationError(
      rootFile,
      `the Coordinator's root CA differs from the one verified last: it runs on another seed ` +
        `(started over, e.g. after its store was wiped, or another deployment). ${dir}/ is kept: ` +
        `its history.json restores the deployment (--restore-history); move it aside to verify ` +
        `another deployment from this workspace`,
    );
  }
  const file = `${dir}/history.json`;
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) return;
  const backup = await parseHistoryBackup(bytes, parseManifest, file);
  const backupLatest = backup.latestRecord.subarray(0, 32);
  let transition = GENESIS_TRANSITION;
  for (const manifest of state.manifests) {
    transition = await transitionHash(await manifestHash(manifest), transition);
    if (constantTimeEqual(transition, backupLatest)) return;
  }
  throw new VerificationError(
    file,
    `the Coordinator's history (${state.manifests.length} manifests) does not contain this ` +
      `backup's latest transition ${encodeHex(backupLatest).slice(0, 16)}… ` +
      `(${backup.manifests.length} manifests): its store was put back to an older state, or it ` +
      `is another deployment. ${dir}/ is kept: it restores the newer history ` +
      `(--restore-history); move it aside to verify another deployment from this workspace`,
  );
}

/** Writes what `state` attested into a fresh folder that then replaces `dir` (verify/) whole. */
async function replaceVerifyFolder(
  workspace: string,
  dir: string,
  state: AttestResponse,
): Promise<void> {
  // Written into a fresh folder that then replaces verify/ whole: files of an earlier run (a
  // longer history, another Coordinator's backup) never sit next to what this run attested.
  const fresh = `${workspace}/.verify-${crypto.randomUUID()}`;
  await Deno.mkdir(fresh, { recursive: true });
  try {
    await writeAttestedFiles(fresh, state);
    await replaceFolder(dir, fresh);
  } catch (error) {
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Replaces folder `dir` by `fresh` (a sibling): the old one is moved aside, then removed. */
async function replaceFolder(dir: string, fresh: string): Promise<void> {
  const old = `${fresh}.old`;
  let moved = false;
  try {
    await Deno.rename(dir, old);
    moved = true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.rename(fresh, dir);
  if (moved) await Deno.remove(old, { recursive: true });
}

/** Writes what the Coordinator attested into `dir` (see `verify.ts` for the files). */
async function writeAttestedFiles(dir: string, state: AttestResponse): Promise<void> {
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
  if (state.latestRecord && state.manifests.length > 0) {
    await writeFileAtomic(
      `${dir}/history.json`,
      encodeHistoryBackup({
        latestRecord: state.latestRecord,
        manifests: state.manifests.map((manifest, i) => ({
          manifest,
          signature: state.signatures[i] ?? new Uint8Array(),
        })),
        policies: state.policies,
        ...(state.seedShares ? { seedShares: state.seedShares } : {}),
      }),
    );
  }
}

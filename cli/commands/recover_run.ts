/**
 * What the command below does once its flags are parsed (registered in `recover.ts`, which
 * imports this module only when the command runs, so `contrast recover --help` stays cheap).
 *
 * `contrast recover -c HOST:PORT [-m manifest.json] [--seedshare-owner-key F]
 * [--seed seed-shares.json]`
 *
 * Attests a Coordinator in recovery mode against the local manifest, checks that its stored
 * history contains the local manifest and the latest transition of `verify/history.json` (a store
 * rolled back behind either is refused), decrypts the seed share (from `--seed`, or, when that file
 * does not exist, the seed-share document the Coordinator stored with its history) with the
 * seedshare owner's key, checks that the seed is the deployment's (it must derive the workspace's
 * `coordinator-root-ca.pem`; without that file only with `--trust-seed-shares`, see
 * `../seed_anchor.ts`), seals seed and salt to the Coordinator's attested HPKE key (bound to the
 * attested latest transition), signs the request, and sends it. Afterwards the Coordinator is
 * attested again; when `coordinator-root-ca.pem` is in the workspace, the recovered root CA must
 * equal it.
 *
 * @module
 */
import { concatBytes, constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import {
  InvalidDocumentError,
  ParseError,
  ValidationError,
  VerificationError,
} from "../../util/errors/mod.ts";
import { readInputFileIfExists } from "../../util/files/mod.ts";
import type { AttestationClaims } from "../../evidence/types.ts";
import { attestCoordinator, sendRecover } from "../../atls/coordinator_client.ts";
import { sealedBoxToJson, sealTo } from "../../protocol/hpke.ts";
import {
  type CliCollateralOptions,
  cliEvidenceVerifier,
  readFileNamed,
  readLocalManifest,
} from "../../atls/workspace.ts";
import { RECOVERY_HPKE_INFO } from "../../protocol/messages.ts";
import { checkSeedIsTheDeployments } from "../seed_anchor.ts";
import { readLastVerified, requireLastVerifiedIn } from "../last_verified.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { matchPolicy } from "../../manifest/policy_match.ts";
import {
  importSeedshareOwnerSigningKey,
  recoveryMessage,
  signRecovery,
} from "../../protocol/signatures.ts";
import {
  decryptSeedShare,
  importSeedshareOwnerPrivateKey,
  parseSeedShares,
  type SeedShareDocument,
} from "../../seed/seed_shares.ts";

/** Options of {@link runRecover}. */
export interface RecoverOptions {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Local manifest path. */
  readonly manifest: string;
  /** Seedshare owner key path (PKCS#8 RSA PEM). */
  readonly seedshareOwnerKey: string;
  /** `seed-shares.json` path. */
  readonly seed: string;
  /** Workspace (for `coordinator-root-ca.pem`). */
  readonly workspace: string;
  /** Recover even while ready peer replicas exist (they would recover it on their own). */
  readonly force?: boolean;
  /**
   * Send the seed although no `coordinator-root-ca.pem` in the workspace can confirm it is the
   * deployment's (`--trust-seed-shares`).
   */
  readonly trustSeedShares?: boolean;
  /** Where progress goes. */
  readonly print?: (line: string) => void;
  /** Time limit of each network operation in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
}

/** What `recover` did (the `--json` result). */
export interface RecoverResult {
  /** Always true (a failed recovery throws). */
  readonly recovered: true;
  /** The attested platform. */
  readonly platform: string;
  /** Manifests in the recovered history. */
  readonly manifests: number;
  /** hex of the latest transition. */
  readonly latestTransition: string;
  /** Whether the workspace's root CA was compared (`unchanged`) or absent (`restored`). */
  readonly rootCa: "unchanged" | "restored";
}

/** Runs `contrast recover`. */
export async function runRecover(options: RecoverOptions): Promise<RecoverResult> {
  const print = options.print ?? console.log;
  const local = await readLocalManifest(options.manifest);
  // Every local file is read and checked before the network is touched.
  const pem = new TextDecoder().decode(await readFileNamed(options.seedshareOwnerKey));
  const decryptKey = await importSeedshareOwnerPrivateKey(pem, options.seedshareOwnerKey);
  const signingKey = await importSeedshareOwnerSigningKey(pem, options.seedshareOwnerKey);
  const seedFile = await readInputFileIfExists(options.seed);
  const localShares = seedFile && seedSharesOf(seedFile, options.seed);
  const rootCaPath = `${options.workspace}/coordinator-root-ca.pem`;
  const rootCaBytes = await readInputFileIfExists(rootCaPath);
  const knownRoot = rootCaBytes && new TextDecoder().decode(rootCaBytes);
  const lastVerified = await readLastVerified(options.workspace);
  const verify = cliEvidenceVerifier(options.collateral);
  const network = { timeoutMs: options.timeoutMs };
  const attested = await attestCoordinator(options.coordinator, local.manifest, verify, network);
  if (!attested.state.recoveryNeeded) {
    throw new ParseError("coordinator", "the Coordinator is not in recovery mode");
  }
  const latest = attested.state.latestTransition;
  if (!latest) throw new VerificationError("latestTransition", "missing in recovery mode");
  requireLocalManifestInHistory(attested.state.manifests, local.bytes, options.manifest);
  requireCoordinatorPolicyOfLatest(attested.state.manifests, attested.claims);
  await requireLastVerifiedIn(lastVerified, attested.state.manifests, "the seed is not sent");
  print(`✔ Coordinator attested (${attested.claims.platform}), in recovery mode`);
  const shares = localShares ?? storedShares(options.seed, attested.state.seedShares);
  if (!localShares) {
    print(`  ${options.seed} not found: using the seed shares stored with the history`);
  }
  const recovered = await decryptSeedShare(shares, decryptKey, signingKey.publicKeyDer);
  try {
    await checkSeedIsTheDeployments(recovered.seed, recovered.salt, {
      rootCaPem: knownRoot,
      rootCaPath,
      sourceName: localShares ? options.seed : "the seed shares stored with the history",
      trustUnconfirmed: options.trustSeedShares === true,
    });
  } catch (error) {
    recovered.seed.fill(0);
    throw error;
  }
  const plain = concatBytes(recovered.seed, recovered.salt);
  recovered.seed.fill(0);
  const sealed = await sealTo(attested.state.hpkePublicKey, plain, RECOVERY_HPKE_INFO, latest);
  plain.fill(0);
  const signature = await signRecovery(
    signingKey,
    recoveryMessage(attested.state.hpkePublicKey, latest, sealed),
  );
  await sendRecover(attested.client, {
    sealedSeed: sealedBoxToJson(sealed),
    ownerPublicKey: encodeHex(signingKey.publicKeyDer),
    signature: encodeHex(signature),
    ...(options.force ? { force: true } : {}),
  });
  const after = await attestCoordinator(options.coordinator, local.manifest, verify, network);
  if (after.state.recoveryNeeded) {
    throw new VerificationError("coordinator", "still in recovery mode after recovery");
  }
  if (knownRoot !== undefined && knownRoot !== after.state.rootCa) {
    throw new ValidationError(
      "coordinator-root-ca.pem",
      "the recovered Coordinator has another root CA than the workspace's",
    );
  }
  const rootCa = knownRoot !== undefined ? "unchanged" : "restored";
  const count = after.state.manifests.length;
  print(`✔ Recovered: ${count} ${count === 1 ? "manifest" : "manifests"}, root CA ${rootCa}`);
  return {
    recovered: true,
    platform: after.claims.platform,
    manifests: after.state.manifests.length,
    latestTransition: encodeHex(after.state.latestTransition ?? new Uint8Array(32)),
    rootCa,
  };
}

/**
 * Refuses to hand the seed to a Coordinator whose stored history (attested: it hashes to the
 * transition its evidence binds, and is owner-signed) does not contain the local manifest. The
 * history may have moved past it (an update whose answer was lost, or another owner's), but a
 * history that ends before it is a store the infrastructure rolled back to an older latest record:
 * recovered, the Coordinator would serve a manifest the owner replaced, under the same seed.
 *
 * @throws {VerificationError} naming the manifest file
 */
function requireLocalManifestInHistory(
  history: readonly Uint8Array[],
  local: Uint8Array,
  path: string,
): void {
  if (history.length === 0) {
    throw new VerificationError(
      path,
      "the Coordinator's stored history is incomplete: cannot check that it contains this " +
        "manifest, so the seed is not sent",
    );
  }
  if (!history.some((m) => constantTimeEqual(m, local))) {
    throw new VerificationError(
      path,
      `the Coordinator's stored history (${history.length} manifests) does not contain this ` +
        "manifest: its store may have been rolled back to an older state, so the seed is not " +
        "sent (if this is not the manifest you set last, use that one)",
    );
  }
}

/**
 * Refuses to hand the seed to a Coordinator whose policy the latest manifest of its (attested)
 * history does not list as a coordinator policy: the local manifest may be older and still list
 * it, but an update retired it (say, a vulnerable Coordinator version the host keeps running; an
 * old version does not refuse the seed itself).
 *
 * @throws {ValidationError} naming `hostData`
 */
function requireCoordinatorPolicyOfLatest(
  history: readonly Uint8Array[],
  claims: AttestationClaims,
): void {
  let role: string | undefined;
  try {
    role = matchPolicy(parseManifest(history.at(-1)!), claims).entry.Role;
  } catch {
    role = undefined;
  }
  if (role !== "coordinator") {
    throw new ValidationError(
      "hostData",
      "the Coordinator runs a policy that the latest manifest of its history does not list as a " +
        "coordinator policy (an update retired it), so the seed is not sent",
    );
  }
}

/**
 * The seed-share document in `bytes`, read from `file`.
 *
 * @throws {InvalidDocumentError} naming `file` with every problem and its path
 */
function seedSharesOf(bytes: Uint8Array, file: string): SeedShareDocument {
  try {
    return parseSeedShares(bytes);
  } catch (error) {
    throw error instanceof InvalidDocumentError ? error.inFile(file) : error;
  }
}

/**
 * The seed-share document the Coordinator stored (public-key encrypted; a seed from a forged one
 * fails the Coordinator's history check).
 *
 * @throws {ParseError} naming `seedFile` when there is none either (a missing input file)
 */
function storedShares(seedFile: string, stored: Uint8Array | undefined): SeedShareDocument {
  if (stored === undefined) {
    throw new ParseError(seedFile, "not found, and the Coordinator stores no seed shares");
  }
  return seedSharesOf(stored, "seed shares stored with the Coordinator's history");
}

/**
 * What the command below does once its flags are parsed (registered in `set.ts`, which
 * imports this module only when the command runs, so `contrast set --help` stays cheap).
 *
 * `contrast set -c HOST:PORT [-m manifest.json] [--workload-owner-key F] PATH...`
 *
 * Attests the Coordinator against the local manifest, sends the manifest with the initdata
 * documents of every policy (read from the generated YAML at PATH...), signed by the workload
 * owner (the first manifest too: pods accept only a history their pinned owner keys signed), and
 * writes `coordinator-root-ca.pem`, `mesh-ca.pem` and, on the first set, `seed-shares.json` into
 * the workspace.
 *
 * A retried `set` finishes what a lost answer left open: when the Coordinator already holds the
 * local manifest as its latest, the CA files and the stored seed-share document are written
 * without sending anything; when it restarted after storing the local manifest as its first
 * (recovery mode), the stored seed-share document is written and `contrast recover` is next.
 *
 * @module
 */
import { attestTarget } from "../coordinator_target.ts";
import { requireNoEarlierDeployment, requireSameCoordinator } from "../owner_history.ts";
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { readInputFileIfExists } from "../../util/files/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { sendManifest } from "../../atls/coordinator_client.ts";
import {
  type CliCollateralOptions,
  initdataFromYaml,
  readFileNamed,
  readLocalManifest,
} from "../../atls/workspace.ts";
import {
  checkWriteTargets,
  type FileWrite,
  writeFilesTogether,
} from "../../util/files/write_together.ts";
import {
  acceptExternalUpdateSignature,
  importWorkloadOwnerKey,
  signManifestUpdate,
} from "../../protocol/signatures.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { workloadOwnersOf } from "../../manifest/workload_owners.ts";
import { parsePreparedUpdate, type PreparedUpdate } from "../prepared_update.ts";
import { encodeSeedShares, parseSeedShares } from "../../seed/seed_shares.ts";
import type { AttestResponse } from "../../protocol/messages.ts";
import { TRUST_SEED_SHARES_FLAG } from "../seed_anchor.ts";
import { readLastVerified, requireLastVerifiedIn } from "../last_verified.ts";

/** Options of {@link runSet}. */
export interface SetOptions {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** Manifest path. */
  readonly manifest: string;
  /** Workload owner key path (PKCS#8 PEM); signs every manifest, the first included. */
  readonly workloadOwnerKey: string;
  /** Workspace folder the CA files and seed shares are written to. */
  readonly workspace: string;
  /** Generated YAML files or directories of them. */
  readonly paths: readonly string[];
  /** Time limit of each network operation in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
  /** Where progress goes. */
  readonly print?: (line: string) => void;
  /** Where warnings go (default stderr). */
  readonly warn?: (line: string) => void;
  /**
   * A manifest signed outside contrast (`contrast sign --prepare`): the signature file (ASN.1
   * DER or raw IEEE P1363) and the prepared update document.
   */
  readonly external?: { readonly signature: string; readonly prepared: string };
}

/** What `set` did. */
export interface SetResult {
  /** hex of the new latest transition. */
  readonly transition: string;
  /** Whether this was the first manifest (seed shares written). */
  readonly first: boolean;
  /** Files written. */
  readonly written: readonly string[];
  /** How the manifest was signed; absent when the Coordinator already held it. */
  readonly signedBy?: "workload-owner-key" | "external-signature";
  /**
   * Whether the workspace's `coordinator-root-ca.pem` pinned the Coordinator's root CA (it held
   * a manifest and the file equalled the attested root CA). False: trusted on first use (also a
   * first set, whose Coordinator has no root CA to pin yet).
   */
  readonly rootCaPinned: boolean;
}

/**
 * The P1363 form of a signature made outside contrast, after checking that the prepared update
 * is the one being sent now and that a workload owner key of `signerManifest` (the active
 * manifest, or the new one itself when it is the first) made the signature.
 *
 * @throws {ParseError} when the prepared update is stale or for another manifest, or the
 * signature is malformed
 * @throws {UnauthenticatedError} when no owner key signed the transition
 */
async function externalSignature(
  signerManifest: Uint8Array,
  external: { signature: string; prepared: string; bytes: Uint8Array; update: PreparedUpdate },
  previous: Uint8Array,
  next: Uint8Array,
): Promise<Uint8Array> {
  if (external.update.previousTransition !== encodeHex(previous)) {
    throw new ParseError(
      `${external.prepared}: previousTransition`,
      `stale: prepared on top of ${external.update.previousTransition.slice(0, 16)}…, but the ` +
        `Coordinator's latest transition is now ${encodeHex(previous).slice(0, 16)}…: run ` +
        "contrast sign --prepare again and sign the new bytes",
    );
  }
  if (external.update.transition !== encodeHex(next)) {
    throw new ParseError(
      `${external.prepared}: transition`,
      "the manifest changed since contrast sign --prepare: prepare and sign again",
    );
  }
  const accepted = await acceptExternalUpdateSignature(
    workloadOwnersOf(parseManifest(signerManifest)),
    next,
    external.bytes,
    external.signature,
  );
  return accepted.p1363;
}

/**
 * The warning for a Coordinator that already holds a manifest while the workspace pins nothing of
 * its seed (no `coordinator-root-ca.pem`): it is trusted on first use, and a Coordinator the
 * infrastructure started over on a new seed, with the owner's (public) history replayed, would be
 * accepted the same way. Undefined when the file pinned it (`requireSameCoordinator` compared
 * it) or the Coordinator has no manifest yet (a first `set` has no root CA to pin).
 */
function unpinnedRootWarning(
  state: AttestResponse,
  workspace: string,
  rootCaPinned: boolean,
): string | undefined {
  if (state.manifests.length === 0 || rootCaPinned) return undefined;
  return `warning: nothing in ${workspace} pins this deployment's seed (no ` +
    `coordinator-root-ca.pem): this Coordinator already holds a manifest and is trusted on first ` +
    `use, so a Coordinator the infrastructure started over on a new seed, with the owner's history ` +
    `replayed, would be accepted as well. Put the deployment's coordinator-root-ca.pem (written by ` +
    `the first set) in the workspace; this set writes the one it attested`;
}

/** Runs `contrast set`. */
export async function runSet(options: SetOptions): Promise<SetResult> {
  const print = options.print ?? console.log;
  const local = await readLocalManifest(options.manifest);
  const found = await initdataFromYaml(options.paths);
  const byDigest = new Map(found.map((f) => [f.digest, f]));
  const policies: Uint8Array[] = [];
  for (const digest of Object.keys(local.manifest.Policies)) {
    const doc = byDigest.get(digest);
    if (!doc) {
      throw new ParseError(
        `${options.manifest}: Policies.${digest}`,
        "no resource in the given YAML carries this policy's initdata (pass every generated file)",
      );
    }
    policies.push(doc.bytes);
  }
  for (const f of found) {
    if (!(f.digest in local.manifest.Policies)) {
      throw new ParseError(
        f.source,
        `its policy ${f.digest} is not in ${options.manifest}: run contrast generate again`,
      );
    }
  }
  // Every local file is read before the network is touched.
  const external = options.external && {
    ...options.external,
    bytes: await readFileNamed(options.external.signature),
    update: parsePreparedUpdate(
      await readFileNamed(options.external.prepared),
      options.external.prepared,
    ),
  };
  const ownerKeyPem = external ? undefined : await readInputFileIfExists(options.workloadOwnerKey);
  const ownerKey = ownerKeyPem === undefined ? undefined : await importWorkloadOwnerKey(
    new TextDecoder().decode(ownerKeyPem),
    options.workloadOwnerKey,
  );
  await checkWriteTargets(
    ["coordinator-root-ca.pem", "mesh-ca.pem", "seed-shares.json", STORED_SEED_SHARES]
      .map((name) => `${options.workspace}/${name}`),
  );
  const lastVerified = await readLastVerified(options.workspace);
  // The history must carry a signature of a local owner (or of the key signing now): never sign
  // on top of a history someone else wrote.
  const attested = await attestTarget(
    options,
    local.manifest,
    ownerKey ? [encodeHex(ownerKey.publicKeyDer)] : [],
  );
  const written: string[] = [];
  const pending: FileWrite[] = [];
  const put = (name: string, data: string, mode = 0o644) => {
    pending.push({ path: `${options.workspace}/${name}`, data, mode });
  };
  /** Writes what `put` collected: every file or none. */
  const commit = async () => {
    await writeFilesTogether(pending);
    written.push(...pending.map((w) => w.path));
    pending.length = 0;
  };
  const localSeedShares = await readInputFileIfExists(`${options.workspace}/seed-shares.json`);
  /**
   * Puts the Coordinator's stored seed-share document. It is whatever the Coordinator's store
   * (host-provided storage) holds, so it never replaces the owner's own copy: a differing one is
   * put beside it, as `seed-shares.coordinator.json`.
   */
  const putStoredSeedShares = (stored: Uint8Array): StoredSeedShares => {
    const text = encodeSeedShares(parseSeedShares(stored));
    if (localSeedShares === undefined) {
      put("seed-shares.json", text, 0o600);
      return "written";
    }
    if (new TextDecoder().decode(localSeedShares) === text) return "same";
    put(STORED_SEED_SHARES, text, 0o600);
    return "beside";
  };
  const state = attested.state;
  if (state.recoveryNeeded) {
    const note = keptSeedSharesNote(options.workspace);
    await finishInterruptedFirstSet(state, local.bytes, putStoredSeedShares, commit, note);
    throw new UnavailableError(
      "coordinator",
      "the Coordinator needs recovery first: contrast recover",
    );
  }
  const rootCaPinned = await requireSameCoordinator(state, options.workspace);
  await requireNoEarlierDeployment(state, options.workspace);
  // Never on top of an older state than the owner verified: that update would start a second
  // owner-signed branch of the history.
  await requireLastVerifiedIn(lastVerified, state.manifests, "nothing is signed or sent");
  const unpinned = unpinnedRootWarning(state, options.workspace, rootCaPinned);
  if (unpinned) (options.warn ?? console.error)(unpinned);
  print(`✔ Coordinator attested (${attested.claims.platform}, coordinator policy matches)`);
  const last = state.manifests.at(-1);
  if (last && constantTimeEqual(last, local.bytes) && state.latestTransition) {
    put("coordinator-root-ca.pem", state.rootCa);
    put("mesh-ca.pem", state.meshCa);
    const shares = state.manifests.length === 1 && state.seedShares
      ? putStoredSeedShares(state.seedShares)
      : "same";
    await commit();
    const transition = encodeHex(state.latestTransition);
    print(`✔ The Coordinator already holds this manifest (transition ${transition.slice(0, 16)}…)`);
    for (const path of written) print(`  wrote ${path}`);
    if (shares === "beside") print(`  ${keptSeedSharesNote(options.workspace)}`);
    return { transition, first: state.manifests.length === 1, written, rootCaPinned };
  }
  const previous = state.latestTransition ?? GENESIS_TRANSITION;
  const first = state.latestTransition === undefined;
  const next = await transitionHash(await manifestHash(local.bytes), previous);
  let signature: Uint8Array;
  if (external) {
    const signers = state.manifests.at(-1) ?? local.bytes;
    signature = await externalSignature(signers, external, previous, next);
  } else {
    if (ownerKey === undefined) {
      throw new ParseError(
        options.workloadOwnerKey,
        "file not found (every manifest, the first included, must be signed)",
      );
    }
    signature = await signManifestUpdate(ownerKey, next);
  }
  const answer = await sendManifest(attested.client, {
    manifest: local.bytes,
    policies,
    previousTransition: previous,
    signature,
  });
  if (answer.transition !== encodeHex(next)) {
    throw new ParseError("coordinator.transition", "the Coordinator reports another transition");
  }
  put("coordinator-root-ca.pem", answer.rootCa);
  put("mesh-ca.pem", answer.meshCa);
  if (answer.seedShares !== undefined) {
    put("seed-shares.json", encodeSeedShares(answer.seedShares), 0o600);
  }
  await commit();
  print(
    `✔ Manifest set (transition ${answer.transition.slice(0, 16)}…, ${policies.length} policies)`,
  );
  for (const path of written) print(`  wrote ${path}`);
  const signedBy = external ? "external-signature" : "workload-owner-key";
  return { transition: answer.transition, first, written, signedBy, rootCaPinned };
}

/** What became of the Coordinator's stored seed-share document. */
type StoredSeedShares = "written" | "same" | "beside";

/** Where a stored seed-share document that differs from the workspace's goes. */
const STORED_SEED_SHARES = "seed-shares.coordinator.json";

function keptSeedSharesNote(workspace: string): string {
  return `kept ${workspace}/seed-shares.json: the Coordinator's stored seed shares differ; ` +
    `they are in ${workspace}/${STORED_SEED_SHARES} (if yours are from an earlier deployment, ` +
    `recover with --seed ${STORED_SEED_SHARES})`;
}

/**
 * In recovery mode: if the Coordinator's latest transition is the local manifest as a first
 * manifest, an earlier `set` may have been interrupted after the history was stored; writes the
 * stored seed-share document (beside the workspace's own, if that differs) so `contrast recover`
 * can run, and says so.
 *
 * @throws {UnavailableError} naming `seed-shares.json` once a document is written (recover is
 *   next)
 */
async function finishInterruptedFirstSet(
  state: AttestResponse,
  manifest: Uint8Array,
  putSeedShares: (stored: Uint8Array) => StoredSeedShares,
  commit: () => Promise<void>,
  keptNote: string,
): Promise<void> {
  const first = await transitionHash(await manifestHash(manifest), GENESIS_TRANSITION);
  if (!state.latestTransition || !constantTimeEqual(state.latestTransition, first)) return;
  if (!state.seedShares) return;
  const shares = putSeedShares(state.seedShares);
  await commit();
  if (shares === "written") {
    throw new UnavailableError(
      "seed-shares.json",
      "the Coordinator stored this manifest, then restarted before answering: wrote the stored " +
        `seed shares; run contrast recover ${TRUST_SEED_SHARES_FLAG} (no root CA reached you, so ` +
        "nothing you hold confirms them; if you did not just run set, the infrastructure may " +
        "have planted them: start the deployment anew instead)",
    );
  }
  if (shares === "beside") {
    throw new UnavailableError(
      "seed-shares.json",
      `the Coordinator needs recovery first: contrast recover; ${keptNote}`,
    );
  }
}

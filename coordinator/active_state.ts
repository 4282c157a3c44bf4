/**
 * Loads the Coordinator's active state from the stored history with a known seed: the whole
 * chain verified (content addresses, the signed latest record under the seed-derived history
 * key), every manifest parsed, every policy document fetched and checked, and the certificate
 * authority of the latest transition derived from the seed (same root and mesh CA on every
 * replica). Used after recovery and whenever a replica sees a transition it did not make.
 *
 * @module
 */
import { constantTimeEqual, decodeHex, encodeHex } from "../util/bytes/mod.ts";
import type { Manifest } from "../manifest/manifest.ts";
import type { SeedEngine } from "../seed/seed_engine.ts";
import { CertificateAuthority } from "./ca/certificate_authority.ts";
import type { HistoryBackend } from "./history/backend.ts";
import { HistoryCorruptionError } from "./history/errors.ts";
import { ManifestHistory } from "./history/manifest_history.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../manifest/hash.ts";
import { createSeedShares, encodeSeedShares, parseSeedShares } from "../seed/seed_shares.ts";

/** Everything an active Coordinator serves from, for one transition. */
interface LoadedState {
  readonly history: ManifestHistory;
  readonly ca: CertificateAuthority;
  readonly manifest: Manifest;
  /** The latest transition hash. */
  readonly transition: Uint8Array;
  /** Every manifest, oldest first. */
  readonly manifests: readonly Uint8Array[];
  /** The owner signature of each manifest's transition (empty where none is stored). */
  readonly signatures: readonly Uint8Array[];
  /** The initdata documents of every manifest's policies, by hex digest. */
  readonly policies: ReadonlyMap<string, Uint8Array>;
  /**
   * The latest record the chain was loaded from, its signature checked under the seed's history
   * key (served for backups: never the store's current bytes, which may carry a forged signature).
   */
  readonly latestRecord: Uint8Array;
  /**
   * A seed-share document of this seed for the first manifest's seedshare owners (made by this
   * process, never the stored one, which the store's owner may have replaced: see
   * {@link seedSharesOf}); absent with `repairSeedShares: false` or without seedshare owners.
   */
  readonly seedShares?: Uint8Array;
}

/** Options of {@link loadActiveState}. */
interface LoadOptions {
  /**
   * A transition this replica already served: the loaded chain must contain it (a replica never
   * moves backwards, so a replayed older latest record is refused as a rollback).
   */
  readonly mustContain?: Uint8Array;
  /**
   * Whether a stored seed-share document of another seed is replaced (default true). Off while
   * the caller has yet to decide whether it accepts the seed: see {@link repairSeedShares}.
   */
  readonly repairSeedShares?: boolean;
  /**
   * The seed-share document this process already serves for this seed (made by it, so genuine):
   * kept instead of making a new one.
   */
  readonly servedSeedShares?: Uint8Array;
}

/**
 * Loads and verifies the state the stored latest names.
 *
 * @throws {HistoryCorruptionError} when any record fails its check, the history is empty, or
 *   the chain does not contain `options.mustContain`
 */
export async function loadActiveState(
  engine: SeedEngine,
  backend: HistoryBackend,
  parseManifest: (bytes: Uint8Array) => Manifest,
  options: LoadOptions = {},
): Promise<LoadedState> {
  const historyKey = await engine.historySigningKey();
  const history = ManifestHistory.open(backend, historyKey.publicKey);
  const { entries: chain, latestRecord } = await history.verifiedChain();
  const last = chain.at(-1);
  if (!last || !latestRecord) {
    throw new HistoryCorruptionError("transitions/latest", "the history is empty");
  }
  const known = options.mustContain;
  if (known && !chain.some((e) => constantTimeEqual(e.transitionHash, known))) {
    throw new HistoryCorruptionError(
      "transitions/latest",
      `does not descend from transition ${encodeHex(known)} served before (rollback refused)`,
    );
  }
  const policies = new Map<string, Uint8Array>();
  let manifest: Manifest | undefined;
  for (const entry of chain) {
    manifest = parseManifest(entry.manifestBytes);
    for (const digest of Object.keys(manifest.Policies)) {
      if (!policies.has(digest)) {
        policies.set(digest, await history.policy(decodeHex(digest, "Policies", 32)));
      }
    }
  }
  const seedShares = options.repairSeedShares === false ? undefined : await seedSharesOf(
    engine,
    backend,
    chain[0]!.transitionHash,
    parseManifest(chain[0]!.manifestBytes).SeedshareOwnerPubKeys,
    options.servedSeedShares,
  );
  return {
    history,
    ca: await CertificateAuthority.forTransition(engine, last.transitionHash),
    manifest: manifest!,
    transition: last.transitionHash,
    manifests: chain.map((e) => e.manifestBytes),
    signatures: chain.map((e) => e.ownerSignature ?? new Uint8Array()),
    policies,
    latestRecord,
    ...(seedShares ? { seedShares } : {}),
  };
}

/**
 * The seed-share document to serve with `loaded` (the state {@link loadActiveState} loaded with
 * `repairSeedShares: false`), the stored one repaired as {@link loadActiveState} does by default:
 * called once the caller accepted the seed.
 */
export async function repairSeedShares(
  engine: SeedEngine,
  backend: HistoryBackend,
  loaded: LoadedState,
  parseManifest: (bytes: Uint8Array) => Manifest,
): Promise<Uint8Array | undefined> {
  const first = loaded.manifests[0]!;
  return await seedSharesOf(
    engine,
    backend,
    await transitionHash(await manifestHash(first), GENESIS_TRANSITION),
    parseManifest(first).SeedshareOwnerPubKeys,
    undefined,
  );
}

/**
 * The seed-share document to serve for the history starting at `firstTransition`: `served` when
 * this process already serves one of this seed, else a new one made from the seed for the first
 * manifest's seedshare owners (`undefined` without owners). The stored document is never served:
 * it is an annex of host-provided storage, readable and replaceable by whoever writes the store,
 * and a seed cannot tell its own document from one that keeps its `Salt` but encrypts another
 * seed (RSA-OAEP is randomised), so a replaced one reached a retried first `set` as the owner's
 * only `seed-shares.json`. The stored one is replaced when it is not of this seed (its `Salt`
 * differs, or it is missing or malformed): a replica that lost a concurrent first `set` stores its
 * own seed's shares under the same transition, and a seedshare owner who relies on the stored
 * document (recovery mode, where nothing can be verified) needs this seed's. One of this seed's
 * salt is left, so replicas (each serving its own) do not overwrite each other's.
 */
async function seedSharesOf(
  engine: SeedEngine,
  backend: HistoryBackend,
  firstTransition: Uint8Array,
  ownerKeys: readonly string[],
  served: Uint8Array | undefined,
): Promise<Uint8Array | undefined> {
  if (ownerKeys.length === 0) return undefined;
  const own = served ?? new TextEncoder().encode(
    encodeSeedShares(await createSeedShares(engine, ownerKeys)),
  );
  const stored = await backend.getObject("seedshares", encodeHex(firstTransition));
  if (!stored || saltOf(stored) !== encodeHex(engine.salt())) {
    await backend.putObject("seedshares", encodeHex(firstTransition), own);
  }
  return own;
}

/** The `Salt` of a stored seed-share document, or `undefined` when it does not parse. */
function saltOf(document: Uint8Array): string | undefined {
  try {
    return parseSeedShares(document).Salt.toLowerCase();
  } catch {
    return undefined;
  }
}

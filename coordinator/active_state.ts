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
  /** The stored seed-share document of this history, when there is one. */
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
  const chain = await history.chain();
  const last = chain.at(-1);
  if (!last) throw new HistoryCorruptionError("transitions/latest", "the history is empty");
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
  const seedShares = options.repairSeedShares === false
    ? await history.store.getSeedShares(chain[0]!.transitionHash)
    : await seedSharesOf(
      engine,
      backend,
      chain[0]!.transitionHash,
      parseManifest(chain[0]!.manifestBytes).SeedshareOwnerPubKeys,
    );
  return {
    history,
    ca: await CertificateAuthority.forTransition(engine, last.transitionHash),
    manifest: manifest!,
    transition: last.transitionHash,
    manifests: chain.map((e) => e.manifestBytes),
    signatures: chain.map((e) => e.ownerSignature ?? new Uint8Array()),
    policies,
    ...(seedShares ? { seedShares } : {}),
  };
}

/**
 * The seed-share document of `loaded` (the state {@link loadActiveState} loaded with
 * `repairSeedShares: false`), repaired as {@link loadActiveState} does by default: called once
 * the caller accepted the seed.
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
  );
}

/**
 * The seed-share document of the history starting at `firstTransition`, repaired when the stored
 * one is not of this seed (its `Salt` differs, or it is missing or malformed): a new one is made
 * for the first manifest's seedshare owners and stored. The annex is replaceable by anyone who
 * writes the store: a replica that lost a concurrent first `set` stores its own seed's shares under
 * the same transition, and the infrastructure may replace it; a seedshare owner who relies on the
 * stored document (a retried `set`, `recover` without `seed-shares.json`) needs this seed's.
 */
async function seedSharesOf(
  engine: SeedEngine,
  backend: HistoryBackend,
  firstTransition: Uint8Array,
  ownerKeys: readonly string[],
): Promise<Uint8Array | undefined> {
  const stored = await backend.getObject("seedshares", encodeHex(firstTransition));
  if (stored && saltOf(stored) === encodeHex(engine.salt())) return stored;
  if (ownerKeys.length === 0) return undefined;
  const fresh = new TextEncoder().encode(
    encodeSeedShares(await createSeedShares(engine, ownerKeys)),
  );
  await backend.putObject("seedshares", encodeHex(firstTransition), fresh);
  return fresh;
}

/** The `Salt` of a stored seed-share document, or `undefined` when it does not parse. */
function saltOf(document: Uint8Array): string | undefined {
  try {
    return parseSeedShares(document).Salt.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Helpers for tests that run several Coordinator replicas on one (possibly host-controlled)
 * history storage: the parts they share, starting a replica in a simulated VM, setting a
 * manifest, serving the mesh API and reading the seed back from stored seed shares.
 *
 * @module
 */
import "reflect-metadata";
import { concatBytes, decodeHex, encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import {
  DEFAULT_SERVICE_CONFIG,
  type RunningService,
  startService,
} from "../../coordinator/service.ts";
import { Coordinator, type CoordinatorOptions } from "../../coordinator/coordinator.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { Logger } from "../../util/log/logger.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { GENESIS_TRANSITION } from "../../manifest/hash.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import {
  parseManifestRequest,
  type RecoverRequest,
  RECOVERY_HPKE_INFO,
} from "../../protocol/messages.ts";
import { sealTo } from "../../protocol/hpke.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import {
  decryptSeedShare,
  importSeedshareOwnerPrivateKey,
  parseSeedShares,
  type SeedShareDocument,
} from "../../seed/seed_shares.ts";
import {
  importSeedshareOwnerSigningKey,
  recoveryMessage,
  signRecovery,
} from "../../protocol/signatures.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import type { HistoryBackend } from "../../coordinator/history/backend.ts";
import { loadActiveState } from "../../coordinator/active_state.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { type Deployment, deployment, MEASUREMENT } from "./fixture.ts";

/** The options the Coordinators of one test share. */
export type SharedParts = Pick<
  CoordinatorOptions,
  "parseManifest" | "verifyEvidence" | "logger" | "metrics"
>;

/** What every Coordinator a test starts shares: one verifier, metrics and a quiet logger. */
export function sharedParts(loggerName: string): SharedParts {
  const verifiers = new ManifestVerifiers();
  return {
    parseManifest,
    verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
    logger: new Logger(loggerName, { sink: () => {} }),
    metrics: new CoordinatorMetrics(),
  };
}

/**
 * Starts a Coordinator on `backend` in a simulated VM whose initdata digest is `hostData`;
 * `extra` adds or replaces options.
 */
export async function startOn(
  d: Deployment,
  backend: CoordinatorOptions["historyBackend"],
  hostData: Uint8Array,
  parts: SharedParts,
  extra: Partial<CoordinatorOptions> = {},
): Promise<Coordinator> {
  return await Coordinator.start({
    evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
      hostData,
      measurement: await MEASUREMENT,
    }),
    historyBackend: backend,
    ...parts,
    ...extra,
  });
}

/**
 * Serves `coordinator`'s APIs on free loopback ports with the default limits (the transit API too,
 * on a free port: the default 8200 made two tests serving at once under `deno test --parallel`
 * fail with EADDRINUSE).
 */
export async function serveOnLoopback(
  coordinator: Coordinator,
  parts: SharedParts,
): Promise<RunningService> {
  const transit = { ...DEFAULT_SERVICE_CONFIG.transit!, port: 0 };
  return await startService(
    coordinator,
    {
      ...DEFAULT_SERVICE_CONFIG,
      host: "127.0.0.1",
      userPort: 0,
      meshPort: 0,
      probePort: 0,
      transit,
    },
    parts.logger,
    parts.metrics,
  );
}

/**
 * Sets the owner-signed manifest `bytes` on `c` after the transition `previous`, with the
 * deployment's initdata documents that `bytes` lists as policies.
 */
export async function setManifest(
  d: Deployment,
  c: Coordinator,
  bytes: Uint8Array,
  previous: Uint8Array = GENESIS_TRANSITION,
) {
  return await c.setManifest(parseManifestRequest({
    manifest: encodeBase64(bytes),
    policies: (await policiesOf(d, bytes)).map(encodeBase64),
    previous_transition: encodeHex(previous),
    signature: await d.ownerSignature(bytes, previous),
  }));
}

/** The initdata documents of the deployment that `bytes` lists as policies. */
async function policiesOf(d: Deployment, bytes: Uint8Array): Promise<Uint8Array[]> {
  const listed = Object.keys(parseManifest(bytes).Policies);
  const docs = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
  const out = [];
  for (const doc of docs) if (listed.includes(encodeHex(await sha256(doc)))) out.push(doc);
  return out;
}

/** Decrypts the stored seed-share document `stored` with the deployment's seed-share owner key. */
async function recoverSeed(d: Deployment, stored: Uint8Array) {
  const pem = d.seedshareOwner.pem;
  return await decryptSeedShare(
    parseSeedShares(stored),
    await importSeedshareOwnerPrivateKey(pem),
    (await importSeedshareOwnerSigningKey(pem)).publicKeyDer,
  );
}

/**
 * Registers a test (sanitizers off: the Coordinators' servers and timers outlive it) that gets
 * the simulated deployment, the parts its replicas share (logging as `loggerName`) and their
 * empty shared history storage.
 */
export function replicaTest(
  name: string,
  loggerName: string,
  fn: (d: Deployment, parts: SharedParts, shared: MemoryHistoryBackend) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () =>
      await fn(await deployment(), sharedParts(loggerName), new MemoryHistoryBackend()),
  });
}

/**
 * Serves `peer`'s APIs on loopback while `fn` runs with the address of its mesh API, and closes
 * them afterwards, whether `fn` succeeded or not.
 */
export async function whileServing(
  peer: Coordinator,
  parts: SharedParts,
  fn: (meshAddress: string) => Promise<void>,
): Promise<void> {
  const service = await serveOnLoopback(peer, parts);
  try {
    await fn(`127.0.0.1:${service.meshPort}`);
  } finally {
    await service.close();
  }
}

/**
 * Starts a replica on `shared` in a simulated VM whose initdata digest is `hostData` (default:
 * the coordinator policy's) and recovers it from the peer at `meshAddress`.
 */
export async function recoveredReplica(
  d: Deployment,
  shared: CoordinatorOptions["historyBackend"],
  parts: SharedParts,
  meshAddress: string,
  hostData: Uint8Array = d.coordinator.digest,
): Promise<Coordinator> {
  const replica = await startOn(d, shared, hostData, parts);
  await replica.recoverFromPeer(meshAddress);
  return replica;
}

/**
 * What the seedshare owner sends to recover a Coordinator whose attested HPKE key is
 * `hpkePublicKey` (hex): the seed and salt of `shares`, sealed to that key and bound to the latest
 * transition `latest`, with the owner's signature over the request.
 */
export async function ownerRecoveryRequest(
  d: Deployment,
  shares: SeedShareDocument,
  hpkePublicKey: string,
  latest: Uint8Array,
): Promise<RecoverRequest> {
  const signing = await importSeedshareOwnerSigningKey(d.seedshareOwner.pem);
  const recovered = await decryptSeedShare(
    shares,
    await importSeedshareOwnerPrivateKey(d.seedshareOwner.pem),
    signing.publicKeyDer,
  );
  const hpkeKey = decodeHex(hpkePublicKey);
  const sealed = await sealTo(
    hpkeKey,
    concatBytes(recovered.seed, recovered.salt),
    RECOVERY_HPKE_INFO,
    latest,
  );
  return {
    sealedSeed: sealed,
    ownerPublicKey: signing.publicKeyDer,
    signature: await signRecovery(signing, recoveryMessage(hpkeKey, latest, sealed)),
  };
}

/**
 * Loads the history in `backend` with the seed of the seed-share document `stored` (decrypted
 * with the deployment's seedshare owner key), as a Coordinator recovered with it would: throws
 * when that seed does not sign the stored history.
 */
export async function loadWithSeedShares(
  d: Deployment,
  stored: Uint8Array,
  backend: HistoryBackend,
  options?: Parameters<typeof loadActiveState>[3],
) {
  const recovered = await recoverSeed(d, stored);
  return await loadActiveState(
    SeedEngine.fromSeed(recovered.seed, recovered.salt),
    backend,
    parseManifest,
    options,
  );
}

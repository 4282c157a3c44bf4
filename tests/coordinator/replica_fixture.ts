/**
 * Helpers for tests that run several Coordinator replicas on one (possibly host-controlled)
 * history storage: the parts they share, starting a replica in a simulated VM, setting a
 * manifest, serving the mesh API and reading the seed back from stored seed shares.
 *
 * @module
 */
import "reflect-metadata";
import { encodeBase64, encodeHex, sha256 } from "../../util/bytes/mod.ts";
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
import { parseManifestRequest } from "../../protocol/messages.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import {
  decryptSeedShare,
  importSeedshareOwnerPrivateKey,
  parseSeedShares,
} from "../../seed/seed_shares.ts";
import { importSeedshareOwnerSigningKey } from "../../protocol/signatures.ts";
import { type Deployment, MEASUREMENT } from "./fixture.ts";

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

/** Starts a Coordinator on `backend` in a simulated VM whose initdata digest is `hostData`. */
export async function startOn(
  d: Deployment,
  backend: CoordinatorOptions["historyBackend"],
  hostData: Uint8Array,
  parts: SharedParts,
): Promise<Coordinator> {
  return await Coordinator.start({
    evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
      hostData,
      measurement: await MEASUREMENT,
    }),
    historyBackend: backend,
    ...parts,
  });
}

/** Serves `coordinator`'s APIs on free loopback ports with the default limits. */
export async function serveOnLoopback(
  coordinator: Coordinator,
  parts: SharedParts,
): Promise<RunningService> {
  return await startService(
    coordinator,
    { ...DEFAULT_SERVICE_CONFIG, host: "127.0.0.1", userPort: 0, meshPort: 0, probePort: 0 },
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
export async function recoverSeed(d: Deployment, stored: Uint8Array) {
  const pem = d.seedshareOwner.pem;
  return await decryptSeedShare(
    parseSeedShares(stored),
    await importSeedshareOwnerPrivateKey(pem),
    (await importSeedshareOwnerSigningKey(pem)).publicKeyDer,
  );
}

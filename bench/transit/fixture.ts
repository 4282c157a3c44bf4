/**
 * Transit KMS benchmark and test aids: an in-process Coordinator with the transit API on a free loopback port
 * and its manifest set (the simulated deployment, with `web` owning `web-secret` and `db` owning
 * `db-secret`), and pod credentials issued by that Coordinator's own mesh CA.
 *
 * @module
 */
import "reflect-metadata";
import { encodeBase64, encodeHex, encodePem } from "../../util/bytes/mod.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryHistoryBackend } from "../../coordinator/history/memory_backend.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { type ServiceConfig, startService } from "../../coordinator/service.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../coordinator/http/connection_limits.ts";
import { parseTransitSans } from "../../coordinator/transit/server.ts";
import type { TransitView } from "../../coordinator/transit/view.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { Logger } from "../../util/log/logger.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { type Deployment, deployment, MEASUREMENT } from "../../testing/simulation/deployment.ts";

/** Loopback service settings with every port (transit included) chosen by the OS. */
export const TRANSIT_SERVICE_CONFIG: ServiceConfig = {
  host: "127.0.0.1",
  userPort: 0,
  meshPort: 0,
  probePort: 0,
  maxUserBodyBytes: 16 * 1024 * 1024,
  maxMeshBodyBytes: 256 * 1024,
  requestTimeoutMs: 10_000,
  connections: DEFAULT_CONNECTION_LIMITS,
  transit: { port: 0, sans: parseTransitSans(["localhost", "127.0.0.1"]), maxBodyBytes: 1 << 20 },
};

/** TLS credentials of a transit client. */
export interface ClientCredentials {
  /** Certificate chain PEM. */
  readonly certPem: string;
  /** Private key PEM. */
  readonly keyPem: string;
}

/**
 * A mesh certificate for a pod whose evidence carried `hostData`, issued by `view`'s CA exactly
 * as `issueMeshCertificate` issues it after verifying evidence (the evidence step is covered by
 * the Coordinator and end-to-end tests; this aid serves tests of the transit API alone).
 */
export async function podCredentials(
  view: TransitView,
  hostData: Uint8Array,
): Promise<ClientCredentials> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const leaf = await view.ca.issueLeaf({
    publicKey: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
    sans: [{ kind: "dns", value: "pod" }],
    claims: {
      platform: "snp",
      hostData,
      measurement: await MEASUREMENT,
      reportData: new Uint8Array(64),
      referenceValueIndex: 0,
      details: {},
    },
  });
  return {
    certPem: leaf.chainPem,
    keyPem: encodePem(
      "PRIVATE KEY",
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
    ),
  };
}

/** The deployment's manifest with `db` owning `db-secret`; `edit` may change it further. */
export function manifestWithDbSecret(
  d: Deployment,
  edit?: (m: Record<string, unknown>) => void,
): Uint8Array {
  return d.manifest((m) => {
    const policies = m.Policies as Record<string, { WorkloadSecretID: string }>;
    policies[encodeHex(d.pods.db!.digest)]!.WorkloadSecretID = "db-secret";
    edit?.(m);
  });
}

/** A Coordinator (memory history, simulated SNP) serving `config`, with the manifest set. */
export async function startTransitCoordinator(config: ServiceConfig = TRANSIT_SERVICE_CONFIG) {
  const d = await deployment();
  const logs: string[] = [];
  const logger = new Logger("coordinator", { format: "json", sink: (l) => logs.push(l) });
  const metrics = new CoordinatorMetrics();
  const verifiers = new ManifestVerifiers();
  const coordinator = await Coordinator.start({
    evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
      hostData: d.coordinator.digest,
      measurement: await MEASUREMENT,
    }),
    historyBackend: new MemoryHistoryBackend(),
    parseManifest,
    verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
    logger,
    metrics,
  });
  const service = await startService(coordinator, config, logger, metrics);
  const manifest = manifestWithDbSecret(d);
  await coordinator.setManifest(parseManifestRequest({
    manifest: encodeBase64(manifest),
    policies: [d.coordinator.doc, d.pods.web!.doc, d.pods.db!.doc].map(encodeBase64),
    previous_transition: "00".repeat(32),
    signature: await d.ownerSignature(manifest),
  }));
  await service.transitReady();
  return { d, coordinator, service, logs, close: () => service.close() };
}

/**
 * Test fixture for Coordinator tests: the simulated deployment of `testing/simulation/deployment.ts`
 * and an in-process Coordinator serving it.
 *
 * @module
 */
import "reflect-metadata";
import type { ServiceConfig } from "../../coordinator/service.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../coordinator/http/connection_limits.ts";
import { type Deployment, MEASUREMENT } from "../../testing/simulation/deployment.ts";

export {
  type Deployment,
  deployment,
  initdata,
  MEASUREMENT,
  snpAuthority,
  withCoordinatorPolicy,
  withoutPolicy,
} from "../../testing/simulation/deployment.ts";

/** Service settings for tests: every port free and chosen by the OS, on 127.0.0.1 only. */
export const LOOPBACK_SERVICE_CONFIG: ServiceConfig = {
  host: "127.0.0.1",
  userPort: 0,
  meshPort: 0,
  probePort: 0,
  maxUserBodyBytes: 16 * 1024 * 1024,
  maxMeshBodyBytes: 256 * 1024,
  requestTimeoutMs: 10_000,
  connections: DEFAULT_CONNECTION_LIMITS,
};

/**
 * A simulated TDX authority, manifest verifiers that take its collateral, and a reference value
 * its default TD meets (MRTD 11…11, TCB UpToDate, its root pinned).
 */
export async function simulatedTdx() {
  const { SimulatedTdxAuthority } = await import("../../testing/tdx/authority.ts");
  const { StaticTdxCollateral } = await import("../../tdx/verify/collateral_bundle.ts");
  const { ManifestVerifiers } = await import("../../manifest/verifiers.ts");
  const tdx = await SimulatedTdxAuthority.generate();
  const verifiers = new ManifestVerifiers({
    simulatedTdxCollateral: new StaticTdxCollateral(await tdx.collateral()),
  });
  const reference = {
    Platform: "Simulated-TDX",
    MrTd: "11".repeat(48),
    MinTCBEvaluationDataNumber: 0,
    AllowedTcbStatuses: ["UpToDate"],
    SimulatedRootSHA256: await tdx.rootFingerprint(),
  };
  return { tdx, verifiers, reference };
}

/** An in-process Coordinator on free ports, for tests that need no separate process. */
export async function inProcessCoordinator(
  d: Deployment,
  options: {
    verifiers?: import("../../manifest/verifiers.ts").ManifestVerifiers;
    /** Service settings (default {@link LOOPBACK_SERVICE_CONFIG}: no transit API). */
    service?: ServiceConfig;
    /** Per-client budget of uncached vendor lookups (default: the Coordinator's). */
    vendorLookupBudget?: import("../../collateral/lookup_budget.ts").VendorLookupBudget;
  } = {},
) {
  const { Coordinator } = await import("../../coordinator/coordinator.ts");
  const { SimulatedSnpEvidenceSource } = await import("../../testing/simulated_evidence.ts");
  const { MemoryHistoryBackend } = await import("../../coordinator/history/memory_backend.ts");
  const { ManifestVerifiers } = await import("../../manifest/verifiers.ts");
  const { parseManifest } = await import("../../manifest/manifest.ts");
  const { Logger } = await import("../../util/log/logger.ts");
  const { CoordinatorMetrics } = await import("../../coordinator/http/metrics.ts");
  const { startService } = await import("../../coordinator/service.ts");
  const verifiers = options.verifiers ?? new ManifestVerifiers();
  const logs: string[] = [];
  const logger = new Logger("coordinator", { format: "json", sink: (l) => logs.push(l) });
  const metrics = new CoordinatorMetrics();
  const backend = new MemoryHistoryBackend();
  const boot = async () => {
    const coordinator = await Coordinator.start({
      evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
        hostData: d.coordinator.digest,
        measurement: await MEASUREMENT,
      }),
      historyBackend: backend,
      parseManifest,
      verifyEvidence: (m, e, o) => verifiers.verify(m, e, o),
      logger,
      metrics,
      ...(options.vendorLookupBudget ? { vendorLookupBudget: options.vendorLookupBudget } : {}),
    });
    const service = await startService(
      coordinator,
      options.service ?? LOOPBACK_SERVICE_CONFIG,
      logger,
      metrics,
    );
    return { coordinator, service };
  };
  let { coordinator, service } = await boot();
  return {
    get coordinator() {
      return coordinator;
    },
    logs,
    metrics,
    /** The history storage shared by restarts (and by replicas in tests). */
    backend,
    get userAddress() {
      return `127.0.0.1:${service.userPort}`;
    },
    get meshAddress() {
      return `127.0.0.1:${service.meshPort}`;
    },
    /** The running servers (ports, transit readiness). */
    get service() {
      return service;
    },
    /** Stops this process's Coordinator and starts a new one on the same history (no seed). */
    async restart() {
      await service.close();
      ({ coordinator, service } = await boot());
    },
    /** Sets `bytes` (default: the deployment's manifest) as the first manifest. */
    async setFirstManifest(bytes: Uint8Array = d.manifest()) {
      const { parseManifestRequest } = await import("../../protocol/messages.ts");
      const { encodeBase64 } = await import("../../util/bytes/mod.ts");
      return await coordinator.setManifest(parseManifestRequest({
        manifest: encodeBase64(bytes),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: "00".repeat(32),
        signature: await d.ownerSignature(bytes),
      }));
    },
    close: () => service.close(),
  };
}

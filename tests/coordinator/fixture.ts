/**
 * Test fixture for Coordinator tests: a simulated SNP authority, owner keys, initdata documents
 * and a manifest that accepts exactly this authority's evidence.
 *
 * @module
 */
import "reflect-metadata";
import { digest, encodeHex, encodePem, sha256 } from "../../bytes/mod.ts";
import { encodeInitdataToml } from "../../policy/initdata.ts";
import { SimulatedSnpAuthority } from "../../snp/simulated/authority.ts";
import type { SnpReferenceValue } from "../../snp/reference_values.ts";

/** The launch measurement every simulated VM of the fixture reports. */
export const MEASUREMENT: Promise<Uint8Array> = digest(
  "SHA-384",
  new TextEncoder().encode("contrast test guest firmware"),
);

let authority: Promise<SimulatedSnpAuthority> | undefined;

/** One simulated SNP authority per test process (RSA-2048 to keep tests fast). */
export function snpAuthority(): Promise<SimulatedSnpAuthority> {
  authority ??= SimulatedSnpAuthority.generate({ rsaBits: 2048 });
  return authority;
}

/** An initdata document holding `policy`. */
export function initdata(policy: string): Uint8Array {
  return encodeInitdataToml({ "policy.rego": `package agent_policy\n# ${policy}\n` });
}

/** Keys and documents of one deployment. */
export interface Deployment {
  /** The Coordinator's initdata and its digest. */
  readonly coordinator: { doc: Uint8Array; digest: Uint8Array };
  /** Workload pods by name. */
  readonly pods: Record<string, { doc: Uint8Array; digest: Uint8Array }>;
  /** Workload owner P-384 key (PKCS#8 PEM) and its public DER hex. */
  readonly workloadOwner: { pem: string; publicHex: string };
  /** Seedshare owner RSA key (PKCS#8 PEM) and its public DER hex. */
  readonly seedshareOwner: { pem: string; publicHex: string };
  /** The simulated authority. */
  readonly authority: SimulatedSnpAuthority;
  /** Builds manifest bytes; `edit` may change the JSON object first. */
  manifest(edit?: (m: Record<string, unknown>) => void): Uint8Array;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/** A fresh deployment: coordinator + `web` (with a workload secret) + `db` pods. */
export async function deployment(): Promise<Deployment> {
  const auth = await snpAuthority();
  const doc = async (name: string) => {
    const d = initdata(name);
    return { doc: d, digest: await sha256(d) };
  };
  const owner = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-384" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const share = await crypto.subtle.generateKey(
    {
      name: "RSA-OAEP",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["encrypt", "decrypt"],
  ) as CryptoKeyPair;
  const coordinator = await doc("coordinator");
  const pods = { web: await doc("web"), db: await doc("db") };
  const workloadOwner = {
    pem: await pkcs8Pem(owner.privateKey),
    publicHex: encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", owner.publicKey))),
  };
  const seedshareOwner = {
    pem: await pkcs8Pem(share.privateKey),
    publicHex: encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", share.publicKey))),
  };
  const reference: SnpReferenceValue = auth.referenceValue({
    TrustedMeasurement: encodeHex(await MEASUREMENT),
  });
  return {
    coordinator,
    pods,
    workloadOwner,
    seedshareOwner,
    authority: auth,
    manifest(edit) {
      const m: Record<string, unknown> = {
        Policies: {
          [encodeHex(coordinator.digest)]: {
            SANs: ["coordinator"],
            WorkloadSecretID: "",
            Role: "coordinator",
          },
          [encodeHex(pods.web.digest)]: {
            SANs: ["web", "127.0.0.1"],
            WorkloadSecretID: "web-secret",
            Role: "",
          },
          [encodeHex(pods.db.digest)]: { SANs: ["db"], WorkloadSecretID: "", Role: "" },
        },
        ReferenceValues: { snp: [reference] },
        WorkloadOwnerPubKeys: [workloadOwner.publicHex],
        SeedshareOwnerPubKeys: [seedshareOwner.publicHex],
      };
      edit?.(m);
      return new TextEncoder().encode(JSON.stringify(m, null, 2));
    },
  };
}

/** An in-process Coordinator on free ports, for tests that need no separate process. */
export async function inProcessCoordinator(
  d: Deployment,
  options: { verifiers?: import("../../manifest/verifiers.ts").ManifestVerifiers } = {},
) {
  const { Coordinator } = await import("../../coordinator/coordinator.ts");
  const { SimulatedSnpEvidenceSource } = await import("../../coordinator/simulated_evidence.ts");
  const { MemoryHistoryBackend } = await import("../../coordinator/history/memory_backend.ts");
  const { ManifestVerifiers } = await import("../../manifest/verifiers.ts");
  const { parseManifest } = await import("../../manifest/manifest.ts");
  const { Logger } = await import("../../coordinator/logger.ts");
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
    });
    const service = await startService(
      coordinator,
      {
        host: "127.0.0.1",
        userPort: 0,
        meshPort: 0,
        probePort: 0,
        maxUserBodyBytes: 16 * 1024 * 1024,
        maxMeshBodyBytes: 256 * 1024,
        requestTimeoutMs: 10_000,
      },
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
    /** Stops this process's Coordinator and starts a new one on the same history (no seed). */
    async restart() {
      await service.close();
      ({ coordinator, service } = await boot());
    },
    /** Sets `bytes` (default: the deployment's manifest) as the first manifest. */
    async setFirstManifest(bytes: Uint8Array = d.manifest()) {
      const { parseManifestRequest } = await import("../../coordinator/api/messages.ts");
      const { encodeBase64 } = await import("../../bytes/mod.ts");
      return await coordinator.setManifest(parseManifestRequest({
        manifest: encodeBase64(bytes),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: "00".repeat(32),
        signature: "",
      }));
    },
    close: () => service.close(),
  };
}

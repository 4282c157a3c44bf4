/**
 * A simulated deployment for local runs, load tests and tests: a simulated SNP (or TDX)
 * authority, owner keys, initdata documents (a Coordinator and two workload pods) and a manifest
 * that accepts exactly this authority's evidence. Nothing here is trusted by production code paths: the
 * manifest names the simulated root explicitly.
 *
 * @module
 */
import "reflect-metadata";
import { digest, encodeHex, encodePem, sha256 } from "../../util/bytes/mod.ts";
import { encodeInitdataToml } from "../../policy/initdata.ts";
import { encodeCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";
import { SimulatedSnpAuthority } from "../snp/authority.ts";
import { SimulatedTdxAuthority } from "../tdx/authority.ts";
import type { SnpReferenceValue } from "../../snp/reference_values.ts";
import { SIMULATED_TDX_PLATFORM } from "../../tdx/reference_values.ts";
import { generateRsaOaepKeys } from "../keys.ts";

/** The launch measurement every simulated VM of the deployment reports. */
export const MEASUREMENT: Promise<Uint8Array> = digest(
  "SHA-384",
  new TextEncoder().encode("contrast test guest firmware"),
);

let authority: Promise<SimulatedSnpAuthority> | undefined;

/**
 * One simulated SNP authority per process (RSA-2048 to keep key generation fast), created on
 * first use and shared by every {@link deployment} of the process.
 */
export function snpAuthority(): Promise<SimulatedSnpAuthority> {
  authority ??= SimulatedSnpAuthority.generate({ rsaBits: 2048 });
  return authority;
}

let tdxAuthorityOfProcess: Promise<SimulatedTdxAuthority> | undefined;

/** One simulated TDX authority per process, created on first use (see {@link snpAuthority}). */
function tdxAuthority(): Promise<SimulatedTdxAuthority> {
  tdxAuthorityOfProcess ??= SimulatedTdxAuthority.generate();
  return tdxAuthorityOfProcess;
}

/** The simulated TEE a deployment's pods run in. */
export type SimulatedPlatform = "snp" | "tdx";

/** An initdata document holding a policy that is the comment `policy`. */
export function initdata(policy: string): Uint8Array {
  return encodeInitdataToml({ "policy.rego": `package agent_policy\n# ${policy}\n` });
}

/**
 * {@link initdata} with the policy's comment padded by further comment lines to at least
 * `policyBytes` bytes of policy text (a generated policy is rules + data, ~120 KB a pod), so
 * that what a Coordinator serves and hashes per policy has a deployment's size.
 */
function paddedInitdata(policy: string, policyBytes: number): Uint8Array {
  const head = `package agent_policy\n# ${policy}\n`;
  const line = `# ${"padding ".repeat(12)}\n`;
  const lines = Math.max(0, Math.ceil((policyBytes - head.length) / line.length));
  return encodeInitdataToml({ "policy.rego": head + line.repeat(lines) });
}

/** Options of {@link deployment}. */
export interface DeploymentOptions {
  /**
   * Pad every policy to at least this many bytes (default 0: the one-line policies of the
   * tests).
   */
  readonly policyBytes?: number;
}

/** Keys and documents of one deployment. */
/**
 * An edit for {@link Deployment.manifest} that lists the initdata digest `digest` as one more
 * coordinator policy (another Coordinator version's, as while one version replaces another).
 */
export function withCoordinatorPolicy(digest: Uint8Array): (m: Record<string, unknown>) => void {
  return (m) => {
    (m.Policies as Record<string, unknown>)[encodeHex(digest)] = {
      SANs: ["coordinator"],
      WorkloadSecretID: "",
      Role: "coordinator",
    };
  };
}

/**
 * An edit for {@link Deployment.manifest} that drops the policy of initdata digest `digest` (as an
 * owner does who removes a pod, say one whose image turned out vulnerable).
 */
export function withoutPolicy(digest: Uint8Array): (m: Record<string, unknown>) => void {
  return (m) => {
    delete (m.Policies as Record<string, unknown>)[encodeHex(digest)];
  };
}

export interface Deployment {
  /** The Coordinator's initdata and its digest. */
  readonly coordinator: { doc: Uint8Array; digest: Uint8Array };
  /** Workload pods by name. */
  readonly pods: Record<string, { doc: Uint8Array; digest: Uint8Array }>;
  /** Workload owner P-384 key (PKCS#8 PEM) and its public DER hex. */
  readonly workloadOwner: { pem: string; publicHex: string };
  /** Seedshare owner RSA key (PKCS#8 PEM) and its public DER hex. */
  readonly seedshareOwner: { pem: string; publicHex: string };
  /** The simulated TEE its pods run in (default `snp`). */
  readonly platform: SimulatedPlatform;
  /** The simulated SNP authority (signs the pods' evidence when `platform` is `snp`). */
  readonly authority: SimulatedSnpAuthority;
  /** The simulated TDX authority (only when `platform` is `tdx`; it signs the pods' quotes). */
  readonly tdxAuthority?: SimulatedTdxAuthority;
  /** Builds manifest bytes; `edit` may change the JSON object first. */
  manifest(edit?: (m: Record<string, unknown>) => void): Uint8Array;
  /**
   * The initializers' trust document for this deployment's Coordinator (its policy digest and
   * the manifest's reference values), as `contrast generate` would pin it.
   */
  coordinatorTrust(): string;
  /**
   * hex of the workload owner's signature over the transition of `manifest` after `previous`
   * (default: the first transition), as `contrast set` sends it.
   */
  ownerSignature(manifest: Uint8Array, previous?: Uint8Array): Promise<string>;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}
/**
 * The manifest's reference values of a deployment on `platform`: the simulated authority's root
 * and {@link MEASUREMENT} (SNP launch measurement or TDX MRTD).
 */
async function referenceValues(
  platform: SimulatedPlatform,
  snp: SimulatedSnpAuthority,
  tdx: SimulatedTdxAuthority | undefined,
): Promise<{ snp: SnpReferenceValue[]; tdx: Record<string, unknown>[] }> {
  const measurement = encodeHex(await MEASUREMENT);
  if (platform === "snp") {
    return { snp: [snp.referenceValue({ TrustedMeasurement: measurement })], tdx: [] };
  }
  return {
    snp: [],
    tdx: [{
      Platform: SIMULATED_TDX_PLATFORM,
      MrTd: measurement,
      MinTCBEvaluationDataNumber: 0,
      AllowedTcbStatuses: ["UpToDate"],
      SimulatedRootSHA256: await tdx!.rootFingerprint(),
    }],
  };
}

/**
 * A fresh deployment: coordinator + `web` (with a workload secret) + `db` pods, on simulated SNP
 * (default) or TDX.
 */
export async function deployment(
  platform: SimulatedPlatform = "snp",
  options: DeploymentOptions = {},
): Promise<Deployment> {
  const auth = await snpAuthority();
  const tdx = platform === "tdx" ? await tdxAuthority() : undefined;
  const policyBytes = options.policyBytes ?? 0;
  const doc = async (name: string) => {
    const d = policyBytes > 0 ? paddedInitdata(name, policyBytes) : initdata(name);
    return { doc: d, digest: await sha256(d) };
  };
  const owner = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-384" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const share = await generateRsaOaepKeys();
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
  const reference = await referenceValues(platform, auth, tdx);
  return {
    coordinator,
    pods,
    workloadOwner,
    seedshareOwner,
    platform,
    authority: auth,
    ...(tdx ? { tdxAuthority: tdx } : {}),
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
        ReferenceValues: reference,
        WorkloadOwnerPubKeys: [workloadOwner.publicHex],
        SeedshareOwnerPubKeys: [seedshareOwner.publicHex],
      };
      edit?.(m);
      return new TextEncoder().encode(JSON.stringify(m, null, 2));
    },
    async ownerSignature(bytes, previous = GENESIS_TRANSITION) {
      const key = await importWorkloadOwnerKey(workloadOwner.pem);
      const transition = await transitionHash(await manifestHash(bytes), previous);
      return encodeHex(await signManifestUpdate(key, transition));
    },
    coordinatorTrust() {
      return encodeCoordinatorTrust(encodeHex(coordinator.digest), reference, [
        workloadOwner.publicHex,
      ]);
    },
  };
}

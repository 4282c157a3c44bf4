/**
 * What a pod needs to attest the Coordinator without a manifest: the Coordinator's policy digest
 * (its pod's initdata digest, which the hardware reports as SNP `HOST_DATA` / TDX `MRCONFIGID`)
 * and the hardware reference values its evidence must meet.
 *
 * `contrast generate` writes this into every initializer it injects, as the environment variable
 * `CONTRAST_COORDINATOR_TRUST` holding canonical JSON (object keys sorted, no whitespace):
 * ```
 * {"CoordinatorPolicyHash":"<64 hex>","ReferenceValues":{"snp":[…],"tdx":[…]},
 *  "WorkloadOwnerPubKeys":["<hex PKIX DER>",…]}
 * ```
 * `WorkloadOwnerPubKeys` pins the workload owners: the pod accepts a Coordinator only if its
 * manifest history is a chain of owner-signed manifests and some transition of it is signed by
 * one of these keys, so an infrastructure that wipes the Coordinator's state and sets a manifest
 * of its own is refused (see `protocol/owner_chain.ts`).
 * The variable is a literal of the pod spec, so the pod's policy pins its exact value and the
 * Kata agent refuses an initializer started with any other: the host cannot change whom the pod
 * trusts. There is no circular dependency: the Coordinator's own pod gets no initializer, so its
 * digest is known before the workloads' policies are built.
 *
 * @module
 */
import { InvalidDocumentError } from "../util/errors/mod.ts";
import { decodeHex } from "../util/bytes/mod.ts";
import { readEcdsaPublicKey } from "../manifest/public_keys.ts";
import { IssueList, ObjectReader, parseJsonText } from "../util/json/mod.ts";
import type { Manifest, ReferenceValues } from "../manifest/manifest.ts";
import { readSnpReferenceValue, type SnpReferenceValue } from "../snp/reference_values.ts";
import { readTdxReferenceValue, type TdxReferenceValue } from "../tdx/reference_values.ts";

/** The environment variable of the initializer that carries the trust document. */
export const COORDINATOR_TRUST_ENV = "CONTRAST_COORDINATOR_TRUST";

const POLICY_DIGEST = /^[0-9a-f]{64}$/;

/** Reference values as JSON (the manifest's `ReferenceValues`, before parsing). */
interface ReferenceValuesJson {
  /** SNP entries. */
  readonly snp: readonly unknown[];
  /** TDX entries. */
  readonly tdx: readonly unknown[];
}

/** A parsed trust document: whom the initializer accepts as its Coordinator. */
export interface CoordinatorTrust {
  /** Lower-case hex SHA-256 initdata digest of the Coordinator's policy. */
  readonly policyHash: string;
  /** The hardware reference values the Coordinator's evidence must meet. */
  readonly referenceValues: ReferenceValues<SnpReferenceValue, TdxReferenceValue>;
  /** Lower-case hex PKIX DER of the workload owner keys whose signature the history must carry. */
  readonly workloadOwnerKeys: readonly string[];
  /**
   * A one-policy manifest equivalent to the trust document (its only policy is the Coordinator's,
   * with role `coordinator`), for {@link import("./coordinator_client.ts").attestCoordinator}.
   * Its `bytes` are the trust document's UTF-8 text.
   */
  readonly manifest: Manifest;
}

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new InvalidDocumentError([{ path: "(value)", reason: "not a finite number" }]);
  }
  return JSON.stringify(value);
}

/**
 * The trust document for a Coordinator whose policy digest is `policyHash` and whose evidence
 * must meet `referenceValues`, as canonical JSON (the value of {@link COORDINATOR_TRUST_ENV}).
 * The result is checked by {@link parseCoordinatorTrust}, so what is written can be read back.
 *
 * @throws {InvalidDocumentError} naming the field when the digest or a reference value is invalid
 */
export function encodeCoordinatorTrust(
  policyHash: string,
  referenceValues: ReferenceValuesJson,
  workloadOwnerKeys: readonly string[],
): string {
  const text = canonicalJson({
    CoordinatorPolicyHash: policyHash,
    ReferenceValues: { snp: referenceValues.snp, tdx: referenceValues.tdx },
    WorkloadOwnerPubKeys: workloadOwnerKeys,
  });
  parseCoordinatorTrust(text);
  return text;
}

/**
 * Parses a trust document strictly: JSON object with exactly `CoordinatorPolicyHash` (64
 * lower-case hex digits), `ReferenceValues` (`snp` and `tdx` lists read by the manifest's
 * readers, at least one entry, a simulated platform only with its root's fingerprint) and
 * `WorkloadOwnerPubKeys` (at least one ECDSA P-256/P-384/P-521 PKIX DER key, lower-case hex).
 *
 * @param text the document (the value of {@link COORDINATOR_TRUST_ENV})
 * @param source what the text came from, prefixed to every problem's path
 * @throws {InvalidDocumentError} naming every problem with its path
 */
export function parseCoordinatorTrust(
  text: string,
  source: string = COORDINATOR_TRUST_ENV,
): CoordinatorTrust {
  const json = parseJsonText(text, source);
  const issues = new IssueList();
  const root = new ObjectReader(json, source, issues);
  const policyHash = root.string("CoordinatorPolicyHash");
  if (policyHash !== undefined && !POLICY_DIGEST.test(policyHash)) {
    issues.add(
      `${source}.CoordinatorPolicyHash`,
      "expected a SHA-256 digest: 64 lower-case hex digits",
    );
  }
  const referenceValues = root.object("ReferenceValues", (rv) => {
    const snp = rv.array("snp", (v, p) => readSnpReferenceValue(v, p, issues), false) ?? [];
    const tdx = rv.array("tdx", (v, p) => readTdxReferenceValue(v, p, issues), false) ?? [];
    if (issues.empty && snp.length === 0 && tdx.length === 0) {
      issues.add(rv.path, "at least one snp or tdx reference value is required");
    }
    return { snp, tdx };
  });
  const workloadOwnerKeys = root.array("WorkloadOwnerPubKeys", (v, p) => {
    if (typeof v !== "string" || !/^([0-9a-f]{2})+$/.test(v)) {
      issues.add(p, "expected a PKIX DER public key as lower-case hex");
      return undefined;
    }
    const info = readEcdsaPublicKey(decodeHex(v, p));
    if ("error" in info) {
      issues.add(p, `not a workload owner key: ${info.error}`);
      return undefined;
    }
    return v;
  }) ?? [];
  if (issues.empty && workloadOwnerKeys.length === 0) {
    issues.add(
      `${source}.WorkloadOwnerPubKeys`,
      "at least one workload owner key is required: it is what the pod checks the history against",
    );
  }
  root.finish();
  issues.throwIfAny();
  const manifest: Manifest = {
    Policies: {
      [policyHash!]: { SANs: [], sans: [], WorkloadSecretID: "", Role: "coordinator" },
    },
    ReferenceValues: referenceValues!,
    WorkloadOwnerPubKeys: [],
    WorkloadOwnerKeyDigests: [],
    SeedshareOwnerPubKeys: [],
    bytes: new TextEncoder().encode(text),
  };
  return {
    policyHash: policyHash!,
    referenceValues: referenceValues!,
    workloadOwnerKeys: workloadOwnerKeys.filter((k): k is string => k !== undefined),
    manifest,
  };
}

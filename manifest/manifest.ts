/**
 * The manifest: which pod policies may run, which hardware reference values are accepted, who may
 * update it and who receives seed shares. Field names are Contrast's, so users can move between
 * the two. Parsing is strict: unknown fields, wrong types, bad hex, a missing or repeated
 * coordinator role and empty reference values are errors, each naming its JSON path, all reported
 * together in one {@link InvalidDocumentError}.
 *
 * @module
 */
import { decodeHex } from "../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import {
  checkJsonShape,
  childPath,
  IssueList,
  jsonTypeOf,
  ObjectReader,
  parseJsonDocument,
} from "../util/json/mod.ts";
import { readSnpReferenceValue, type SnpReferenceValue } from "../snp/reference_values.ts";
import { readTdxReferenceValue, type TdxReferenceValue } from "../tdx/reference_values.ts";
import { readEcdsaPublicKey, readRsaPublicKey } from "./public_keys.ts";
import { classifySan, type SubjectAltName } from "./sans.ts";

/**
 * The role of a policy: the Coordinator's own policy, or an ordinary workload.
 *
 * @example Find the Coordinator's policies
 * ```ts
 * import type { Manifest, PolicyRole } from "./mod.ts";
 *
 * function digestsWithRole(manifest: Manifest, role: PolicyRole): string[] {
 *   return Object.entries(manifest.Policies).filter(([, e]) => e.Role === role).map(([d]) => d);
 * }
 * ```
 */
export type PolicyRole = "" | "coordinator";

/**
 * One entry of `Policies`: what a pod running that policy gets.
 *
 * @example List the DNS names a policy's certificates get
 * ```ts
 * import type { PolicyEntry } from "./mod.ts";
 *
 * function dnsNames(entry: PolicyEntry): string[] {
 *   return entry.sans.filter((s) => s.kind === "dns").map((s) => s.value);
 * }
 * ```
 */
export interface PolicyEntry {
  /** The SANs exactly as written in the manifest. */
  readonly SANs: readonly string[];
  /** The SANs classified for certificates (same order as {@link PolicyEntry.SANs}). */
  readonly sans: readonly SubjectAltName[];
  /** Workload secret id (`""`: the pod gets no workload secret). */
  readonly WorkloadSecretID: string;
  /** `"coordinator"` for the Coordinator's own policy, `""` otherwise. */
  readonly Role: PolicyRole;
}

/**
 * Reference values, per platform; evidence is accepted if any entry of its platform matches.
 *
 * @example How many SNP entries a manifest accepts
 * ```ts
 * import type { Manifest } from "./mod.ts";
 *
 * function snpEntries(manifest: Manifest): number {
 *   return manifest.ReferenceValues.snp.length;
 * }
 * ```
 */
export interface ReferenceValues<Snp, Tdx> {
  /** The entries for SEV-SNP. */
  readonly snp: readonly Snp[];
  /** The entries for TDX. */
  readonly tdx: readonly Tdx[];
}

/**
 * Reads one reference-value entry at `path`, recording every problem in `issues`; returns
 * `undefined` when the entry is invalid. The SNP and TDX modules provide one each.
 */
export type ReferenceValueReader<T> = (
  value: unknown,
  path: string,
  issues: IssueList,
) => T | undefined;

/** The readers of the two platforms' reference-value entries. */
export interface ReferenceValueReaders<Snp, Tdx> {
  /** Reads one SNP entry. */
  readonly snp: ReferenceValueReader<Snp>;
  /** Reads one TDX entry. */
  readonly tdx: ReferenceValueReader<Tdx>;
}

/**
 * A parsed manifest, with the exact bytes it was parsed from (hashes are over these bytes).
 *
 * @example Whether a manifest allows updates
 * ```ts
 * import type { Manifest } from "./mod.ts";
 *
 * function updatable(manifest: Manifest): boolean {
 *   return manifest.WorkloadOwnerPubKeys.length > 0; // empty: nobody may update it
 * }
 * ```
 */
export interface Manifest<Snp = SnpReferenceValue, Tdx = TdxReferenceValue> {
  /** Allowed policies by lower-case hex SHA-256 digest of their initdata document. */
  readonly Policies: Readonly<Record<string, PolicyEntry>>;
  /** Accepted hardware reference values. */
  readonly ReferenceValues: ReferenceValues<Snp, Tdx>;
  /**
   * Lower-case hex PKIX DER ECDSA keys allowed to update the manifest (with
   * {@link Manifest.WorkloadOwnerKeyDigests} the owner set; both empty: no updates).
   */
  readonly WorkloadOwnerPubKeys: readonly string[];
  /**
   * Older Contrast releases' way to name owners: lower-case hex SHA-256 digests of PKIX DER ECDSA
   * keys (see `workload_owners.ts`); `[]` when absent.
   */
  readonly WorkloadOwnerKeyDigests: readonly string[];
  /** Lower-case hex PKIX DER RSA keys that receive seed shares. */
  readonly SeedshareOwnerPubKeys: readonly string[];
  /** The exact bytes the manifest was parsed from. */
  readonly bytes: Uint8Array;
}

const POLICY_DIGEST = /^[0-9a-f]{64}$/;
const KEY_DIGEST = /^[0-9a-fA-F]{64}$/;

function readPolicyEntry(reader: ObjectReader): PolicyEntry | undefined {
  const path = reader.path;
  const issues = reader.issues;
  const SANs = reader.array("SANs", (value, p) => {
    if (typeof value !== "string") {
      issues.add(p, `expected a string, got ${jsonTypeOf(value)}`);
      return undefined;
    }
    return value;
  });
  const WorkloadSecretID = reader.string("WorkloadSecretID", false) ?? "";
  const roleValue = reader.string("Role", false) ?? "";
  let Role: PolicyRole | undefined;
  if (roleValue === "" || roleValue === "coordinator") Role = roleValue;
  else {
    issues.add(
      childPath(path, "Role"),
      `expected "" or "coordinator", got ${JSON.stringify(roleValue)}`,
    );
  }
  if (SANs === undefined || Role === undefined) return undefined;
  const sans: SubjectAltName[] = [];
  const seen = new Set<string>();
  SANs.forEach((san, i) => {
    const sanPath = childPath(childPath(path, "SANs"), i);
    if (seen.has(san)) issues.add(sanPath, `duplicate SAN ${JSON.stringify(san)}`);
    seen.add(san);
    const classified = classifySan(san);
    if ("error" in classified) issues.add(sanPath, classified.error);
    else sans.push(classified);
  });
  if (sans.length !== SANs.length) return undefined;
  return { SANs, sans, WorkloadSecretID, Role };
}

function readPolicies(
  value: unknown,
  path: string,
  issues: IssueList,
): Record<string, PolicyEntry> {
  const reader = new ObjectReader(value, path, issues);
  const policies: Record<string, PolicyEntry> = {};
  if (!reader.ok) return policies;
  const coordinators: string[] = [];
  for (const digest of reader.keys()) {
    const entryPath = childPath(path, digest);
    if (!POLICY_DIGEST.test(digest)) {
      issues.add(entryPath, "policy key must be a SHA-256 digest: 64 lower-case hex digits");
      reader.raw(digest);
      continue;
    }
    const entry = reader.object(digest, readPolicyEntry);
    if (entry === undefined) continue;
    policies[digest] = entry;
    if (entry.Role === "coordinator") coordinators.push(digest);
  }
  if (reader.keys().length === 0) issues.add(path, "at least one policy is required");
  // Several coordinator policies are allowed (a Coordinator upgrade runs old and new side by
  // side); at least one is required.
  if (coordinators.length === 0 && reader.keys().length > 0) {
    issues.add(path, 'at least one policy with Role "coordinator" is required, found none');
  }
  return policies;
}

function readKeyList(
  reader: ObjectReader,
  key: string,
  check: (der: Uint8Array) => { error: string } | object,
): string[] | undefined {
  const seen = new Set<string>();
  return reader.array(key, (value, p) => {
    if (typeof value !== "string") {
      reader.issues.add(p, `expected a hex string, got ${jsonTypeOf(value)}`);
      return undefined;
    }
    let der: Uint8Array;
    try {
      der = decodeHex(value, p);
    } catch {
      reader.issues.add(p, "expected a hex string of a PKIX DER public key");
      return undefined;
    }
    const result = check(der);
    if ("error" in result) {
      reader.issues.add(p, result.error);
      return undefined;
    }
    const hex = value.toLowerCase();
    if (seen.has(hex)) {
      reader.issues.add(p, "duplicate key");
      return undefined;
    }
    seen.add(hex);
    return hex;
  }, false);
}

/** `WorkloadOwnerKeyDigests`: 64 hex digits each (either case, kept lower-case), no repeats. */
function readKeyDigestList(reader: ObjectReader): string[] | undefined {
  const seen = new Set<string>();
  return reader.array("WorkloadOwnerKeyDigests", (value, p) => {
    if (typeof value !== "string" || !KEY_DIGEST.test(value)) {
      reader.issues.add(
        p,
        `expected a SHA-256 digest (64 hex digits) of a PKIX DER key, got ${
          typeof value === "string" ? JSON.stringify(value) : jsonTypeOf(value)
        }`,
      );
      return undefined;
    }
    const hex = value.toLowerCase();
    if (seen.has(hex)) {
      reader.issues.add(p, "duplicate key digest");
      return undefined;
    }
    seen.add(hex);
    return hex;
  }, false);
}

/**
 * Shape bound of a manifest, checked before it is parsed: ~50,000 policies fit (a policy is a key
 * and three or four members), owner keys and reference values a handful each. A first manifest is
 * parsed before any signature can be checked (it names its own owners), so without the bound one
 * unauthenticated `/manifest` could have a Coordinator parse 24 MiB of nested brackets (1.5 GB of
 * memory) or 8 million `WorkloadOwnerPubKeys` entries (92 s of CPU).
 */
const MANIFEST_JSON_SHAPE = { maxKeys: 262_144, maxDepth: 32, maxSeparators: 262_144 } as const;

/** @throws {InvalidDocumentError} when `bytes` exceed {@link MANIFEST_JSON_SHAPE} */
function refuseOversizedShape(bytes: Uint8Array): void {
  try {
    checkJsonShape(bytes, MANIFEST_JSON_SHAPE, "(root)");
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    throw new InvalidDocumentError([{ path: "(root)", reason: error.reason }], { cause: error });
  }
}

/**
 * Parses a manifest strictly from its exact JSON bytes.
 *
 * @param bytes the manifest exactly as sent or stored (kept in the result for hashing)
 * @param readers the SNP and TDX reference-value entry readers
 * @throws {InvalidDocumentError} listing every problem with its JSON path
 */
export function parseManifestWith<Snp, Tdx>(
  bytes: Uint8Array,
  readers: ReferenceValueReaders<Snp, Tdx>,
): Manifest<Snp, Tdx> {
  refuseOversizedShape(bytes);
  const json = parseJsonDocument(bytes);
  const issues = new IssueList();
  const root = new ObjectReader(json, "", issues);
  const policiesValue = root.raw("Policies");
  const Policies = policiesValue === undefined
    ? {}
    : readPolicies(policiesValue, "Policies", issues);
  const ReferenceValues = root.object("ReferenceValues", (rv) => {
    const snp = rv.array("snp", (v, p) => readers.snp(v, p, issues), false) ?? [];
    const tdx = rv.array("tdx", (v, p) => readers.tdx(v, p, issues), false) ?? [];
    if (isEmptyList(rv.raw("snp", false)) && isEmptyList(rv.raw("tdx", false))) {
      issues.add("ReferenceValues", "at least one snp or tdx reference value is required");
    }
    return { snp, tdx };
  });
  const WorkloadOwnerPubKeys = readKeyList(root, "WorkloadOwnerPubKeys", readEcdsaPublicKey) ?? [];
  const WorkloadOwnerKeyDigests = readKeyDigestList(root) ?? [];
  const SeedshareOwnerPubKeys = readKeyList(root, "SeedshareOwnerPubKeys", readRsaPublicKey) ?? [];
  root.finish();
  issues.throwIfAny();
  return {
    Policies,
    ReferenceValues: ReferenceValues!,
    WorkloadOwnerPubKeys,
    WorkloadOwnerKeyDigests,
    SeedshareOwnerPubKeys,
    bytes: bytes.slice(),
  };
}

/** The SNP and TDX modules' entry readers: what {@link parseManifest} uses. */
export const PLATFORM_REFERENCE_VALUE_READERS: ReferenceValueReaders<
  SnpReferenceValue,
  TdxReferenceValue
> = { snp: readSnpReferenceValue, tdx: readTdxReferenceValue };

/**
 * Parses a manifest strictly from its exact JSON bytes, reading reference values with the SNP
 * and TDX modules' readers (a simulated platform entry must name `SimulatedRootSHA256`).
 *
 * @example
 * ```ts
 * import { parseManifest } from "./mod.ts";
 *
 * const manifest = parseManifest(await Deno.readFile("manifest.json"));
 * console.log(Object.keys(manifest.Policies));
 * ```
 *
 * @throws {InvalidDocumentError} listing every problem with its JSON path
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  return parseManifestWith(bytes, PLATFORM_REFERENCE_VALUE_READERS);
}

function isEmptyList(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0);
}

/** The digests of every policy with Role `coordinator` (a parsed manifest has at least one). */
export function coordinatorPolicyDigests(
  manifest: Pick<Manifest<unknown, unknown>, "Policies">,
): string[] {
  return Object.entries(manifest.Policies).filter(([, e]) => e.Role === "coordinator").map((
    [digest],
  ) => digest);
}

/**
 * The digest of the first policy with Role `coordinator` (a parsed manifest has at least one).
 *
 * @example The policy digest the Coordinator must run
 * ```ts
 * import { coordinatorPolicyDigest, parseManifest } from "./mod.ts";
 *
 * function coordinatorDigest(manifestBytes: Uint8Array): string {
 *   return coordinatorPolicyDigest(parseManifest(manifestBytes));
 * }
 * ```
 */
export function coordinatorPolicyDigest(
  manifest: Pick<Manifest<unknown, unknown>, "Policies">,
): string {
  for (const [digest, entry] of Object.entries(manifest.Policies)) {
    if (entry.Role === "coordinator") return digest;
  }
  throw new InvalidDocumentError([{ path: "Policies", reason: "no coordinator policy" }]);
}

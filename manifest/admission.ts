/**
 * What the Coordinator admits beyond a well-formed manifest, checked before anything is stored
 * (every refusal names its JSON path):
 *
 * - no SNP reference value may allow a debug guest (`GuestPolicy.Debug`) or a migration agent
 *   (`GuestPolicy.MigrateMA`): either lets the host read or move the guest's memory, so no owner
 *   signature makes such a manifest acceptable;
 * - likewise no TDX reference value may pin TD attributes with a TD-under-debug bit (bits 0–7,
 *   `DEBUG` among them: the host reads and changes the TD's memory and state) or `MIGRATABLE`
 *   (its state may be exported through a migration TD); without `TdAttributes` the default check
 *   already refuses both;
 * - an update must keep the policy the running Coordinator runs as a `coordinator` policy:
 *   otherwise `contrast verify`, recovery and every pod would refuse this Coordinator. To move to
 *   a new Coordinator policy, first add it next to the running one (several coordinator policies
 *   are allowed), roll the Coordinator, then drop the old one;
 * - an update's `SeedshareOwnerPubKeys` must be keys the seed shares were made for (the first
 *   manifest's: shares are made once, with the seed), and at least one of them when there are
 *   any: recovery takes a signature by a key of the latest manifest and that key's share, so a key
 *   without a share could never recover, and a manifest without any holder of one left the
 *   deployment unrecoverable after the next restart of every replica.
 *
 * @module
 */
import type { FieldIssue } from "../util/errors/mod.ts";
import { InvalidDocumentError } from "../util/errors/mod.ts";
import type { Manifest } from "./manifest.ts";
import { decodeHex } from "../util/bytes/mod.ts";
import { sameRsaPublicKey } from "./public_keys.ts";
import { TD_ATTRIBUTE_BITS } from "../tdx/validate/td_attributes.ts";

/** Whether `bit` of 8-byte little-endian TD attributes is set. */
function isTdAttributeSet(attributes: Uint8Array, bit: number): boolean {
  return ((attributes[bit >> 3] ?? 0) & (1 << (bit & 7))) !== 0;
}

/** What an admission check knows besides the new manifest. */
interface AdmissionContext {
  /**
   * Lower-case hex digest of the policy the running Coordinator runs (its launch configuration
   * digest); when given, an update must keep it as a coordinator policy.
   */
  readonly runningCoordinatorPolicy?: string;
  /** Whether this is an update (a current manifest exists). */
  readonly update: boolean;
  /**
   * For an update: the `SeedshareOwnerPubKeys` of the history's first manifest, the keys the seed
   * shares were made for.
   */
  readonly seedShareKeys?: readonly string[];
}

/** The problems of an update's seedshare owners against the keys holding seed shares. */
function seedshareOwnerIssues(manifest: Manifest, shareKeys: readonly string[]): FieldIssue[] {
  const holds = (hex: string) =>
    shareKeys.some((k) => sameRsaPublicKey(decodeHex(k), decodeHex(hex)));
  const issues: FieldIssue[] = [];
  manifest.SeedshareOwnerPubKeys.forEach((hex, i) => {
    if (!holds(hex)) {
      issues.push({
        path: `SeedshareOwnerPubKeys[${i}]`,
        reason: "holds no seed share: seed shares are made once, for the first manifest's " +
          "seedshare owners, so this key could never recover the Coordinator",
      });
    }
  });
  if (shareKeys.length > 0 && manifest.SeedshareOwnerPubKeys.length === 0) {
    issues.push({
      path: "SeedshareOwnerPubKeys",
      reason: "keeps none of the keys holding seed shares: no one could recover the Coordinator " +
        "after a restart",
    });
  }
  return issues;
}

/** Every admission problem of `manifest`, with its JSON path. */
function admissionIssues(manifest: Manifest, context: AdmissionContext): FieldIssue[] {
  const issues: FieldIssue[] = [];
  manifest.ReferenceValues.snp.forEach((value, i) => {
    const path = `ReferenceValues.snp[${i}].GuestPolicy`;
    if (value.GuestPolicy.Debug) {
      issues.push({
        path: `${path}.Debug`,
        reason: "a debug guest is refused: the host can read and change its memory",
      });
    }
    if (value.GuestPolicy.MigrateMA) {
      issues.push({
        path: `${path}.MigrateMA`,
        reason: "a migration agent is refused: it can move the guest's memory out of the TEE",
      });
    }
  });
  manifest.ReferenceValues.tdx.forEach((value, i) => {
    const attributes = value.TdAttributes;
    if (attributes === undefined) return;
    const path = `ReferenceValues.tdx[${i}].TdAttributes`;
    if (attributes[0] !== 0) {
      issues.push({
        path,
        reason: "a TD under debug is refused (a bit of 0–7 is set, DEBUG among them): the host " +
          "can read and change its memory and state",
      });
    }
    if (isTdAttributeSet(attributes, TD_ATTRIBUTE_BITS.MIGRATABLE)) {
      issues.push({
        path,
        reason: "a migratable TD is refused (MIGRATABLE, bit 29): its state can be exported",
      });
    }
  });
  if (context.update && context.seedShareKeys !== undefined) {
    issues.push(...seedshareOwnerIssues(manifest, context.seedShareKeys));
  }
  const running = context.runningCoordinatorPolicy;
  if (context.update && running !== undefined) {
    const entry = manifest.Policies[running];
    if (entry?.Role !== "coordinator") {
      issues.push({
        path: entry ? `Policies.${running}.Role` : "Policies",
        reason: `the update does not keep the running Coordinator's policy ${running} as a ` +
          "coordinator policy (verify, recovery and pods would refuse this Coordinator): add the " +
          "new coordinator policy next to it first",
      });
    }
  }
  return issues;
}

/**
 * Refuses `manifest` when {@link admissionIssues} finds anything.
 *
 * @throws {InvalidDocumentError} listing every problem with its JSON path (HTTP 400)
 */
export function checkAdmission(manifest: Manifest, context: AdmissionContext): void {
  const issues = admissionIssues(manifest, context);
  if (issues.length > 0) throw new InvalidDocumentError(issues);
}

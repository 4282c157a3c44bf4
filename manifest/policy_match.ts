/**
 * Matching verified evidence to a manifest policy: the launch-configuration digest the hardware
 * vouches for (SNP `HOST_DATA`, TDX `MRCONFIGID`) must be the digest of a policy the manifest
 * allows. SNP `HOST_DATA` (32 bytes) equals the SHA-256 digest; TDX `MRCONFIGID` (48 bytes) is the
 * SHA-256 digest followed by 16 zero bytes (manifest policy keys are SHA-256 digests).
 *
 * @module
 */
import { constantTimeEqual, decodeHex, encodeHex } from "../util/bytes/mod.ts";
import { ValidationError } from "../util/errors/mod.ts";
import type { AttestationClaims, TeePlatform } from "../evidence/types.ts";
import type { Manifest, PolicyEntry } from "./manifest.ts";

/**
 * The policy a piece of evidence runs, as the manifest lists it.
 *
 * @example The workload secret id of the policy a pod runs
 * ```ts
 * import { type MatchedPolicy, matchPolicy, type Manifest } from "./mod.ts";
 *
 * import type { AttestationClaims } from "../evidence/mod.ts";
 *
 * function workloadSecretId(manifest: Manifest, claims: AttestationClaims): string {
 *   const matched: MatchedPolicy = matchPolicy(manifest, claims);
 *   return matched.entry.WorkloadSecretID;
 * }
 * ```
 */
export interface MatchedPolicy {
  /** Lower-case hex SHA-256 digest of the policy's initdata document. */
  readonly digest: string;
  /** The manifest's entry for that policy. */
  readonly entry: PolicyEntry;
}

/**
 * The `hostData` value evidence of `platform` carries for a policy with SHA-256 `digest`:
 * the digest itself on SNP, digest ‖ 16 zero bytes on TDX.
 *
 * @example HOST_DATA and MRCONFIGID of one policy digest
 * ```ts
 * import { expectedHostData } from "./mod.ts";
 *
 * const digest = new Uint8Array(32).fill(0xab);
 * console.log(expectedHostData("snp", digest).length, expectedHostData("tdx", digest).length); // 32 48
 * ```
 */
export function expectedHostData(platform: TeePlatform, digest: Uint8Array): Uint8Array {
  if (platform === "snp") return digest.slice();
  const out = new Uint8Array(48);
  out.set(digest);
  return out;
}

/**
 * Finds the manifest policy whose digest the claims' `hostData` carries.
 *
 * @throws {ValidationError} naming `hostData` when the digest is not an allowed policy or the
 *   value has the wrong length or shape for its platform
 *
 * @example Which manifest policy verified evidence runs
 * ```ts
 * import { type Manifest, matchPolicy } from "./mod.ts";
 *
 * function policyDigestOf(manifest: Manifest, hostData: Uint8Array): string {
 *   return matchPolicy(manifest, { platform: "snp", hostData }).digest; // throws if not listed
 * }
 * ```
 */
export function matchPolicy(
  manifest: Pick<Manifest<unknown, unknown>, "Policies">,
  claims: Pick<AttestationClaims, "platform" | "hostData">,
): MatchedPolicy {
  const expectedLength = claims.platform === "snp" ? 32 : 48;
  if (claims.hostData.length !== expectedLength) {
    throw new ValidationError(
      "hostData",
      `${claims.platform} launch configuration digest has the wrong length`,
      { expected: `${expectedLength} bytes`, actual: `${claims.hostData.length} bytes` },
    );
  }
  let found: MatchedPolicy | undefined;
  for (const [digest, entry] of Object.entries(manifest.Policies)) {
    const expected = expectedHostData(claims.platform, decodeHex(digest, "Policies", 32));
    if (constantTimeEqual(expected, claims.hostData)) found ??= { digest, entry };
  }
  if (!found) {
    throw new ValidationError(
      "hostData",
      "the evidence's policy digest is not a policy of the manifest",
      { expected: "one of the manifest's policies", actual: encodeHex(claims.hostData) },
    );
  }
  return found;
}

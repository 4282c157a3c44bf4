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
  return policyMatcher(manifest)(claims);
}

/**
 * {@link matchPolicy} for one manifest, its policy digests decoded once: for a verifier that
 * matches every piece of evidence against the same manifest (the manifest must not change).
 *
 * @throws {import("../util/errors/mod.ts").ParseError} naming `Policies` when a key is not a
 *   SHA-256 digest in hex
 *
 * @example Match many pieces of evidence against one manifest
 * ```ts
 * import { type Manifest } from "./mod.ts";
 * import { policyMatcher } from "./policy_match.ts";
 *
 * function digests(manifest: Manifest, hostData: Uint8Array[]): string[] {
 *   const match = policyMatcher(manifest);
 *   return hostData.map((h) => match({ platform: "snp", hostData: h }).digest);
 * }
 * ```
 */
export function policyMatcher(
  manifest: Pick<Manifest<unknown, unknown>, "Policies">,
): (claims: Pick<AttestationClaims, "platform" | "hostData">) => MatchedPolicy {
  const policies = Object.entries(manifest.Policies).map(([digest, entry]) => ({
    matched: { digest, entry } as MatchedPolicy,
    bytes: decodeHex(digest, "Policies", 32),
  }));
  return (claims) => {
    const expectedLength = claims.platform === "snp" ? 32 : 48;
    if (claims.hostData.length !== expectedLength) {
      throw new ValidationError(
        "hostData",
        `${claims.platform} launch configuration digest has the wrong length`,
        { expected: `${expectedLength} bytes`, actual: `${claims.hostData.length} bytes` },
      );
    }
    // HOST_DATA is the digest on SNP; MRCONFIGID is the digest ‖ 16 zero bytes on TDX.
    const digest = claims.hostData.subarray(0, 32);
    let padding = 0;
    for (let i = 32; i < claims.hostData.length; i++) padding |= claims.hostData[i]!;
    let found: MatchedPolicy | undefined;
    for (const { matched, bytes } of policies) {
      if (constantTimeEqual(bytes, digest) && padding === 0) found ??= matched;
    }
    if (!found) {
      throw new ValidationError(
        "hostData",
        "the evidence's policy digest is not a policy of the manifest",
        { expected: "one of the manifest's policies", actual: encodeHex(claims.hostData) },
      );
    }
    return found;
  };
}

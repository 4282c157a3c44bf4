/**
 * What a verdict must say about evidence besides "it matched the manifest": a match can still
 * attest no real TEE (a simulated root the manifest names, whose key its holder uses to make
 * evidence) or a guest the host can inspect (DEBUG permitted by the manifest: SNP guest policy
 * DEBUG, TDX TD_ATTRIBUTES.DEBUG). `contrast verify` prints both, so an auditor does not take such
 * a Coordinator for a confidential one.
 *
 * @module
 */
import { decodeHex } from "../util/bytes/mod.ts";
import type { AttestationClaims } from "../evidence/types.ts";
import { vendorRootNamed } from "../evidence/vendor_roots.ts";
import { decodeGuestPolicy } from "../snp/abi/policy.ts";
import { tdDebugEnabled } from "../tdx/validate/validate_quote.ts";

/** The caveats of verified evidence. */
interface AttestationCaveats {
  /** hex SHA-256 of the root the evidence chains to. */
  readonly rootSha256: string;
  /** The root is not a vendor's (AMD ARK, Intel SGX Root CA): no real TEE was attested. */
  readonly simulatedRoot: boolean;
  /** The guest permits debugging: the host can read and write its memory. */
  readonly debug: boolean;
}

/**
 * The caveats of `claims` (verified claims, as the SNP and TDX verifiers return them).
 *
 * @example Warn about a Coordinator that is not confidential
 * ```ts
 * import type { AttestationClaims } from "../evidence/types.ts";
 * import { attestationCaveats } from "./attestation_caveats.ts";
 *
 * function warnings(claims: AttestationClaims): string[] {
 *   const c = attestationCaveats(claims);
 *   return [...(c.simulatedRoot ? ["simulated root"] : []), ...(c.debug ? ["DEBUG"] : [])];
 * }
 * ```
 */
export function attestationCaveats(claims: AttestationClaims): AttestationCaveats {
  const d = claims.details;
  const rootSha256 = d.rootSha256 ?? d.rootFingerprint ?? "";
  const debug = claims.platform === "snp"
    ? d.policy !== undefined && decodeGuestPolicy(BigInt(d.policy)).debug
    : d.tdAttributes !== undefined && tdDebugEnabled(decodeHex(d.tdAttributes));
  return { rootSha256, simulatedRoot: vendorRootNamed(rootSha256) === undefined, debug };
}

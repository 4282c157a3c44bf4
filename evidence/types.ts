/**
 * The one interface between attestation evidence and the rest of contrast: evidence in,
 * verified claims (or a typed error) out. SNP and TDX each implement {@link EvidenceVerifier};
 * the manifest's reference values select and configure them.
 *
 * @module
 */
import type { LookupAllowance } from "../collateral/lookup_budget.ts";

/**
 * The TEE platforms contrast verifies.
 *
 * @example Branch on the platform
 * ```ts
 * import type { Evidence, TeePlatform } from "./mod.ts";
 *
 * function platformOf(evidence: Evidence): TeePlatform {
 *   return evidence.platform; // "snp" or "tdx"
 * }
 * console.log(platformOf({ platform: "tdx", report: new Uint8Array() }));
 * ```
 */
export type TeePlatform = "snp" | "tdx";

/**
 * Evidence as it travels between a guest and a verifier.
 *
 * @example SNP evidence as a guest sends it
 * ```ts
 * import type { Evidence } from "./mod.ts";
 *
 * function snpEvidence(report: Uint8Array, certificateTable: Uint8Array): Evidence {
 *   return { platform: "snp", report, aux: certificateTable };
 * }
 * console.log(snpEvidence(new Uint8Array(1184), new Uint8Array()).platform);
 * ```
 */
export interface Evidence {
  /** Which TEE produced it. */
  readonly platform: TeePlatform;
  /** The raw SNP attestation report (1184 bytes) or TDX quote. */
  readonly report: Uint8Array;
  /**
   * Extra material the guest obtained with the report: for SNP the configfs-tsm `auxblob`
   * (GUID certificate table with VCEK/VLEK, ASK, ARK); for TDX nothing is needed (the PCK chain
   * is inside the quote). Always untrusted: it is verified like everything else.
   */
  readonly aux?: Uint8Array;
}

/**
 * What a verifier vouches for after every signature, chain, TCB and reference-value check.
 *
 * @example Read what a verifier vouched for
 * ```ts
 * import type { AttestationClaims } from "./mod.ts";
 *
 * function summary(claims: AttestationClaims): string {
 *   return `${claims.platform} entry ${claims.referenceValueIndex}: ${JSON.stringify(claims.details)}`;
 * }
 * ```
 */
export interface AttestationClaims {
  /** Which TEE produced the evidence. */
  readonly platform: TeePlatform;
  /** The 64 bytes of report data the guest bound into the evidence. */
  readonly reportData: Uint8Array;
  /**
   * The launch-time configuration digest: SNP `HOST_DATA` (32 bytes) or TDX `MRCONFIGID`
   * (48 bytes). contrast puts the digest of the pod's initdata document here.
   */
  readonly hostData: Uint8Array;
  /** The launch measurement: SNP `MEASUREMENT` or TDX `MRTD` (48 bytes). */
  readonly measurement: Uint8Array;
  /** Index of the reference-value entry that matched. */
  readonly referenceValueIndex: number;
  /** Human-readable claims (hex and numbers), for certificate extensions, logs and `--json`. */
  readonly details: Readonly<Record<string, string>>;
}

/**
 * Options of one verification.
 *
 * @example Verify now, bound to a nonce
 * ```ts
 * import type { VerifyOptions } from "./mod.ts";
 *
 * const options: VerifyOptions = { reportData: crypto.getRandomValues(new Uint8Array(64)), now: new Date() };
 * console.log(options.reportData.length); // 64
 * ```
 */
export interface VerifyOptions {
  /** The report data the evidence must carry (exactly, all 64 bytes). */
  readonly reportData: Uint8Array;
  /** The time certificates and collateral are checked at. */
  readonly now: Date;
  /**
   * The budget of uncached vendor lookups the evidence's sender may still spend (the
   * Coordinator's per-client budget): a lookup the evidence chose (an SNP VCEK by chip ID and
   * TCB) that is in no cache takes a token, and the tokens come back once the evidence verified.
   * Absent: no per-client budget (the CLI verifying evidence of its own choosing).
   */
  readonly vendorLookups?: LookupAllowance;
}

/**
 * Verifies evidence of one platform against a list of reference values.
 *
 * @example Pick the verifier of the evidence's platform
 * ```ts
 * import type { AttestationClaims, Evidence, EvidenceVerifier } from "./mod.ts";
 *
 * async function verifyAny(
 *   verifiers: readonly EvidenceVerifier[],
 *   evidence: Evidence,
 *   reportData: Uint8Array,
 * ): Promise<AttestationClaims> {
 *   const verifier = verifiers.find((v) => v.platform === evidence.platform);
 *   if (!verifier) throw new Error(`no verifier for ${evidence.platform}`);
 *   return await verifier.verify(evidence, { reportData, now: new Date() });
 * }
 * ```
 */
export interface EvidenceVerifier {
  /** The platform this verifier handles. */
  readonly platform: TeePlatform;
  /**
   * Checks the evidence completely (signatures, vendor chain to a pinned root, revocation,
   * TCB, reference values, report data) and returns its claims.
   *
   * @throws {import("../util/errors/mod.ts").VerificationError} when it is not genuine
   * @throws {import("../util/errors/mod.ts").ValidationError} when it is genuine but does not match
   */
  verify(evidence: Evidence, options: VerifyOptions): Promise<AttestationClaims>;
}

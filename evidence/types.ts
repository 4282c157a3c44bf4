/**
 * The one interface between attestation evidence and the rest of contrast: evidence in,
 * verified claims (or a typed error) out. SNP and TDX each implement {@link EvidenceVerifier};
 * the manifest's reference values select and configure them.
 *
 * @module
 */

/** The TEE platforms contrast verifies. */
export type TeePlatform = "snp" | "tdx";

/** Evidence as it travels between a guest and a verifier. */
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

/** What a verifier vouches for after every signature, chain, TCB and reference-value check. */
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

/** Options of one verification. */
export interface VerifyOptions {
  /** The report data the evidence must carry (exactly, all 64 bytes). */
  readonly reportData: Uint8Array;
  /** The time certificates and collateral are checked at. */
  readonly now: Date;
}

/** Verifies evidence of one platform against a list of reference values. */
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

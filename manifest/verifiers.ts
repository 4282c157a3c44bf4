/**
 * From a manifest to evidence verification: the manifest's reference values configure the SNP
 * and TDX {@link EvidenceVerifier}s, and verified claims must carry the digest of one of the
 * manifest's policies (SNP `HOST_DATA` = digest, TDX `MRCONFIGID` = digest ‖ 16 zero bytes).
 * Evidence of a platform the manifest has no reference values for is rejected.
 *
 * @module
 */
import { ValidationError } from "../errors/mod.ts";
import type {
  AttestationClaims,
  Evidence,
  EvidenceVerifier,
  TeePlatform,
  VerifyOptions,
} from "../evidence/types.ts";
import { SnpEvidenceVerifier, type SnpEvidenceVerifierOptions } from "../snp/verifier.ts";
import { TdxEvidenceVerifier, type TdxEvidenceVerifierOptions } from "../tdx/verifier.ts";
import type { Manifest } from "./manifest.ts";
import { type MatchedPolicy, matchPolicy } from "./policy_match.ts";

/** What the verifiers need besides reference values: collateral sources and caches. */
export interface ManifestVerifierDeps {
  /** SNP verifier options (KDS collateral, chain cache, CRLs). */
  readonly snp?: Omit<SnpEvidenceVerifierOptions, "referenceValues" | "hostData">;
  /** TDX verifier options (PCS collateral, chain cache). */
  readonly tdx?: Omit<TdxEvidenceVerifierOptions, "referenceValues">;
}

/** Verified evidence with the manifest policy it runs. */
export interface ManifestVerification {
  /** The verified claims. */
  readonly claims: AttestationClaims;
  /** The manifest's policy entry whose digest the evidence carries. */
  readonly policy: MatchedPolicy;
}

/**
 * The verifiers of one manifest, built once and reused (they keep chain caches). Only platforms
 * with at least one reference value get a verifier.
 */
export class ManifestVerifiers {
  readonly #manifest: Pick<Manifest, "Policies">;
  readonly #verifiers: ReadonlyMap<TeePlatform, EvidenceVerifier>;

  /**
   * @param verifiers the platform verifiers to use (normally from {@link forManifest})
   */
  constructor(
    manifest: Pick<Manifest, "Policies">,
    verifiers: ReadonlyMap<TeePlatform, EvidenceVerifier>,
  ) {
    this.#manifest = manifest;
    this.#verifiers = verifiers;
  }

  /** SNP and TDX verifiers configured with the manifest's reference values. */
  static forManifest(
    manifest: Pick<Manifest, "Policies" | "ReferenceValues">,
    deps: ManifestVerifierDeps = {},
  ): ManifestVerifiers {
    const verifiers = new Map<TeePlatform, EvidenceVerifier>();
    if (manifest.ReferenceValues.snp.length > 0) {
      verifiers.set(
        "snp",
        new SnpEvidenceVerifier({ ...deps.snp, referenceValues: manifest.ReferenceValues.snp }),
      );
    }
    if (manifest.ReferenceValues.tdx.length > 0) {
      verifiers.set(
        "tdx",
        new TdxEvidenceVerifier({ ...deps.tdx, referenceValues: manifest.ReferenceValues.tdx }),
      );
    }
    return new ManifestVerifiers(manifest, verifiers);
  }

  /** The platforms this manifest accepts evidence from. */
  get platforms(): TeePlatform[] {
    return [...this.#verifiers.keys()];
  }

  /**
   * Verifies `evidence` completely and finds the manifest policy it runs.
   *
   * @throws {ValidationError} naming `ReferenceValues.<platform>` when the manifest accepts no
   *   evidence of that platform, or `hostData` when the policy digest is not in the manifest
   * @throws {import("../errors/mod.ts").VerificationError} when the evidence is not genuine
   */
  async verify(evidence: Evidence, options: VerifyOptions): Promise<ManifestVerification> {
    const verifier = this.#verifiers.get(evidence.platform);
    if (!verifier) {
      throw new ValidationError(
        `ReferenceValues.${evidence.platform}`,
        `the manifest has no ${evidence.platform} reference values`,
      );
    }
    const claims = await verifier.verify(evidence, options);
    if (claims.platform !== evidence.platform) {
      throw new ValidationError("platform", "verifier returned claims of another platform", {
        expected: evidence.platform,
        actual: claims.platform,
      });
    }
    return { claims, policy: matchPolicy(this.#manifest, claims) };
  }
}

/**
 * Verifies `evidence` against `manifest` in one call (builds fresh verifiers; keep a
 * {@link ManifestVerifiers} to reuse caches).
 */
export function verifyEvidenceAgainstManifest(
  manifest: Pick<Manifest, "Policies" | "ReferenceValues">,
  evidence: Evidence,
  options: VerifyOptions,
  deps: ManifestVerifierDeps = {},
): Promise<ManifestVerification> {
  return ManifestVerifiers.forManifest(manifest, deps).verify(evidence, options);
}

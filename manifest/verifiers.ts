/**
 * From a manifest to evidence verification: the manifest's reference values configure the SNP
 * and TDX {@link EvidenceVerifier}s, and verified claims must carry the digest of one of the
 * manifest's policies (SNP `HOST_DATA` = digest, TDX `MRCONFIGID` = digest ‖ 16 zero bytes).
 * Evidence of a platform the manifest has no reference values for is rejected.
 *
 * Collateral selection: vendor collateral (AMD KDS, Intel PCS) serves only real platforms, and
 * with AMD KDS configured the AMD CRL must be checked (a caller may opt out explicitly). A
 * manifest whose SNP entries are all simulated verifies against the root those entries name, with
 * the certificates the evidence carries (AMD's KDS is never asked; a KDS stand-in configured
 * explicitly, serving the simulated chain, is, for evidence without certificates); a manifest
 * whose TDX entries are all simulated uses the simulated TDX authority's collateral (its folder,
 * or a PCS stand-in configured explicitly, never Intel's PCS), which verifies only against the
 * simulated roots the entries name.
 *
 * @module
 */
import { RevocationMarks } from "../collateral/revocation_marks.ts";
import { ValidationError } from "../util/errors/mod.ts";
import type {
  AttestationClaims,
  Evidence,
  EvidenceVerifier,
  TeePlatform,
  VerifyOptions,
} from "../evidence/types.ts";
import { isSimulated } from "../snp/reference_values.ts";
import type { SnpCollateralSource } from "../snp/kds/source.ts";
import { SnpEvidenceVerifier, type SnpEvidenceVerifierOptions } from "../snp/verifier.ts";
import { SIMULATED_TDX_PLATFORM } from "../tdx/reference_values.ts";
import type { TdxCollateralSource } from "../tdx/verify/collateral_bundle.ts";
import { TdxEvidenceVerifier, type TdxEvidenceVerifierOptions } from "../tdx/verifier.ts";
import { ChainCache } from "../x509/chain_cache.ts";
import type { Manifest } from "./manifest.ts";
import { type MatchedPolicy, policyMatcher } from "./policy_match.ts";

/**
 * What the verifiers need besides reference values: collateral sources and caches.
 *
 * @example Opt out of SNP revocation checks explicitly
 * ```ts
 * import { ManifestVerifiers, type ManifestVerifiersOptions } from "./mod.ts";
 *
 * const options: ManifestVerifiersOptions = { snp: { requireRevocationCheck: false } };
 * const verifiers = new ManifestVerifiers(options);
 * ```
 */
export interface ManifestVerifiersOptions {
  /** Vendor collateral for real SNP platforms (AMD KDS through the collateral cache). */
  readonly snpCollateral?: SnpCollateralSource;
  /** Vendor collateral for real TDX platforms (Intel PCS or an offline bundle). */
  readonly tdxCollateral?: TdxCollateralSource;
  /**
   * Collateral signed by a simulated TDX authority (its TCB info, QE identity and CRLs), for
   * manifests whose TDX entries are all simulated.
   */
  readonly simulatedTdxCollateral?: TdxCollateralSource;
  /**
   * A KDS stand-in for manifests whose SNP entries are all simulated: given the simulated roots
   * those entries name, a collateral source that accepts only chains ending in one of them. Set
   * only when a KDS base URL was configured explicitly (never AMD's own, which knows no
   * simulated chip); without it simulated evidence must carry its certificates.
   */
  readonly simulatedSnpCollateral?: (roots: readonly string[]) => SnpCollateralSource;
  /**
   * A PCS stand-in for manifests whose TDX entries are all simulated (when no
   * {@link simulatedTdxCollateral} is set): given the simulated roots those entries name, a
   * collateral source whose responses must chain to one of them. Set only when a PCS base URL was
   * configured explicitly (never Intel's own, which knows no simulated platform).
   */
  readonly simulatedTdxPcs?: (roots: readonly string[]) => TdxCollateralSource;
  /** Cache of verified chains shared by every manifest's verifiers (default: a new one). */
  readonly chainCache?: ChainCache;
  /**
   * Further SNP verifier settings (pinned certificates, extra CRLs, revocation rule). With
   * real SNP reference values, `requireRevocationCheck` defaults to true (as the TDX PCK CRL);
   * `false` is the explicit opt-out.
   */
  readonly snp?: Pick<
    SnpEvidenceVerifierOptions,
    "certificates" | "crls" | "requireRevocationCheck"
  >;
  /**
   * Further TDX verifier settings (verification cache, PCK CRL rule, revocation marks: default
   * one set in memory shared by every manifest's verifier).
   */
  readonly tdx?: Pick<
    TdxEvidenceVerifierOptions,
    "verificationCache" | "requirePckCrl" | "revocationMarks"
  >;
}

/**
 * Verified evidence with the manifest policy it runs.
 *
 * @example Log what was verified
 * ```ts
 * import type { ManifestVerification } from "./mod.ts";
 *
 * function describe(result: ManifestVerification): string {
 *   return `${result.claims.platform} pod running policy ${result.policy.digest}`;
 * }
 * ```
 */
export interface ManifestVerification {
  /** The verified claims. */
  readonly claims: AttestationClaims;
  /** The manifest's policy entry whose digest the evidence carries. */
  readonly policy: MatchedPolicy;
}

/**
 * Verifies evidence completely against a manifest (signatures, chains, TCB, report data, policy
 * digest) and returns its claims with the manifest policy it runs.
 *
 * @example Inject manifest verification into a component
 * ```ts
 * import { type ManifestEvidenceVerifier, ManifestVerifiers } from "./mod.ts";
 *
 * const verifiers = new ManifestVerifiers();
 * const verify: ManifestEvidenceVerifier = (manifest, evidence, options) =>
 *   verifiers.verify(manifest, evidence, options);
 * ```
 */
export type ManifestEvidenceVerifier = (
  manifest: Manifest,
  evidence: Evidence,
  options: VerifyOptions,
) => Promise<ManifestVerification>;

/**
 * The verifiers of one manifest: only platforms with at least one reference value get one.
 * Obtain it from {@link ManifestVerifiers.forManifest}.
 *
 * @example The platforms a manifest accepts
 * ```ts
 * import { ManifestVerifiers, type Manifest } from "./mod.ts";
 *
 * function platformsOf(manifest: Manifest) {
 *   return new ManifestVerifiers().forManifest(manifest).platforms; // e.g. [ "snp" ]
 * }
 * ```
 */
export class VerifiersOfManifest {
  readonly #matchPolicy: ReturnType<typeof policyMatcher>;
  readonly #verifiers: ReadonlyMap<TeePlatform, EvidenceVerifier>;

  /**
   * The verifiers of `manifest`.
   *
   * @param manifest the manifest whose policies evidence must carry
   * @param verifiers the platform verifiers configured with its reference values
   */
  constructor(
    manifest: Pick<Manifest, "Policies">,
    verifiers: ReadonlyMap<TeePlatform, EvidenceVerifier>,
  ) {
    this.#matchPolicy = policyMatcher(manifest);
    this.#verifiers = verifiers;
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
   * @throws {import("../util/errors/mod.ts").VerificationError} when the evidence is not genuine
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
    return { claims, policy: this.#matchPolicy(claims) };
  }
}

/**
 * Verifies evidence against whichever manifest is active: each manifest's verifiers are built
 * once and kept while the manifest object lives (they keep keys and chains cached), all sharing
 * one chain cache.
 *
 * @example Verify evidence against a manifest and learn the policy it runs
 * ```ts
 * import { ManifestVerifiers, parseManifest } from "./mod.ts";
 * import type { Evidence } from "../evidence/mod.ts";
 *
 * async function roleOf(manifestBytes: Uint8Array, evidence: Evidence, reportData: Uint8Array) {
 *   const verifiers = new ManifestVerifiers();
 *   const { policy } = await verifiers.verify(parseManifest(manifestBytes), evidence, {
 *     reportData,
 *     now: new Date(),
 *   });
 *   return policy;
 * }
 * ```
 */
export class ManifestVerifiers {
  readonly #options: ManifestVerifiersOptions;
  readonly #chainCache: ChainCache;
  readonly #revocationMarks: RevocationMarks;
  readonly #byManifest = new WeakMap<object, VerifiersOfManifest>();

  /**
   * Verifiers sharing collateral sources and caches.
   *
   * @param options collateral sources and caches shared by every manifest
   */
  constructor(options: ManifestVerifiersOptions = {}) {
    this.#options = options;
    this.#chainCache = options.chainCache ?? new ChainCache();
    this.#revocationMarks = options.tdx?.revocationMarks ?? new RevocationMarks();
  }

  /** The verifiers configured with `manifest`'s reference values (built on first use). */
  forManifest(manifest: Pick<Manifest, "Policies" | "ReferenceValues">): VerifiersOfManifest {
    let verifiers = this.#byManifest.get(manifest);
    if (!verifiers) {
      verifiers = new VerifiersOfManifest(manifest, this.#platformVerifiers(manifest));
      this.#byManifest.set(manifest, verifiers);
    }
    return verifiers;
  }

  /**
   * Verifies `evidence` against `manifest`: its reference values of the evidence's platform and
   * its policies.
   *
   * @throws {ValidationError} naming `ReferenceValues.<platform>` or `hostData` (see
   *   {@link VerifiersOfManifest.verify})
   * @throws {import("../util/errors/mod.ts").VerificationError} when the evidence is not genuine
   */
  verify(
    manifest: Pick<Manifest, "Policies" | "ReferenceValues">,
    evidence: Evidence,
    options: VerifyOptions,
  ): Promise<ManifestVerification> {
    return this.forManifest(manifest).verify(evidence, options);
  }

  #platformVerifiers(
    manifest: Pick<Manifest, "ReferenceValues">,
  ): Map<TeePlatform, EvidenceVerifier> {
    const o = this.#options;
    const { snp, tdx } = manifest.ReferenceValues;
    const verifiers = new Map<TeePlatform, EvidenceVerifier>();
    if (snp.length > 0) {
      const real = snp.some((v) => !isSimulated(v));
      // With AMD KDS at hand, the AMD CRL is required: "checked when available" would let whoever
      // controls the network switch revocation off by blocking the CRL download.
      const simulatedRoots = snp.flatMap((v) =>
        isSimulated(v) && v.SimulatedRootSHA256 ? [v.SimulatedRootSHA256] : []
      );
      const kds = real && o.snpCollateral
        ? {
          collateral: o.snpCollateral,
          requireRevocationCheck: o.snp?.requireRevocationCheck ?? true,
        }
        : !real && o.simulatedSnpCollateral
        ? { collateral: o.simulatedSnpCollateral(simulatedRoots) }
        : {};
      verifiers.set(
        "snp",
        new SnpEvidenceVerifier({
          ...o.snp,
          referenceValues: snp,
          ...kds,
          chainCache: this.#chainCache,
        }),
      );
    }
    if (tdx.length > 0) {
      const real = tdx.some((v) => v.Platform !== SIMULATED_TDX_PLATFORM);
      const simulatedRoots = tdx.flatMap((v) =>
        v.Platform === SIMULATED_TDX_PLATFORM && v.SimulatedRootSHA256
          ? [v.SimulatedRootSHA256]
          : []
      );
      const collateral = real
        ? o.tdxCollateral
        : o.simulatedTdxCollateral ?? o.simulatedTdxPcs?.(simulatedRoots);
      verifiers.set(
        "tdx",
        new TdxEvidenceVerifier({
          ...o.tdx,
          referenceValues: tdx,
          ...(collateral ? { collateral } : {}),
          chainCache: this.#chainCache,
          revocationMarks: this.#revocationMarks,
        }),
      );
    }
    return verifiers;
  }
}

/**
 * Verifies `evidence` against `manifest` in one call (builds fresh verifiers; keep a
 * {@link ManifestVerifiers} to reuse caches).
 *
 * @example One-off verification (no caches kept)
 * ```ts
 * import { parseManifest, verifyEvidenceAgainstManifest } from "./mod.ts";
 *
 * import type { Evidence } from "../evidence/mod.ts";
 *
 * async function verifyOnce(manifestBytes: Uint8Array, evidence: Evidence, reportData: Uint8Array) {
 *   const manifest = parseManifest(manifestBytes);
 *   return await verifyEvidenceAgainstManifest(manifest, evidence, { reportData, now: new Date() });
 * }
 * ```
 */
export function verifyEvidenceAgainstManifest(
  manifest: Pick<Manifest, "Policies" | "ReferenceValues">,
  evidence: Evidence,
  options: VerifyOptions,
  verifiersOptions: ManifestVerifiersOptions = {},
): Promise<ManifestVerification> {
  return new ManifestVerifiers(verifiersOptions).verify(manifest, evidence, options);
}

/**
 * Evidence verification against a manifest: the manifest's SNP and TDX reference values
 * configure the platform verifiers (one set per manifest, so chains and keys cached while the
 * manifest is active), sharing one chain cache across manifests.
 *
 * @module
 */
import type { AttestationClaims, Evidence, VerifyOptions } from "../evidence/types.ts";
import { type Manifest, parseManifestWith } from "../manifest/manifest.ts";
import {
  isSimulated,
  readSnpReferenceValue,
  type SnpReferenceValue,
} from "../snp/reference_values.ts";
import { AmdKdsClient } from "../snp/kds/client.ts";
import { CachingFetcher } from "../collateral/caching_fetcher.ts";
import { cachingFetcherTransport, IntelPcsClient } from "../tdx/pcs/client.ts";
import { collateralSourceForDir } from "../tdx/pcs/collateral_dir.ts";
import { SnpEvidenceVerifier } from "../snp/verifier.ts";
import type { SnpCollateralSource } from "../snp/kds/source.ts";
import {
  readTdxReferenceValue,
  SIMULATED_TDX_PLATFORM,
  type TdxReferenceValue,
} from "../tdx/reference_values.ts";
import { TdxEvidenceVerifier, type TdxEvidenceVerifierOptions } from "../tdx/verifier.ts";
import { ChainCache } from "../x509/chain_cache.ts";
import { ValidationError } from "../errors/mod.ts";

/** A manifest with contrast's SNP and TDX reference values. */
export type ContrastManifest = Manifest<SnpReferenceValue, TdxReferenceValue>;

/**
 * Parses a manifest with the SNP and TDX reference-value readers.
 *
 * @throws {import("../errors/mod.ts").InvalidDocumentError} listing every problem
 */
export function parseContrastManifest(bytes: Uint8Array): ContrastManifest {
  return parseManifestWith(bytes, { snp: readSnpReferenceValue, tdx: readTdxReferenceValue });
}

/** Options of {@link ManifestVerifiers}. */
export interface ManifestVerifiersOptions {
  /** AMD KDS (through the collateral cache) for certificates the evidence does not carry. */
  readonly snpCollateral?: SnpCollateralSource;
  /** Intel PCS or an offline bundle. */
  readonly tdxCollateral?: TdxEvidenceVerifierOptions["collateral"];
  /**
   * Collateral signed by a simulated TDX authority (its TCB info, QE identity and CRLs), for
   * manifests whose TDX entries are all simulated; it verifies only against the simulated root
   * those entries name.
   */
  readonly simulatedTdxCollateral?: TdxEvidenceVerifierOptions["collateral"];
  /** Shared cache of verified chains. */
  readonly chainCache?: ChainCache;
}

/** Verifies evidence against the reference values of whichever manifest is active. */
export class ManifestVerifiers {
  readonly #options: ManifestVerifiersOptions;
  readonly #cache: ChainCache;
  readonly #byManifest = new WeakMap<
    object,
    { snp: SnpEvidenceVerifier; tdx: TdxEvidenceVerifier }
  >();

  constructor(options: ManifestVerifiersOptions = {}) {
    this.#options = options;
    this.#cache = options.chainCache ?? new ChainCache();
  }

  /**
   * Verifies `evidence` against `manifest`'s reference values of its platform.
   *
   * @throws {ValidationError} naming `ReferenceValues` when the manifest has none for it
   */
  verify(
    manifest: Manifest,
    evidence: Evidence,
    options: VerifyOptions,
  ): Promise<AttestationClaims> {
    const m = manifest as ContrastManifest;
    let verifiers = this.#byManifest.get(m);
    if (!verifiers) {
      verifiers = {
        // Vendor collateral (KDS/PCS) only serves real platforms: simulated entries verify
        // against the root their manifest names, with the certificates the evidence carries.
        snp: new SnpEvidenceVerifier({
          referenceValues: m.ReferenceValues.snp,
          ...(m.ReferenceValues.snp.some((v) => !isSimulated(v))
            ? { collateral: this.#options.snpCollateral }
            : {}),
          chainCache: this.#cache,
        }),
        tdx: new TdxEvidenceVerifier({
          referenceValues: m.ReferenceValues.tdx,
          collateral: m.ReferenceValues.tdx.some((v) => v.Platform !== SIMULATED_TDX_PLATFORM)
            ? this.#options.tdxCollateral
            : this.#options.simulatedTdxCollateral,
          chainCache: this.#cache,
        }),
      };
      this.#byManifest.set(m, verifiers);
    }
    if (m.ReferenceValues[evidence.platform].length === 0) {
      return Promise.reject(
        new ValidationError(
          `ReferenceValues.${evidence.platform}`,
          `the manifest accepts no ${evidence.platform} evidence`,
        ),
      );
    }
    return verifiers[evidence.platform].verify(evidence, options);
  }
}

/** Where vendor collateral comes from. */
export interface CollateralConfig {
  /** Disk cache of fetched collateral (kept until `nextUpdate`). */
  readonly cacheDir?: string;
  /** Never touch the network: cache and import directories only. */
  readonly offline?: boolean;
  /** Offline collateral bundle directories. */
  readonly importDirs?: readonly string[];
  /** Flat collateral folder written by a simulated TDX authority (simulated TDX only). */
  readonly simulatedTdxCollateralDir?: string;
}

/** The default collateral cache: `$XDG_CACHE_HOME/contrast/collateral` (or `~/.cache/…`). */
export function defaultCollateralCacheDir(): string | undefined {
  const base = Deno.env.get("XDG_CACHE_HOME") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : undefined);
  return base ? `${base}/contrast/collateral` : undefined;
}

/**
 * Verifiers with AMD KDS and Intel PCS collateral through one caching fetcher (everything it
 * returns is verified against the pinned vendor roots by the platform verifiers).
 */
export function manifestVerifiersWithCollateral(config: CollateralConfig): ManifestVerifiers {
  const chainCache = new ChainCache();
  const fetcher = new CachingFetcher({
    cacheDir: config.cacheDir,
    offline: config.offline ?? false,
    importDirs: config.importDirs ?? [],
  });
  return new ManifestVerifiers({
    chainCache,
    snpCollateral: new AmdKdsClient({ fetcher, chainCache }),
    tdxCollateral: new IntelPcsClient({ transport: cachingFetcherTransport(fetcher) }),
    ...(config.simulatedTdxCollateralDir
      ? { simulatedTdxCollateral: lazyCollateralDir(config.simulatedTdxCollateralDir) }
      : {}),
  });
}

function lazyCollateralDir(dir: string): NonNullable<TdxEvidenceVerifierOptions["collateral"]> {
  let source: ReturnType<typeof collateralSourceForDir> | undefined;
  return {
    collateralFor: async (request) => {
      source ??= collateralSourceForDir(dir);
      return await (await source).collateralFor(request);
    },
  };
}

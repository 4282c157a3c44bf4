/**
 * Where vendor collateral comes from, for the Coordinator, the initializer and the CLI: AMD KDS
 * and Intel PCS through one caching fetcher (disk cache, offline bundles, offline mode), and the
 * collateral folder a simulated TDX authority wrote. Everything fetched is verified against the
 * pinned vendor roots by the platform verifiers; {@link ManifestVerifiers} decides which source
 * a manifest's entries use.
 *
 * @module
 */
import { CachingFetcher } from "../collateral/caching_fetcher.ts";
import { REVOCATION_MARKS_FILE, RevocationMarks } from "../collateral/revocation_marks.ts";
import { SNP_PRODUCTS } from "../snp/abi/product.ts";
import { AmdKdsClient } from "../snp/kds/client.ts";
import {
  cachingFetcherTransport,
  IntelPcsClient,
  pcsServiceRootCaCrlUrl,
} from "../tdx/pcs/client.ts";
import { collateralSourceForDir } from "../tdx/pcs/collateral_dir.ts";
import type { TdxCollateralSource } from "../tdx/verify/collateral_bundle.ts";
import { ChainCache } from "../x509/chain_cache.ts";
import { ManifestVerifiers } from "./verifiers.ts";

/**
 * Where vendor collateral comes from.
 *
 * @example Verify offline from a collateral bundle
 * ```ts
 * import { type CollateralConfig, manifestVerifiersWithCollateral } from "./mod.ts";
 *
 * const config: CollateralConfig = { offline: true, importDirs: ["./collateral-bundle"] };
 * const verifiers = manifestVerifiersWithCollateral(config);
 * ```
 */
export interface CollateralConfig {
  /**
   * Disk cache of fetched collateral (kept until `nextUpdate`). The newest revocation data
   * accepted (AMD CRLs, Intel CRLs, TCB info and QE identity; see
   * `collateral/revocation_marks.ts`) is persisted there too, in
   * `revocation-marks.json`, so an older CRL is refused after a restart as well.
   */
  readonly cacheDir?: string;
  /** Never touch the network: cache and import directories only. */
  readonly offline?: boolean;
  /** Offline collateral bundle directories. */
  readonly importDirs?: readonly string[];
  /**
   * AMD KDS base URL (default `https://kdsintf.amd.com`). Set explicitly (a local stand-in), it
   * also serves manifests whose SNP entries are simulated, trusting only the roots they name.
   */
  readonly kdsBaseUrl?: string;
  /**
   * Intel PCS base URL (default Intel's). Set explicitly (a PCCS or a local stand-in), it also
   * serves manifests whose TDX entries are simulated (unless a simulated collateral folder is
   * set), trusting only the roots they name.
   */
  readonly pcsBaseUrl?: string;
  /**
   * Where real TDX verification takes the Intel SGX Root CA CRL (default: Intel's published
   * location whatever `pcsBaseUrl` is, so a PCCS can never withhold a root revocation by
   * replaying an older CRL). Simulated entries served by `pcsBaseUrl` take their stand-in's.
   */
  readonly rootCaCrlUrl?: string;
  /**
   * Base URL real SNP verification takes AMD's CRLs from (`<base>/vcek/v1/<product>/crl`;
   * default: AMD's KDS whatever `kdsBaseUrl` is, so a caching KDS proxy can never withhold a
   * revocation by replaying an older CRL). Simulated entries served by `kdsBaseUrl` take their
   * stand-in's.
   */
  readonly amdCrlUrl?: string;
  /** Flat collateral folder written by a simulated TDX authority (simulated TDX only). */
  readonly simulatedTdxCollateralDir?: string;
  /** The fetch function vendor requests go through (default: the global `fetch`). */
  readonly fetch?: typeof fetch;
}

/**
 * The default collateral cache: `$XDG_CACHE_HOME/contrast/collateral` (or `~/.cache/…`).
 *
 * @example Cache collateral where the CLI does
 * ```ts
 * import { defaultCollateralCacheDir, manifestVerifiersWithCollateral } from "./mod.ts";
 *
 * const verifiers = manifestVerifiersWithCollateral({ cacheDir: defaultCollateralCacheDir() });
 * ```
 */
export function defaultCollateralCacheDir(): string | undefined {
  const base = Deno.env.get("XDG_CACHE_HOME") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : undefined);
  return base ? `${base}/contrast/collateral` : undefined;
}

/**
 * Manifest verifiers with AMD KDS and Intel PCS collateral through one caching fetcher, and the
 * simulated TDX authority's collateral folder when `config` names one.
 *
 * @example Verifiers fetching AMD KDS and Intel PCS collateral through a disk cache
 * ```ts
 * import { manifestVerifiersWithCollateral, parseManifest } from "./mod.ts";
 *
 * import type { Evidence } from "../evidence/mod.ts";
 *
 * const verifiers = manifestVerifiersWithCollateral({ cacheDir: await Deno.makeTempDir() });
 * async function check(manifestBytes: Uint8Array, evidence: Evidence, reportData: Uint8Array) {
 *   return await verifiers.verify(parseManifest(manifestBytes), evidence, { reportData, now: new Date() });
 * }
 * ```
 */
export function manifestVerifiersWithCollateral(config: CollateralConfig): ManifestVerifiers {
  const chainCache = new ChainCache();
  const fetcher = new CachingFetcher({
    cacheDir: config.cacheDir,
    offline: config.offline ?? false,
    importDirs: config.importDirs ?? [],
    ...(config.fetch ? { fetch: config.fetch } : {}),
  });
  // One set of marks for every client of this process (keys name the vendor, issuer and root).
  const revocationMarks = new RevocationMarks(
    config.cacheDir !== undefined ? { file: `${config.cacheDir}/${REVOCATION_MARKS_FILE}` } : {},
  );
  return new ManifestVerifiers({
    chainCache,
    snpCollateral: new AmdKdsClient({
      fetcher,
      chainCache,
      revocationMarks,
      baseUrl: config.kdsBaseUrl,
      ...(config.amdCrlUrl ? { crlBaseUrl: config.amdCrlUrl } : {}),
    }),
    tdxCollateral: new IntelPcsClient({
      transport: cachingFetcherTransport(fetcher, { revocationMarks }),
      ...(config.pcsBaseUrl ? { baseUrl: config.pcsBaseUrl } : {}),
      ...(config.rootCaCrlUrl ? { rootCaCrlUrl: config.rootCaCrlUrl } : {}),
    }),
    ...(config.kdsBaseUrl
      ? {
        simulatedSnpCollateral: (roots: readonly string[]) =>
          new AmdKdsClient({
            fetcher,
            chainCache,
            revocationMarks,
            baseUrl: config.kdsBaseUrl,
            crlBaseUrl: config.kdsBaseUrl,
            trustedRoots: Object.fromEntries(SNP_PRODUCTS.map((p) => [p, roots])),
          }),
      }
      : {}),
    ...(config.pcsBaseUrl
      ? {
        simulatedTdxPcs: (roots: readonly string[]) =>
          new IntelPcsClient({
            transport: cachingFetcherTransport(fetcher, {
              trustAnchors: [...roots],
              revocationMarks,
            }),
            baseUrl: config.pcsBaseUrl,
            rootCaCrlUrl: pcsServiceRootCaCrlUrl(config.pcsBaseUrl!),
          }),
      }
      : {}),
    ...(config.simulatedTdxCollateralDir
      ? { simulatedTdxCollateral: lazyCollateralDir(config.simulatedTdxCollateralDir) }
      : {}),
    tdx: { revocationMarks },
  });
}

/** A collateral source that reads `dir` on first use (so a missing folder fails only then). */
function lazyCollateralDir(dir: string): TdxCollateralSource {
  let source: Promise<TdxCollateralSource> | undefined;
  return {
    collateralFor: async (request) => {
      source ??= collateralSourceForDir(dir);
      return await (await source).collateralFor(request);
    },
  };
}

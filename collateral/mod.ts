/**
 * Vendor collateral transport: the caching fetcher for AMD KDS and Intel PCS, offline bundles,
 * and the on-disk cache. Everything it returns is untrusted; callers verify it.
 *
 * @example A fetcher that never touches the network, reading an offline bundle
 * ```ts
 * import { CachingFetcher } from "./mod.ts";
 *
 * const fetcher = new CachingFetcher({ offline: true, importDirs: ["./bundle"] });
 * console.log(fetcher instanceof CachingFetcher);
 * ```
 *
 * @module
 */
export { bundlePath } from "./bundle.ts";
export {
  type CacheListing,
  exportCacheToBundle,
  type ExportResult,
  listCache,
} from "./cache_export.ts";
export {
  CachingFetcher,
  type CachingFetcherOptions,
  DEFAULT_MAX_CONCURRENT_NETWORK_LOOKUPS,
  DEFAULT_MEMORY_TTL_MS,
  type FetchedResource,
  type GetOptions,
  type ResourceSource,
  trustDomainOf,
} from "./caching_fetcher.ts";
export {
  DEFAULT_VENDOR_LOOKUP_BUDGET,
  type LookupAllowance,
  LookupBudgetExceededError,
  VendorLookupBudget,
  type VendorLookupBudgetOptions,
} from "./lookup_budget.ts";
// The base class of LookupBudgetExceededError, public with it.
export { BudgetExceededError } from "../util/rate/client_buckets.ts";
export { CRL_GET_OPTIONS, PCS_JSON_GET_OPTIONS } from "./expiry.ts";
export {
  CRL_MARK_NAMES,
  REVOCATION_MARKS_FILE,
  type RevocationCandidate,
  type RevocationMark,
  RevocationMarks,
  RevocationMarksFileError,
  type RevocationMarksOptions,
  RevocationRollbackError,
} from "./revocation_marks.ts";

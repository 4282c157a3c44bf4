/**
 * The pinned AMD root keys (ARK) of each SEV-SNP product line, by SHA-256 fingerprint of the
 * DER certificate (`AMD_ARK_SHA256`, defined with its provenance in `evidence/vendor_roots.ts`
 * next to Intel's root, so both platforms can refuse either vendor's root as a simulated one).
 *
 * @module
 */
import type { SnpProductName } from "../abi/product.ts";
import { AMD_ARK_SHA256 } from "../../evidence/vendor_roots.ts";

export { AMD_ARK_SHA256 };

/**
 * A trusted root for one verification: the product it is for and its fingerprint.
 *
 * @example Print the root a product chains to
 * ```ts
 * import { amdRoot, type SnpTrustedRoot } from "../mod.ts";
 *
 * const root: SnpTrustedRoot = amdRoot("Turin");
 * console.log(root.product, root.sha256, root.simulated); // simulated: false
 * ```
 */
export interface SnpTrustedRoot {
  /** Product line the root signs for. */
  readonly product: SnpProductName;
  /** SHA-256 fingerprint of the ARK certificate, lower-case hex. */
  readonly sha256: string;
  /** Whether this root is a simulated (locally generated) one, never trusted by default. */
  readonly simulated: boolean;
}

/**
 * The genuine AMD root of `product`.
 *
 * @example The trust anchor to pass to a chain check
 * ```ts
 * import { amdRoot } from "../mod.ts";
 *
 * const trustedRoots = [amdRoot("Milan").sha256];
 * ```
 */
export function amdRoot(product: SnpProductName): SnpTrustedRoot {
  return { product, sha256: AMD_ARK_SHA256[product], simulated: false };
}

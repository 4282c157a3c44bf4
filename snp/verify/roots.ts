/**
 * The pinned AMD root keys (ARK) of each SEV-SNP product line, by SHA-256 fingerprint of the
 * DER certificate. These are public facts: AMD publishes the ARKs at
 * `https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain`; the fingerprints below were
 * cross-checked against the copies in confidential-containers/trustee, google/go-sev-guest and
 * virtee/sev (see `../shared/conformance/MANIFEST.json`, `amd_roots`).
 *
 * @module
 */
import type { SnpProductName } from "../abi/product.ts";

/**
 * SHA-256 fingerprints (lower-case hex, no separators) of the genuine AMD ARKs.
 *
 * @example Compare a downloaded ARK with the pinned fingerprint
 * ```ts
 * import { AMD_ARK_SHA256 } from "../mod.ts";
 * import { parseCertificate } from "../../x509/mod.ts";
 *
 * async function isGenoaArk(der: Uint8Array): Promise<boolean> {
 *   return (await parseCertificate(der, "ark").fingerprint()) === AMD_ARK_SHA256.Genoa;
 * }
 * ```
 */
export const AMD_ARK_SHA256: Readonly<Record<SnpProductName, string>> = {
  // CN=ARK-Milan, serial 010000, valid 2020-10-22 – 2045-10-22.
  Milan: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
  // CN=ARK-Genoa, serial 020000, valid 2022-01-26 – 2047-01-26.
  Genoa: "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
  // CN=ARK-Turin, serial 030000, valid 2023-05-15 – 2048-05-15.
  Turin: "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
};

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

/**
 * AMD Key Distribution Service URLs (AMD 57230, "VCEK Certificate and KDS Interface
 * Specification"): VCEK by product, hardware ID and TCB; certificate chains and CRLs per product
 * for VCEK and VLEK.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import type { SnpProductName } from "../abi/product.ts";
import type { SnpTcbParts } from "../abi/tcb.ts";
import type { VekKind } from "../verify/vek_extensions.ts";

/**
 * The public AMD KDS.
 *
 * @example Point a client at a mirror instead of AMD
 * ```ts
 * import { AMD_KDS_BASE_URL, AmdKdsClient } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const mirror = Deno.env.get("KDS_MIRROR") ?? AMD_KDS_BASE_URL;
 * const kds = new AmdKdsClient({ fetcher: new CachingFetcher({}), baseUrl: mirror });
 * ```
 */
export const AMD_KDS_BASE_URL = "https://kdsintf.amd.com";

function root(base: string, kind: VekKind, product: SnpProductName): string {
  return `${base.replace(/\/+$/, "")}/${kind === "VCEK" ? "vcek" : "vlek"}/v1/${product}`;
}

/**
 * The URL of the VCEK of chip `hwId` at `tcb`. Turin chips are indexed by the first 8 bytes
 * of the chip ID and the query carries `fmcSPL`.
 */
export function vcekUrl(
  product: SnpProductName,
  hwId: Uint8Array,
  tcb: SnpTcbParts,
  base = AMD_KDS_BASE_URL,
): string {
  const turin = product === "Turin";
  const id = encodeHex(turin ? hwId.subarray(0, 8) : hwId);
  const query = [
    ...(turin ? [`fmcSPL=${tcb.fmc ?? 0}`] : []),
    `blSPL=${tcb.bootloader}`,
    `teeSPL=${tcb.tee}`,
    `snpSPL=${tcb.snp}`,
    `ucodeSPL=${tcb.microcode}`,
  ].join("&");
  return `${root(base, "VCEK", product)}/${id}?${query}`;
}

/** The URL of the ASK (or ASVK) + ARK PEM chain. */
export function certChainUrl(
  product: SnpProductName,
  kind: VekKind,
  base: string = AMD_KDS_BASE_URL,
): string {
  return `${root(base, kind, product)}/cert_chain`;
}

/** The URL of the CRL AMD publishes for `product` and `kind` (signed by the ARK). */
export function crlUrl(
  product: SnpProductName,
  kind: VekKind,
  base: string = AMD_KDS_BASE_URL,
): string {
  return `${root(base, kind, product)}/crl`;
}

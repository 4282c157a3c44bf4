/**
 * AMD EPYC product generations that run SEV-SNP, and how to tell them apart: from the CPUID
 * family/model in a v3+ report, or from the `productName` extension of a VCEK/VLEK.
 *
 * @module
 */
import type { SnpTcbLayout } from "./tcb.ts";

/**
 * The product lines contrast verifies.
 *
 * @example Pin the ARK of one product
 * ```ts
 * import { AMD_ARK_SHA256, type SnpProductName } from "../mod.ts";
 *
 * const product: SnpProductName = "Genoa";
 * console.log(AMD_ARK_SHA256[product]);
 * ```
 */
export type SnpProductName = "Milan" | "Genoa" | "Turin";

/** Every supported product line. */
export const SNP_PRODUCTS: readonly SnpProductName[] = ["Milan", "Genoa", "Turin"];

/** The TCB layout a product's firmware uses. */
export function tcbLayoutOf(product: SnpProductName): SnpTcbLayout {
  return product === "Turin" ? "turin" : "milan-genoa";
}

/**
 * The product of a CPUID family and model, or undefined for processors that are not known to
 * run SEV-SNP. Family 19h models 00h–0Fh are Milan, 10h–1Fh and A0h–AFh Genoa (incl. Bergamo,
 * Siena); family 1Ah models 00h–1Fh are Turin.
 */
export function productFromCpuid(family: number, model: number): SnpProductName | undefined {
  if (family === 0x19) {
    if (model <= 0x0f) return "Milan";
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return "Genoa";
    return undefined;
  }
  if (family === 0x1a && model <= 0x1f) return "Turin";
  return undefined;
}

/**
 * The product of a VCEK/VLEK `productName` extension (`Milan-B0`, `Genoa`, `Turin`…): the part
 * before the stepping suffix, or undefined when unknown.
 */
export function productFromName(name: string): SnpProductName | undefined {
  const base = name.split("-")[0];
  return SNP_PRODUCTS.find((p) => p === base);
}

/**
 * What the SNP verifier needs from AMD's Key Distribution Service, as an interface so the
 * verifier does not depend on how it is fetched (online, cache, imported bundle).
 *
 * @module
 */
import type { LookupAllowance } from "../../collateral/lookup_budget.ts";
import type { Certificate } from "../../x509/certificate.ts";
import type { Crl } from "../../x509/crl.ts";
import type { SnpProductName } from "../abi/product.ts";
import type { SnpTcbParts } from "../abi/tcb.ts";
import type { VekKind } from "../verify/vek_extensions.ts";

/**
 * The intermediate and root AMD publishes per product and key kind (`cert_chain`).
 *
 * @example The ASK and ARK, already verified against the pinned root
 * ```ts
 * import type { SnpCertChain } from "../mod.ts";
 *
 * function subjects(chain: SnpCertChain): string[] {
 *   return [chain.intermediate.subject, chain.ark.subject];
 * }
 * ```
 */
export interface SnpCertChain {
  /** ASK (for VCEKs) or ASVK (for VLEKs). */
  readonly intermediate: Certificate;
  /** ARK. */
  readonly ark: Certificate;
}

/**
 * A source of AMD collateral. Everything it returns is untrusted and verified by the caller.
 *
 * @example Any source of VCEKs and CRLs: the KDS client or one of your own
 * ```ts
 * import { AmdKdsClient, type SnpCollateralSource } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const source: SnpCollateralSource = new AmdKdsClient({ fetcher: new CachingFetcher({}) });
 * async function crlOf(s: SnpCollateralSource) {
 *   return await s.crl("Genoa", "VCEK");
 * }
 * ```
 */
export interface SnpCollateralSource {
  /**
   * The VCEK of chip `hwId` at `tcb`. A network lookup for it (in no cache) first takes a token
   * of `options.allowance`, the budget of the client whose evidence named the chip and TCB.
   */
  vcek(
    product: SnpProductName,
    hwId: Uint8Array,
    tcb: SnpTcbParts,
    options?: { readonly allowance?: LookupAllowance },
  ): Promise<Certificate>;
  /** The ASK/ASVK and ARK of `product`. */
  certChain(product: SnpProductName, kind: VekKind): Promise<SnpCertChain>;
  /** The CRL AMD publishes for `product` and `kind`, or undefined when none is available. */
  crl(product: SnpProductName, kind: VekKind): Promise<Crl | undefined>;
  /**
   * Called once a report signed by `vcek` (as {@link vcek} returned it) verified: the source may
   * now keep it (a disk cache). Until then a fetched VCEK is kept nowhere, so forged reports naming
   * made-up TCBs cannot fill the cache.
   */
  keepVcek?(vcek: Certificate): Promise<void>;
}

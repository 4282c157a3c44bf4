/**
 * The AMD endorsement chain of a report: VCEK ← ASK ← ARK, or VLEK ← ASVK ← ARK, with RSA-PSS
 * (SHA-384) signatures by the ARK/ASK/ASVK, the ARK self-signed and pinned by SHA-256
 * fingerprint per product, validity at `now`, revocation by the AMD CRL when one is given, and
 * the AMD naming of the intermediate (`SEV-<Product>` for the ASK, `SEV-VLEK-<Product>` for the
 * ASVK) so a VCEK cannot pass through an ASVK or the reverse.
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import type { Certificate } from "../../x509/certificate.ts";
import type { ChainCache } from "../../x509/chain_cache.ts";
import { type VerifiedChain, verifyChain } from "../../x509/chain.ts";
import type { Crl } from "../../x509/crl.ts";
import type { SnpProductName } from "../abi/product.ts";
import { AMD_VEK_OID, type VekKind } from "./vek_extensions.ts";

/**
 * Input of {@link verifySnpChain}.
 *
 * @example Verify a VCEK chain fetched from the KDS, checking the CRL
 * ```ts
 * import { amdRoot, type SnpChainInput, verifySnpChain } from "../mod.ts";
 * import type { Certificate, Crl } from "../../x509/mod.ts";
 *
 * async function verify(vek: Certificate, ask: Certificate, ark: Certificate, crl: Crl) {
 *   const input: SnpChainInput = {
 *     vek,
 *     kind: "VCEK",
 *     product: "Genoa",
 *     intermediate: ask,
 *     ark,
 *     trustedRoots: [amdRoot("Genoa").sha256],
 *     crls: [crl],
 *     now: new Date(),
 *   };
 *   return await verifySnpChain(input);
 * }
 * ```
 */
export interface SnpChainInput {
  /** The VCEK or VLEK. */
  readonly vek: Certificate;
  /** Which kind `vek` is (from its extensions). */
  readonly kind: VekKind;
  /** The product `vek` is for (from its extensions). */
  readonly product: SnpProductName;
  /** The ASK (VCEK) or ASVK (VLEK). */
  readonly intermediate: Certificate;
  /** The ARK. */
  readonly ark: Certificate;
  /** Fingerprints of the roots accepted for this product (SHA-256 hex). */
  readonly trustedRoots: readonly string[];
  /** CRLs of the ARK (revoking ASKs/ASVKs) and of the ASK/ASVK (revoking VCEKs/VLEKs). */
  readonly crls?: readonly Crl[];
  /** The time of the check. */
  readonly now: Date;
  /** Cache of verified chains. */
  readonly cache?: ChainCache;
}

function commonName(cert: Certificate): string | undefined {
  return /(?:^|,\s*)CN=([^,]+)/.exec(cert.subject)?.[1];
}

/** The subject CN AMD gives the intermediate that signs `kind` certificates of `product`. */
export function intermediateName(kind: VekKind, product: SnpProductName): string {
  return kind === "VCEK" ? `SEV-${product}` : `SEV-VLEK-${product}`;
}

/**
 * Verifies the endorsement chain of a VCEK/VLEK.
 *
 * @throws {VerificationError} naming the failing link and the reason
 *
 * @example Verify a VLEK chain offline (no CRL)
 * ```ts
 * import { AMD_ARK_SHA256, verifySnpChain } from "../mod.ts";
 * import type { Certificate } from "../../x509/mod.ts";
 *
 * async function verify(vlek: Certificate, asvk: Certificate, ark: Certificate) {
 *   const chain = await verifySnpChain({
 *     vek: vlek,
 *     kind: "VLEK",
 *     product: "Milan",
 *     intermediate: asvk,
 *     ark,
 *     trustedRoots: [AMD_ARK_SHA256.Milan],
 *     now: new Date(),
 *   });
 *   return chain.rootFingerprint;
 * }
 * ```
 */
export async function verifySnpChain(input: SnpChainInput): Promise<VerifiedChain> {
  const field = input.kind === "VCEK" ? "vcekChain" : "vlekChain";
  const expected = intermediateName(input.kind, input.product);
  const cn = commonName(input.intermediate);
  if (cn !== expected) {
    throw new VerificationError(
      `${field}.${input.intermediate.field}.subject`,
      `a ${input.kind} for ${input.product} is signed by "${expected}", got "${
        cn ?? input.intermediate.subject
      }"`,
    );
  }
  if (input.trustedRoots.length === 0) {
    throw new VerificationError(field, `no root is trusted for ${input.product}`);
  }
  const chain = await verifyChain({
    leaf: input.vek,
    intermediates: [input.intermediate, input.ark],
    trustAnchors: input.trustedRoots,
    now: input.now,
    crls: input.crls,
    field,
    cache: input.cache,
    understoodCriticalExtensions: Object.values(AMD_VEK_OID),
    maxLength: 3,
  });
  if (chain.certificates.length !== 3) {
    throw new VerificationError(
      field,
      `expected ${input.kind} ← ${expected} ← ARK, got a chain of ${chain.certificates.length}`,
    );
  }
  return chain;
}

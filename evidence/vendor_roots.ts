/**
 * The hardware vendors' pinned root certificates, by SHA-256 fingerprint of their DER: AMD's ARKs
 * (one per SEV-SNP product line) and the Intel SGX Root CA (TDX). SNP (`snp/verify/roots.ts`) and
 * TDX (`tdx/verify/intel_root.ts`) each trust their vendor's; both refuse a simulated platform's
 * reference value that names one of them ({@link vendorRootNamed}), so no simulated entry can
 * make genuine evidence pass without the checks a real platform's entry requires.
 *
 * @module
 */

/**
 * SHA-256 fingerprints (lower-case hex, no separators) of the genuine AMD ARKs. These are public
 * facts: AMD publishes the ARKs at `https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain`;
 * the fingerprints below were cross-checked against the copies in confidential-containers/trustee,
 * google/go-sev-guest and virtee/sev (see `../shared/conformance/MANIFEST.json`, `amd_roots`).
 *
 * @example Compare a downloaded ARK with the pinned fingerprint
 * ```ts
 * import { AMD_ARK_SHA256 } from "./vendor_roots.ts";
 * import { parseCertificate } from "../x509/mod.ts";
 *
 * async function isGenoaArk(der: Uint8Array): Promise<boolean> {
 *   return (await parseCertificate(der, "ark").fingerprint()) === AMD_ARK_SHA256.Genoa;
 * }
 * ```
 */
export const AMD_ARK_SHA256: Readonly<Record<"Milan" | "Genoa" | "Turin", string>> = {
  // CN=ARK-Milan, serial 010000, valid 2020-10-22 – 2045-10-22.
  Milan: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
  // CN=ARK-Genoa, serial 020000, valid 2022-01-26 – 2047-01-26.
  Genoa: "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
  // CN=ARK-Turin, serial 030000, valid 2023-05-15 – 2048-05-15.
  Turin: "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
};

/**
 * SHA-256 fingerprint of the DER of "CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara,
 * ST=CA, C=US" (serial 22650CD65A9D3489F383B49552BF501B392706AC, valid 2018-05-21 to
 * 2049-12-31). Source: Intel publishes the certificate at
 * https://certificates.trustedservices.intel.com/Intel_SGX_RootCA.der; the same bytes ship as
 * `verify/trusted_root.pem` in google/go-tdx-guest and `src/TrustedRootCA.der` in
 * Phala-Network/dcap-qvl (both listed with this fingerprint in the conformance MANIFEST.json).
 *
 * @example Trust only Intel's root
 * ```ts
 * import { INTEL_SGX_ROOT_CA_SHA256 } from "./vendor_roots.ts";
 *
 * const trustAnchors = [INTEL_SGX_ROOT_CA_SHA256];
 * ```
 */
export const INTEL_SGX_ROOT_CA_SHA256 =
  "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

/**
 * The vendor root `fingerprint` is (e.g. `AMD ARK-Genoa`, `Intel SGX Root CA`), or undefined when
 * it is none of them. Case and `:` separators are ignored.
 *
 * @example Refuse a vendor root where only a simulated one may stand
 * ```ts
 * import { vendorRootNamed } from "./vendor_roots.ts";
 *
 * const named = vendorRootNamed("44A0196B2B99F889B8E149E95B807A350E7424964399E885A7CBB8CCFAB674D3");
 * console.log(named); // "Intel SGX Root CA"
 * ```
 */
export function vendorRootNamed(fingerprint: string): string | undefined {
  const fp = fingerprint.replaceAll(":", "").toLowerCase();
  if (fp === INTEL_SGX_ROOT_CA_SHA256) return "Intel SGX Root CA";
  const product = Object.entries(AMD_ARK_SHA256).find(([, sha]) => sha === fp)?.[0];
  return product ? `AMD ARK-${product}` : undefined;
}

/**
 * Why a simulated platform's root may not be `fingerprint`, or undefined when it may: a vendor's
 * real root would make genuine evidence verify against the simulated platform's entry, which
 * requires less (no revocation, no RTMRs or module identity).
 *
 * @example The reason a reference-value parser reports
 * ```ts
 * import { AMD_ARK_SHA256, simulatedRootRefusal } from "./vendor_roots.ts";
 *
 * console.log(simulatedRootRefusal(AMD_ARK_SHA256.Milan)); // "is the fingerprint of AMD ARK-Milan…"
 * ```
 */
export function simulatedRootRefusal(fingerprint: string): string | undefined {
  const named = vendorRootNamed(fingerprint);
  return named === undefined ? undefined : `is the fingerprint of ${named}, a real vendor root: ` +
    "a simulated platform must name a simulated root (genuine evidence is verified with a real " +
    "platform's reference values, which require what a simulated entry does not)";
}

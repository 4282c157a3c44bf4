/**
 * The pinned Intel SGX Root CA (the root of PCK certificates, TCB signing certificates and
 * their CRLs).
 *
 * @module
 */

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
 * import { INTEL_SGX_ROOT_CA_SHA256 } from "../mod.ts";
 *
 * const trustAnchors = [INTEL_SGX_ROOT_CA_SHA256];
 * ```
 */
export const INTEL_SGX_ROOT_CA_SHA256 =
  "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

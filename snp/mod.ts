/**
 * AMD SEV-SNP attestation: parse (`abi/`), verify signature, chain and AMD extensions
 * (`verify/`), validate against reference values (`validate/`), fetch collateral from AMD KDS
 * (`kds/`) and obtain evidence in a guest (`guest.ts`). The simulated vendor chain is in
 * `testing/snp/`.
 * {@link SnpEvidenceVerifier} ties them together.
 *
 * @example Verify a report with the certificates it came with, against the built-in defaults
 * ```ts
 * import { defaultSnpReferenceValues, SnpEvidenceVerifier } from "./mod.ts";
 *
 * async function verify(report: Uint8Array, aux: Uint8Array, reportData: Uint8Array) {
 *   const verifier = new SnpEvidenceVerifier({
 *     referenceValues: defaultSnpReferenceValues(), // no debug, no migration agent, VMPL 0
 *   });
 *   const result = await verifier.verifyDetailed(
 *     { platform: "snp", report, aux },
 *     { reportData, now: new Date() },
 *   );
 *   return result.claims.measurement; // verified: signature, chain to the pinned ARK, policy
 * }
 * ```
 *
 * @example Decode a report without verifying it
 * ```ts
 * import { parseSnpReport } from "./mod.ts";
 *
 * function measurementOf(bytes: Uint8Array): Uint8Array {
 *   return parseSnpReport(bytes).measurement;
 * }
 * ```
 *
 * @module
 */
// Parse (abi): bytes to typed reports, certificate tables and fields.
export { describeSnpReport } from "./abi/describe.ts";
export {
  CERT_TABLE_GUIDS,
  type CertTableEntry,
  type CertTableKind,
  parseCertTable,
} from "./abi/cert_table.ts";
export { decodeGuestPolicy, type SnpGuestPolicy, type SnpGuestPolicyParts } from "./abi/policy.ts";
export { decodePlatformInfo, type SnpPlatformInfo } from "./abi/platform_info.ts";
export type { SnpProductName } from "./abi/product.ts";
export {
  parseSnpReport,
  type ParseSnpReportOptions,
  SNP_REPORT_SIZE,
  type SnpCpuid,
  type SnpFirmwareVersion,
  type SnpReport,
  type SnpReportSignature,
} from "./abi/report.ts";
export type { SnpSignerInfo, SnpSigningKey } from "./abi/signer_info.ts";
export { decodeTcb, type SnpTcb, type SnpTcbLayout, type SnpTcbParts } from "./abi/tcb.ts";
export {
  MAX_SNP_VCPUS,
  snpLaunchDigestsByVcpus,
  snpVcpuSignature,
} from "./abi/vcpu_launch_digest.ts";
// Verify: the report signature and the VCEK/VLEK chain to AMD's pinned roots.
export { type SnpChainInput, verifySnpChain } from "./verify/chain.ts";
export { verifyReportSignature } from "./verify/report_signature.ts";
export { AMD_ARK_SHA256, amdRoot, type SnpTrustedRoot } from "./verify/roots.ts";
export { readVekExtensions, type VekExtensions, type VekKind } from "./verify/vek_extensions.ts";
// Validate: the report against reference values.
export { type SnpValidationOptions, validateSnpReport } from "./validate/validate.ts";
export {
  baselineSnpReferenceValue,
  defaultSnpReferenceValues,
  readSnpReferenceValuesDocument,
  type SnpGuestPolicyReference,
  type SnpMinimumTcb,
  type SnpPlatformInfoReference,
  type SnpReferenceValue,
} from "./reference_values.ts";
// All of it in one call.
export {
  type SnpCertificateFiles,
  SnpEvidenceVerifier,
  type SnpEvidenceVerifierOptions,
  type SnpVerification,
} from "./verifier.ts";
// Collateral from AMD KDS, and evidence in a guest.
export { AmdKdsClient, type AmdKdsClientOptions } from "./kds/client.ts";
export type { SnpCertChain, SnpCollateralSource } from "./kds/source.ts";
export { AMD_KDS_BASE_URL } from "./kds/urls.ts";
export { SnpGuest, type SnpGuestEvidence, type SnpGuestOptions } from "./guest.ts";

/**
 * Intel TDX attestation: quote parsing (v4/v5), verification with Intel collateral to a TCB
 * status, reference values, the Intel PCS client and the guest side. The simulated authority is
 * in `testing/tdx/`.
 *
 * @example Verify a quote with collateral from a directory, against the built-in defaults
 * ```ts
 * import {
 *   collateralSourceForDir,
 *   defaultTdxReferenceValues,
 *   TdxEvidenceVerifier,
 * } from "./mod.ts";
 *
 * async function verify(quote: Uint8Array, collateralDir: string, reportData: Uint8Array) {
 *   const verifier = new TdxEvidenceVerifier({
 *     referenceValues: defaultTdxReferenceValues(), // no DEBUG TD, SEPT_VE_DISABLE set, UpToDate
 *     collateral: await collateralSourceForDir(collateralDir),
 *   });
 *   const claims = await verifier.verify({ platform: "tdx", report: quote }, {
 *     reportData,
 *     now: new Date(),
 *   });
 *   return claims.details.tcbStatus;
 * }
 * ```
 *
 * @module
 */
// Parse: quote bytes to a typed quote.
export { describeTdxQuote } from "./quote/describe.ts";
export { parseTdxQuote } from "./quote/parse_quote.ts";
export type {
  CertificationData,
  QeReportCertificationData,
  SgxReportBody,
  TdxBodyDescriptor,
  TdxQuote,
  TdxQuoteHeader,
  TdxQuoteSignatureData,
  TdxReportBody,
} from "./quote/types.ts";
// Verify: the quote's signatures, the PCK chain and Intel's collateral, to a TCB status.
export type { CollateralTcbStatus, TcbStatus } from "./collateral/tcb_status.ts";
export type {
  TdxModuleIdentity,
  TdxModuleTcbLevel,
  TdxTcbInfo,
  TdxTcbLevel,
} from "./collateral/tcb_info.ts";
export type { QeIdentity, QeTcbLevel } from "./collateral/qe_identity.ts";
export type { TcbLevelCommon } from "./collateral/tcb_level.ts";
export type { PckSgxExtensions, SgxConfiguration, SgxType } from "./pck/sgx_extensions.ts";
export type { QeEvaluation, TcbEvaluation } from "./verify/tcb_evaluation.ts";
export {
  TdxVerificationCache,
  type TdxVerificationCacheOptions,
  type Windowed,
} from "./verify/verification_cache.ts";
export {
  type PckCaType,
  StaticTdxCollateral,
  type TdxCollateral,
  type TdxCollateralRequest,
  type TdxCollateralSource,
} from "./verify/collateral_bundle.ts";
export { INTEL_SGX_ROOT_CA_SHA256 } from "./verify/intel_root.ts";
export {
  type PckChainCheckOptions,
  type VerifiedTdxQuote,
  verifyPckChainBeforeCollateral,
  verifyTdxQuote,
  type VerifyTdxQuoteOptions,
} from "./verify/verify_quote.ts";
// Validate: the quote against reference values.
export { type ValidateTdxOptions, validateTdxQuote } from "./validate/validate_quote.ts";
export {
  defaultTdxReferenceValues,
  readTdxReferenceValuesDocument,
  type TdxReferenceValue,
} from "./reference_values.ts";
export {
  PUBLISHED_TDX_MODULES,
  type PublishedTdxModule,
  resolveMrSeam,
} from "./published_modules.ts";
// All of it in one call.
export {
  pckCollateralRequest,
  TdxEvidenceVerifier,
  type TdxEvidenceVerifierOptions,
  type TdxVerification,
} from "./verifier.ts";
// Collateral from Intel PCS or a directory, and quotes in a guest.
export {
  cachingFetcherTransport,
  type CachingTransportOptions,
  INTEL_PCS_BASE_URL,
  INTEL_ROOT_CA_CRL_URL,
  IntelPcsClient,
  type IntelPcsClientOptions,
  type PcsResourceKind,
  type PcsResponse,
  pcsServiceRootCaCrlUrl,
  type PcsTransport,
} from "./pcs/client.ts";
export {
  collateralSourceForDir,
  readTdxCollateralDir,
  writeTdxCollateralDir,
} from "./pcs/collateral_dir.ts";
export { getTdxQuote, type GuestTdxQuote } from "./guest.ts";

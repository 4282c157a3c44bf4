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
export * from "./quote/types.ts";
export { parseSgxReportBody, parseTdxQuote } from "./quote/parse_quote.ts";
export { describeTdxQuote } from "./quote/describe.ts";
export * from "./pck/sgx_extensions.ts";
export * from "./collateral/tcb_status.ts";
export {
  parseTdxTcbInfoResponse,
  type SignedTdxTcbInfo,
  type TdxModuleIdentity,
  type TdxModuleTcbLevel,
  type TdxTcbInfo,
  type TdxTcbLevel,
} from "./collateral/tcb_info.ts";
export {
  parseQeIdentityResponse,
  type QeIdentity,
  type QeTcbLevel,
  type SignedQeIdentity,
} from "./collateral/qe_identity.ts";
export * from "./verify/collateral_bundle.ts";
export { INTEL_SGX_ROOT_CA_SHA256 } from "./verify/intel_root.ts";
export { evaluateTdxTcb, type QeEvaluation, type TcbEvaluation } from "./verify/tcb_evaluation.ts";
export { TdxVerificationCache, type Windowed } from "./verify/verification_cache.ts";
export type { TcbLevelCommon } from "./collateral/tcb_level.ts";
export {
  type VerifiedTdxQuote,
  verifyTdxQuote,
  type VerifyTdxQuoteOptions,
} from "./verify/verify_quote.ts";
export * from "./validate/validate_quote.ts";
export * from "./reference_values.ts";
export {
  TdxEvidenceVerifier,
  type TdxEvidenceVerifierOptions,
  tdxTrustAnchorOf,
  type TdxVerification,
} from "./verifier.ts";
export * from "./pcs/client.ts";
export * from "./pcs/collateral_dir.ts";
export * from "./guest.ts";

/**
 * Intel TDX attestation: quote parsing (v4/v5), verification with Intel collateral to a TCB
 * status, reference values, the Intel PCS client and the guest side. The simulated authority is
 * in `testing/tdx/`.
 *
 * @module
 */
export * from "./quote/types.ts";
export { parseSgxReportBody, parseTdxQuote } from "./quote/parse_quote.ts";
export { describeTdxQuote } from "./quote/describe.ts";
export * from "./pck/sgx_extensions.ts";
export * from "./collateral/tcb_status.ts";
export { parseTdxTcbInfoResponse, type TdxTcbInfo } from "./collateral/tcb_info.ts";
export { parseQeIdentityResponse, type QeIdentity } from "./collateral/qe_identity.ts";
export * from "./verify/collateral_bundle.ts";
export { INTEL_SGX_ROOT_CA_SHA256 } from "./verify/intel_root.ts";
export { evaluateTdxTcb, type TcbEvaluation } from "./verify/tcb_evaluation.ts";
export {
  type VerifiedTdxQuote,
  verifyTdxQuote,
  type VerifyTdxQuoteOptions,
} from "./verify/verify_quote.ts";
export * from "./validate/validate_quote.ts";
export * from "./reference_values.ts";
export { TdxEvidenceVerifier, type TdxEvidenceVerifierOptions } from "./verifier.ts";
export * from "./pcs/client.ts";
export * from "./pcs/collateral_dir.ts";
export * from "./guest.ts";

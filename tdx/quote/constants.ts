/**
 * Numeric constants of the TDX quote format.
 *
 * @module
 */

/** Size of the quote header. */
export const HEADER_SIZE = 48;
/** Size of a TD report 1.0 body. */
export const TD_REPORT_10_SIZE = 584;
/** Size of a TD report 1.5 body. */
export const TD_REPORT_15_SIZE = 648;
/** Size of an SGX report body (the QE report). */
export const SGX_REPORT_SIZE = 384;
/** Attestation key type ECDSA-256-with-P-256 curve. */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
/** TEE type of TDX in the header. */
export const TEE_TYPE_TDX = 0x81;
/** v5 body type of a TD report 1.0. */
export const BODY_TYPE_TD_REPORT_10 = 2;
/** v5 body type of a TD report 1.5. */
export const BODY_TYPE_TD_REPORT_15 = 3;
/** Certification data type: PCK certificate chain (PEM). */
export const CERT_TYPE_PCK_CHAIN = 5;
/** Certification data type: QE report certification data. */
export const CERT_TYPE_QE_REPORT = 6;
/** Intel's QE vendor id. */
export const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";
/** Upper bound on a declared length inside a quote, so a forged length cannot ask for gigabytes. */
export const MAX_QUOTE_SECTION = 1 << 20;

/**
 * The Intel collateral a TDX quote is verified with, as raw PCS responses (untrusted until
 * verified against the pinned root).
 *
 * @module
 */

/** Raw collateral for one platform (FMSPC), in Intel PCS response form. */
export interface TdxCollateral {
  /** Body of `GET /tdx/certification/v4/tcb?fmspc=…`: `{"tcbInfo":…,"signature":…}`. */
  readonly tcbInfo: Uint8Array;
  /** PEM of the `TCB-Info-Issuer-Chain` header (TCB signing cert, root). */
  readonly tcbInfoIssuerChain: string;
  /** Body of `GET /tdx/certification/v4/qe/identity`. */
  readonly qeIdentity: Uint8Array;
  /** PEM of the `SGX-Enclave-Identity-Issuer-Chain` header. */
  readonly qeIdentityIssuerChain: string;
  /** DER of the PCK CRL of the PCK chain's CA (platform or processor); absent if unavailable. */
  readonly pckCrl?: Uint8Array;
  /** PEM of the `SGX-PCK-CRL-Issuer-Chain` header (informational: the CRL is checked against the
   * PCK chain's own, already verified, CA). */
  readonly pckCrlIssuerChain?: string;
  /** DER of the Intel SGX Root CA CRL; absent if unavailable. */
  readonly rootCaCrl?: Uint8Array;
}

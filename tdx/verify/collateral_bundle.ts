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

/** Which PCK CA issued a PCK certificate (selects the PCK CRL). */
export type PckCaType = "platform" | "processor";

/** What collateral is needed for: the platform's FMSPC and the PCK CA that issued its PCK. */
export interface TdxCollateralRequest {
  /** FMSPC from the PCK certificate (6 bytes). */
  readonly fmspc: Uint8Array;
  /** The PCK CA type (from the PCK certificate's issuer). */
  readonly pckCa: PckCaType;
  /** The verification time (cached entries must be current at `now`). */
  readonly now: Date;
}

/** Something that supplies collateral: the Intel PCS client, or a fixed bundle. */
export interface TdxCollateralSource {
  /**
   * Collateral for `request` (untrusted; the verifier checks it).
   *
   * @throws {import("../../util/errors/mod.ts").UnavailableError} when it cannot be had
   */
  collateralFor(request: TdxCollateralRequest): Promise<TdxCollateral>;
}

/** A collateral source that always returns the same bundle (offline use, tests). */
export class StaticTdxCollateral implements TdxCollateralSource {
  readonly #collateral: TdxCollateral;

  /** Serves `collateral` for every request. */
  constructor(collateral: TdxCollateral) {
    this.#collateral = collateral;
  }

  /** Returns the bundle. */
  collateralFor(_request: TdxCollateralRequest): Promise<TdxCollateral> {
    return Promise.resolve(this.#collateral);
  }
}

/**
 * The Intel collateral a TDX quote is verified with, as raw PCS responses (untrusted until
 * verified against the pinned root).
 *
 * @module
 */

/**
 * Raw collateral for one platform (FMSPC), in Intel PCS response form.
 *
 * @example Collateral read from files Intel PCS served
 * ```ts
 * import type { TdxCollateral } from "../mod.ts";
 *
 * async function fromFiles(dir: string): Promise<TdxCollateral> {
 *   return {
 *     tcbInfo: await Deno.readFile(`${dir}/tcbinfo.json`),
 *     tcbInfoIssuerChain: await Deno.readTextFile(`${dir}/tcbinfo-chain.pem`),
 *     qeIdentity: await Deno.readFile(`${dir}/qeidentity.json`),
 *     qeIdentityIssuerChain: await Deno.readTextFile(`${dir}/qeidentity-chain.pem`),
 *   };
 * }
 * ```
 */
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

/**
 * Which PCK CA issued a PCK certificate (selects the PCK CRL).
 *
 * @example Collateral for a platform-CA PCK
 * ```ts
 * import type { PckCaType, TdxCollateralRequest } from "../mod.ts";
 *
 * const pckCa: PckCaType = "platform";
 * const request: TdxCollateralRequest = { fmspc: new Uint8Array(6), pckCa, now: new Date() };
 * ```
 */
export type PckCaType = "platform" | "processor";

/**
 * What collateral is needed for: the platform's FMSPC and the PCK CA that issued its PCK.
 *
 * @example Ask a source for the collateral of one platform
 * ```ts
 * import type { TdxCollateralRequest, TdxCollateralSource } from "../mod.ts";
 *
 * async function fetchFor(source: TdxCollateralSource, fmspc: Uint8Array) {
 *   const request: TdxCollateralRequest = { fmspc, pckCa: "processor", now: new Date() };
 *   return await source.collateralFor(request);
 * }
 * ```
 */
export interface TdxCollateralRequest {
  /** FMSPC from the PCK certificate (6 bytes). */
  readonly fmspc: Uint8Array;
  /** The PCK CA type (from the PCK certificate's issuer). */
  readonly pckCa: PckCaType;
  /** The verification time (cached entries must be current at `now`). */
  readonly now: Date;
}

/**
 * Something that supplies collateral: the Intel PCS client, or a fixed bundle.
 *
 * @example A source that logs each request
 * ```ts
 * import type { TdxCollateralSource } from "../mod.ts";
 *
 * function logged(inner: TdxCollateralSource): TdxCollateralSource {
 *   return {
 *     collateralFor(request) {
 *       console.log("collateral for", request.pckCa, request.now.toISOString());
 *       return inner.collateralFor(request);
 *     },
 *   };
 * }
 * ```
 */
export interface TdxCollateralSource {
  /**
   * Collateral for `request` (untrusted; the verifier checks it).
   *
   * @throws {import("../../util/errors/mod.ts").UnavailableError} when it cannot be had
   */
  collateralFor(request: TdxCollateralRequest): Promise<TdxCollateral>;
}

/**
 * A collateral source that always returns the same bundle (offline use, tests).
 *
 * @example Always answer with the same (already fetched) collateral
 * ```ts
 * import { defaultTdxReferenceValues, StaticTdxCollateral, type TdxCollateral, TdxEvidenceVerifier } from "../mod.ts";
 *
 * function verifierWith(collateral: TdxCollateral): TdxEvidenceVerifier {
 *   return new TdxEvidenceVerifier({
 *     referenceValues: defaultTdxReferenceValues(),
 *     collateral: new StaticTdxCollateral(collateral),
 *   });
 * }
 * ```
 */
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

/**
 * Intel PCS (Provisioning Certification Service) client for TDX collateral: TCB info, QE
 * identity, PCK CRL, each with its issuer-chain header, and the Intel SGX Root CA CRL. The
 * client only transports bytes: everything it returns is verified by `verifyTdxQuote`.
 *
 * @module
 */
import { UnavailableError } from "../../errors/mod.ts";
import { encodeHex } from "../../bytes/mod.ts";
import { readFromBundle } from "../../collateral/bundle.ts";
import type {
  TdxCollateral,
  TdxCollateralRequest,
  TdxCollateralSource,
} from "../verify/collateral_bundle.ts";

/** Intel's production PCS API. */
export const INTEL_PCS_BASE_URL = "https://api.trustedservices.intel.com";
/** Where Intel publishes the SGX Root CA CRL. */
export const INTEL_ROOT_CA_CRL_URL =
  "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

/** Header carrying the TCB info signing chain (URL-encoded PEM). */
export const TCB_INFO_ISSUER_CHAIN_HEADER = "tcb-info-issuer-chain";
/** Header carrying the QE identity signing chain. */
export const QE_IDENTITY_ISSUER_CHAIN_HEADER = "sgx-enclave-identity-issuer-chain";
/** Header carrying the PCK CRL issuer chain. */
export const PCK_CRL_ISSUER_CHAIN_HEADER = "sgx-pck-crl-issuer-chain";

/** A response: body and lower-case headers. */
export interface PcsResponse {
  /** Body bytes. */
  readonly body: Uint8Array;
  /** Lower-case header names to values. */
  readonly headers: Readonly<Record<string, string>>;
}

/** How the client gets bytes for a URL (network, cache, offline bundle). */
export interface PcsTransport {
  /**
   * The response for `url`.
   *
   * @throws {UnavailableError} when it cannot be had
   */
  get(url: string): Promise<PcsResponse>;
}

/** The PCS URLs for one collateral request. */
export function pcsUrls(
  request: Pick<TdxCollateralRequest, "fmspc" | "pckCa">,
  baseUrl = INTEL_PCS_BASE_URL,
  rootCaCrlUrl = INTEL_ROOT_CA_CRL_URL,
): { tcbInfo: string; qeIdentity: string; pckCrl: string; rootCaCrl: string } {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    tcbInfo: `${base}/tdx/certification/v4/tcb?fmspc=${encodeHex(request.fmspc).toUpperCase()}`,
    qeIdentity: `${base}/tdx/certification/v4/qe/identity`,
    pckCrl: `${base}/sgx/certification/v4/pckcrl?ca=${request.pckCa}&encoding=der`,
    rootCaCrl: rootCaCrlUrl,
  };
}

function chainHeader(r: PcsResponse, header: string, url: string): string {
  const value = r.headers[header];
  if (!value) throw new UnavailableError(url, `response has no ${header} header`);
  try {
    return decodeURIComponent(value);
  } catch (e) {
    throw new UnavailableError(url, `${header} header is not URL-encoded PEM`, { cause: e });
  }
}

/** Options of {@link IntelPcsClient}. */
export interface IntelPcsClientOptions {
  /** Where bytes come from. */
  readonly transport: PcsTransport;
  /** PCS base URL (default Intel's production API). */
  readonly baseUrl?: string;
  /** Root CA CRL URL (default Intel's). */
  readonly rootCaCrlUrl?: string;
}

/** Fetches TDX collateral from Intel PCS (or anything serving its paths). */
export class IntelPcsClient implements TdxCollateralSource {
  readonly #options: IntelPcsClientOptions;

  constructor(options: IntelPcsClientOptions) {
    this.#options = options;
  }

  /** Fetches the four collateral items concurrently. */
  async collateralFor(request: TdxCollateralRequest): Promise<TdxCollateral> {
    const urls = pcsUrls(request, this.#options.baseUrl, this.#options.rootCaCrlUrl);
    const t = this.#options.transport;
    const [tcb, qe, pckCrl, rootCrl] = await Promise.all([
      t.get(urls.tcbInfo),
      t.get(urls.qeIdentity),
      t.get(urls.pckCrl),
      t.get(urls.rootCaCrl),
    ]);
    return {
      tcbInfo: tcb.body,
      tcbInfoIssuerChain: chainHeader(tcb, TCB_INFO_ISSUER_CHAIN_HEADER, urls.tcbInfo),
      qeIdentity: qe.body,
      qeIdentityIssuerChain: chainHeader(qe, QE_IDENTITY_ISSUER_CHAIN_HEADER, urls.qeIdentity),
      pckCrl: pckCrl.body,
      pckCrlIssuerChain: chainHeader(pckCrl, PCK_CRL_ISSUER_CHAIN_HEADER, urls.pckCrl),
      rootCaCrl: rootCrl.body,
    };
  }
}

/** A transport reading an offline collateral bundle directory (see `collateral/bundle.ts`). */
export function bundleTransport(dir: string): PcsTransport {
  return {
    async get(url: string): Promise<PcsResponse> {
      const r = await readFromBundle(dir, url);
      if (!r) throw new UnavailableError(url, `not in the offline collateral bundle ${dir}`);
      return { body: r.body, headers: r.headers };
    },
  };
}

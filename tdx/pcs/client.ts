/**
 * Intel PCS (Provisioning Certification Service) client for TDX collateral: TCB info, QE
 * identity, PCK CRL, each with its issuer-chain header, and the Intel SGX Root CA CRL. Everything
 * it returns is verified by `verifyTdxQuote`; the caching transport also checks each network
 * response (signature and chain to the pinned root) before caching it, and keeps responses
 * checked against different roots in different cache entries (its trust domain).
 *
 * @module
 */
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { type Certificate, normaliseFingerprint } from "../../x509/certificate.ts";
import type { TrustAnchor } from "../../x509/chain.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../verify/intel_root.ts";
import { checkPcsResponse, pinnedRootOf } from "./response_check.ts";
import { parseCrl } from "../../x509/crl.ts";
import { type CachingFetcher, trustDomainOf } from "../../collateral/caching_fetcher.ts";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { readFromBundle } from "../../collateral/bundle.ts";
import type { RevocationCandidate, RevocationMarks } from "../../collateral/revocation_marks.ts";
import { parseTdxTcbInfoResponse } from "../collateral/tcb_info.ts";
import { parseQeIdentityResponse } from "../collateral/qe_identity.ts";
import {
  intelCrlCandidate,
  qeIdentityCandidate,
  tcbInfoCandidate,
} from "../verify/revocation_candidates.ts";
import type {
  PckCaType,
  TdxCollateral,
  TdxCollateralRequest,
  TdxCollateralSource,
} from "../verify/collateral_bundle.ts";

/**
 * Intel's production PCS API.
 *
 * @example Point a client at a PCCS mirror instead of Intel
 * ```ts
 * import { cachingFetcherTransport, INTEL_PCS_BASE_URL, IntelPcsClient } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const pcs = new IntelPcsClient({
 *   transport: cachingFetcherTransport(new CachingFetcher()),
 *   baseUrl: Deno.env.get("PCCS_URL") ?? INTEL_PCS_BASE_URL,
 * });
 * ```
 */
export const INTEL_PCS_BASE_URL = "https://api.trustedservices.intel.com";
/**
 * Where Intel publishes the Intel SGX Root CA CRL (DER): the CRL distribution point named in the
 * root CA certificate. Real verification takes the root CA CRL from here whatever PCS base URL
 * serves the other collateral, unless the user names another URL (`--root-ca-crl-url`,
 * `CONTRAST_ROOT_CA_CRL_URL`): a caching service (PCCS) could otherwise replay an older, still
 * valid CRL that omits a revocation.
 *
 * @example Pre-fetch the root CA CRL into an offline bundle
 * ```ts
 * import { INTEL_ROOT_CA_CRL_URL } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * async function exportRootCrl(fetcher: CachingFetcher, bundleDir: string) {
 *   return await fetcher.exportBundle(bundleDir, [INTEL_ROOT_CA_CRL_URL]);
 * }
 * ```
 */
export const INTEL_ROOT_CA_CRL_URL =
  "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

/** Header carrying the TCB info signing chain (URL-encoded PEM). */
const TCB_INFO_ISSUER_CHAIN_HEADER = "tcb-info-issuer-chain";
/** Header carrying the QE identity signing chain. */
const QE_IDENTITY_ISSUER_CHAIN_HEADER = "sgx-enclave-identity-issuer-chain";
/** Header carrying the PCK CRL issuer chain. */
const PCK_CRL_ISSUER_CHAIN_HEADER = "sgx-pck-crl-issuer-chain";

/**
 * A response: body and lower-case headers.
 *
 * @example A response served from memory
 * ```ts
 * import type { PcsResponse } from "../mod.ts";
 *
 * const response: PcsResponse = { body: new Uint8Array(), headers: { "content-type": "application/json" } };
 * ```
 */
export interface PcsResponse {
  /** Body bytes. */
  readonly body: Uint8Array;
  /** Lower-case header names to values. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Which PCS resource a URL is (decides how long a response may be cached).
 *
 * @example Log what is fetched
 * ```ts
 * import type { PcsResourceKind } from "../mod.ts";
 *
 * function label(kind: PcsResourceKind): string {
 *   return kind === "tcbInfo" ? "TCB info" : kind;
 * }
 * ```
 */
export type PcsResourceKind = "tcbInfo" | "qeIdentity" | "pckCrl" | "rootCaCrl";

/**
 * How the client gets bytes for a URL (network, cache, offline bundle).
 *
 * @example A transport over plain fetch (no cache, no verification before use)
 * ```ts
 * import { IntelPcsClient, type PcsTransport } from "../mod.ts";
 *
 * const transport: PcsTransport = {
 *   async get(url) {
 *     const response = await fetch(url);
 *     return {
 *       body: new Uint8Array(await response.arrayBuffer()),
 *       headers: Object.fromEntries(response.headers),
 *     };
 *   },
 * };
 * const pcs = new IntelPcsClient({ transport });
 * ```
 */
export interface PcsTransport {
  /**
   * The response for `url`. For the root CA CRL, `tcbInfo` is the TCB info response of the same
   * request: its issuer chain names the root the CRL must be signed by.
   *
   * @throws {UnavailableError} when it cannot be had
   */
  get(url: string, kind: PcsResourceKind, tcbInfo?: Promise<PcsResponse>): Promise<PcsResponse>;
}

/**
 * Until when a PCS response may be served from a cache: its own `nextUpdate` (TCB info and QE
 * identity JSON, CRLs). The content is not trusted by this; the verifier checks it at its `now`.
 *
 * @throws {import("../../util/errors/mod.ts").ParseError} when the body has no readable nextUpdate
 *   (such a response is not cached)
 */
function pcsValidUntil(kind: PcsResourceKind, body: Uint8Array): Date {
  if (kind === "tcbInfo" || kind === "qeIdentity") {
    const key = kind === "tcbInfo" ? "tcbInfo" : "enclaveIdentity";
    let next: unknown;
    try {
      next =
        (JSON.parse(new TextDecoder().decode(body)) as Record<string, Record<string, unknown>>)[key]
          ?.nextUpdate;
    } catch (e) {
      throw new ParseError(kind, "not JSON", { cause: e });
    }
    const d = typeof next === "string" ? new Date(next) : undefined;
    if (!d || Number.isNaN(d.getTime())) throw new ParseError(`${kind}.nextUpdate`, "missing");
    return d;
  }
  const next = parseCrl(body, kind).nextUpdate;
  if (!next) throw new ParseError(`${kind}.nextUpdate`, "missing");
  return next;
}

/** The SHA-256 fingerprint a trust anchor names (a fingerprint, or a parsed root's). */
function anchorFingerprint(anchor: TrustAnchor): Promise<string> {
  return typeof anchor === "string"
    ? Promise.resolve(normaliseFingerprint(anchor))
    : anchor.fingerprint();
}

/**
 * Options of {@link cachingFetcherTransport}.
 *
 * @example Pin the clock (for replaying a recorded run)
 * ```ts
 * import type { CachingTransportOptions } from "../mod.ts";
 *
 * const options: CachingTransportOptions = { clock: () => new Date("2026-11-01T00:00:00Z") };
 * ```
 */
export interface CachingTransportOptions {
  /** Roots network responses must chain to before they are cached (default: the Intel root). */
  readonly trustAnchors?: readonly TrustAnchor[];
  /** The time they are checked at (default: the wall clock). */
  readonly clock?: () => Date;
  /**
   * The verifier's revocation marks: a network response older than what they hold is refused
   * before it is cached (a `RevocationRollbackError`), so it does not sit in the cache until its
   * `nextUpdate` while the verifier refuses it. Nothing is raised here.
   */
  readonly revocationMarks?: RevocationMarks;
}

const ISSUER_CHAIN_HEADER: Record<PcsResourceKind, string | undefined> = {
  tcbInfo: TCB_INFO_ISSUER_CHAIN_HEADER,
  qeIdentity: QE_IDENTITY_ISSUER_CHAIN_HEADER,
  pckCrl: PCK_CRL_ISSUER_CHAIN_HEADER,
  rootCaCrl: undefined,
};

/**
 * A transport on the shared collateral {@link CachingFetcher}: disk cache kept until each
 * response's nextUpdate, merged concurrent misses, 429/Retry-After handling, offline mode and
 * import directories. A network response is cached only once it passed
 * {@link checkPcsResponse} against `trustAnchors`; one that fails is not cached and its error
 * propagates.
 *
 * @example Trust a test root besides Intel's
 * ```ts
 * import { cachingFetcherTransport, INTEL_SGX_ROOT_CA_SHA256 } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const transport = cachingFetcherTransport(new CachingFetcher({ offline: true, importDirs: ["./bundle"] }), {
 *   trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
 * });
 * ```
 */
export function cachingFetcherTransport(
  fetcher: CachingFetcher,
  options: CachingTransportOptions = {},
): PcsTransport {
  const trustAnchors = options.trustAnchors ?? [INTEL_SGX_ROOT_CA_SHA256];
  const clock = options.clock ?? (() => new Date());
  // Responses accepted for these roots are cached apart from those of any other roots.
  let trustDomain: Promise<string> | undefined;
  return {
    async get(
      url: string,
      kind: PcsResourceKind,
      tcbInfo?: Promise<PcsResponse>,
    ): Promise<PcsResponse> {
      const verify = async (body: Uint8Array, headers: Record<string, string>) => {
        const now = clock();
        const header = ISSUER_CHAIN_HEADER[kind];
        const issuerChainPem = header ? chainHeader({ body, headers }, header, url) : undefined;
        let root: Certificate | undefined;
        if (kind === "rootCaCrl" && tcbInfo) {
          const tcb = await tcbInfo;
          root = await pinnedRootOf(
            "tcbInfoIssuerChain",
            chainHeader(tcb, TCB_INFO_ISSUER_CHAIN_HEADER, url),
            { trustAnchors, now },
          );
        }
        const verifiedRoot = await checkPcsResponse(kind, body, {
          trustAnchors,
          now,
          issuerChainPem,
          root,
          ...(kind === "tcbInfo" ? { fmspc: requestedFmspc(url) } : {}),
          ...(kind === "pckCrl" ? { pckCa: requestedPckCa(url) } : {}),
        });
        if (options.revocationMarks !== undefined) {
          const rootFingerprint = await verifiedRoot.fingerprint();
          await options.revocationMarks.check([candidateOf(kind, body, rootFingerprint)]);
        }
      };
      const r = await fetcher.get(url, {
        verify,
        validUntil: (body) => pcsValidUntil(kind, body),
        trustDomain: await (trustDomain ??= Promise.all(trustAnchors.map(anchorFingerprint))
          .then(trustDomainOf)),
      });
      return { body: r.body, headers: r.headers };
    },
  };
}

/** The rollback candidate of a PCS response that verified under `root`. */
function candidateOf(kind: PcsResourceKind, body: Uint8Array, root: string): RevocationCandidate {
  switch (kind) {
    case "tcbInfo":
      return tcbInfoCandidate(parseTdxTcbInfoResponse(body).tcbInfo, root);
    case "qeIdentity":
      return qeIdentityCandidate(parseQeIdentityResponse(body).qeIdentity, root);
    case "pckCrl":
    case "rootCaCrl":
      return intelCrlCandidate(parseCrl(body, kind), kind, root);
  }
}

/**
 * The FMSPC a TCB info URL asks for (its `fmspc` query parameter, as {@link pcsUrls} writes it),
 * so a genuine TCB info of another platform is not cached under it.
 */
function requestedFmspc(url: string): Uint8Array {
  return decodeHex(new URL(url).searchParams.get("fmspc") ?? "", `${url}: fmspc`, 6);
}

/**
 * The PCK CA a PCK CRL URL asks for (its `ca` query parameter, as {@link pcsUrls} writes it), so
 * the other CA's genuine CRL is not cached under it.
 */
function requestedPckCa(url: string): PckCaType {
  return new URL(url).searchParams.get("ca") === "processor" ? "processor" : "platform";
}

/** Where a PCS-compatible service (a PCCS, a stand-in) serves the root CA CRL (read as DER). */
const PCS_ROOT_CA_CRL_PATH = "/sgx/certification/v4/rootcacrl";

/**
 * The root CA CRL URL of the PCS-compatible service at `baseUrl` (its
 * `/sgx/certification/v4/rootcacrl`). Only for a simulated authority's stand-in, whose root is
 * the stand-in's own: real verification never takes Intel's root CA CRL from the service that
 * also serves the rest (see {@link INTEL_ROOT_CA_CRL_URL}).
 *
 * @example A PCS client for a simulated authority's stand-in
 * ```ts
 * import { cachingFetcherTransport, IntelPcsClient, pcsServiceRootCaCrlUrl } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const base = "http://127.0.0.1:8081";
 * const simulatedRoot = "ab".repeat(32);
 * const pcs = new IntelPcsClient({
 *   transport: cachingFetcherTransport(new CachingFetcher(), { trustAnchors: [simulatedRoot] }),
 *   baseUrl: base,
 *   rootCaCrlUrl: pcsServiceRootCaCrlUrl(base),
 * });
 * ```
 */
export function pcsServiceRootCaCrlUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${PCS_ROOT_CA_CRL_PATH}`;
}

/**
 * The PCS URLs for one collateral request. The root CA CRL comes from `rootCaCrlUrl`, by default
 * Intel's published location ({@link INTEL_ROOT_CA_CRL_URL}) for every base URL: a PCCS serves
 * TCB info, QE identity and the PCK CRL, never the root's revocation list.
 */
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

/**
 * Options of {@link IntelPcsClient}.
 *
 * @example A PCS client on the shared caching fetcher
 * ```ts
 * import { cachingFetcherTransport, IntelPcsClient, type IntelPcsClientOptions } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const options: IntelPcsClientOptions = {
 *   transport: cachingFetcherTransport(new CachingFetcher({ cacheDir: "/var/cache/pcs" })),
 * };
 * const pcs = new IntelPcsClient(options);
 * ```
 */
export interface IntelPcsClientOptions {
  /** Where bytes come from. */
  readonly transport: PcsTransport;
  /** PCS base URL (default Intel's production API). */
  readonly baseUrl?: string;
  /**
   * Root CA CRL URL (default: Intel's published location, {@link INTEL_ROOT_CA_CRL_URL}, whatever
   * `baseUrl` is; a simulated authority's stand-in passes {@link pcsServiceRootCaCrlUrl}).
   */
  readonly rootCaCrlUrl?: string;
}

/**
 * Fetches TDX collateral from Intel PCS (or anything serving its paths).
 *
 * @example Fetch the collateral for a quote's platform
 * ```ts
 * import { cachingFetcherTransport, IntelPcsClient, type TdxCollateral } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * async function collateralFor(fmspc: Uint8Array): Promise<TdxCollateral> {
 *   const pcs = new IntelPcsClient({ transport: cachingFetcherTransport(new CachingFetcher()) });
 *   return await pcs.collateralFor({ fmspc, pckCa: "platform", now: new Date() });
 * }
 * ```
 */
export class IntelPcsClient implements TdxCollateralSource {
  readonly #options: IntelPcsClientOptions;

  /** A client of Intel PCS configured by `options`. */
  constructor(options: IntelPcsClientOptions) {
    this.#options = options;
  }

  /**
   * Fetches the four collateral items concurrently. It settles only when all four have: a failed
   * item's error is thrown after the others finished, so no fetch or cache write outlives the call.
   */
  async collateralFor(request: TdxCollateralRequest): Promise<TdxCollateral> {
    const urls = pcsUrls(request, this.#options.baseUrl, this.#options.rootCaCrlUrl);
    const t = this.#options.transport;
    const tcbInfo = t.get(urls.tcbInfo, "tcbInfo");
    const [tcb, qe, pckCrl, rootCrl] = await allFulfilled([
      tcbInfo,
      t.get(urls.qeIdentity, "qeIdentity"),
      t.get(urls.pckCrl, "pckCrl"),
      t.get(urls.rootCaCrl, "rootCaCrl", tcbInfo),
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

/** The values of `promises` once every one has settled; the first rejection (in order) if any. */
async function allFulfilled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** A transport reading an offline collateral bundle directory (see `collateral/bundle.ts`). */
export function bundleTransport(dir: string): PcsTransport {
  return {
    async get(url: string, _kind: PcsResourceKind): Promise<PcsResponse> {
      const r = await readFromBundle(dir, url);
      if (!r) throw new UnavailableError(url, `not in the offline collateral bundle ${dir}`);
      return { body: r.body, headers: r.headers };
    },
  };
}

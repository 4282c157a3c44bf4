/**
 * The AMD KDS client: VCEKs, certificate chains and CRLs through the shared collateral
 * {@link CachingFetcher} (disk cache, merged concurrent misses, retries honouring 429
 * `Retry-After`, offline mode and imported bundles). The fetcher is untrusted like the network,
 * so everything is verified before it is returned: the chain's ARK must be the pinned AMD root of
 * the product and sign the ASK/ASVK, the VCEK must be signed by that ASK and be the one asked for
 * (product, hwID, TCB), and the CRL must be signed by the ARK and not be older than the newest
 * one accepted before (the revocation marks of `collateral/revocation_marks.ts`). The CRL comes
 * from AMD's KDS whatever base URL serves the rest, unless `crlBaseUrl` names another. These checks run as the
 * fetcher's `verify` hook too, so a network response that fails them is never cached, and every
 * request names its trust domain (the roots accepted for the product), so what a simulated KDS stand-in
 * served is cached apart from what a lookup against AMD's pinned roots reads.
 *
 * @module
 */
import { bytesEqual, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { type CachingFetcher, trustDomainOf } from "../../collateral/caching_fetcher.ts";
import type { LookupAllowance } from "../../collateral/lookup_budget.ts";
import {
  CRL_MARK_NAMES,
  type RevocationCandidate,
  RevocationMarks,
} from "../../collateral/revocation_marks.ts";
import { type Certificate, parseCertificate, parseCertificates } from "../../x509/certificate.ts";
import type { ChainCache } from "../../x509/chain_cache.ts";
import { checkCrlExceptSignature, type Crl, parseCrl, verifyCrl } from "../../x509/crl.ts";
import { verifyChain } from "../../x509/chain.ts";
import type { SnpProductName } from "../abi/product.ts";
import type { SnpTcbParts } from "../abi/tcb.ts";
import { intermediateName } from "../verify/chain.ts";
import { AMD_ARK_SHA256 } from "../verify/roots.ts";
import { AMD_VEK_OID, readVekExtensions, type VekKind } from "../verify/vek_extensions.ts";
import type { SnpCertChain, SnpCollateralSource } from "./source.ts";
import { AMD_KDS_BASE_URL, certChainUrl, crlUrl, vcekUrl } from "./urls.ts";

/**
 * Options of an {@link AmdKdsClient}.
 *
 * @example A KDS client with its own cache directory
 * ```ts
 * import { AmdKdsClient, type AmdKdsClientOptions } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * const options: AmdKdsClientOptions = { fetcher: new CachingFetcher({ cacheDir: "/var/cache/kds" }) };
 * const kds = new AmdKdsClient(options);
 * ```
 */
export interface AmdKdsClientOptions {
  /** The collateral fetcher (cache, offline bundles, retries). */
  readonly fetcher: CachingFetcher;
  /** KDS base URL (default `https://kdsintf.amd.com`; tests point it at a local server). */
  readonly baseUrl?: string;
  /**
   * Base URL of the service AMD's CRLs come from (`<base>/{vcek,vlek}/v1/<product>/crl`).
   * Default: AMD's KDS ({@link AMD_KDS_BASE_URL}) whatever `baseUrl` is, so a caching KDS proxy
   * cannot replay an older, still valid CRL that omits a revocation. Only a simulated authority's
   * stand-in (whose ARK is its own) passes its own base URL here.
   */
  readonly crlBaseUrl?: string;
  /** The time fetched certificates and CRLs are checked at (default: the wall clock). */
  readonly clock?: () => Date;
  /**
   * Roots accepted per product, as SHA-256 fingerprints. Default: the pinned AMD ARKs. Tests
   * that serve a simulated KDS name their simulated root here.
   */
  readonly trustedRoots?: Readonly<Partial<Record<SnpProductName, readonly string[]>>>;
  /** Cache of verified chains. */
  readonly chainCache?: ChainCache;
  /**
   * The newest AMD CRL accepted per product, kind and ARK: an older one (lower `crlNumber`, or
   * earlier `thisUpdate`) is refused with a `RevocationRollbackError`. Default: marks of this
   * client, in memory; pass marks persisted next to the collateral cache to keep them across
   * restarts.
   */
  readonly revocationMarks?: RevocationMarks;
}

/**
 * Fetches and verifies AMD collateral; see the module documentation.
 *
 * @example Fetch a VCEK and the chain above it
 * ```ts
 * import { AmdKdsClient } from "../mod.ts";
 * import { CachingFetcher } from "../../collateral/mod.ts";
 *
 * async function fetchVcek(hwId: Uint8Array) {
 *   const kds = new AmdKdsClient({ fetcher: new CachingFetcher({}) });
 *   const vcek = await kds.vcek("Genoa", hwId, { bootloader: 9, tee: 0, snp: 23, microcode: 72 });
 *   const { intermediate, ark } = await kds.certChain("Genoa", "VCEK");
 *   return [vcek, intermediate, ark];
 * }
 * ```
 */
export class AmdKdsClient implements SnpCollateralSource {
  readonly #fetcher: CachingFetcher;
  readonly #base: string;
  readonly #crlBase: string;
  readonly #clock: () => Date;
  readonly #roots: Readonly<Partial<Record<SnpProductName, readonly string[]>>>;
  readonly #cache?: ChainCache;
  readonly #marks: RevocationMarks;
  /** Verified chains per product and kind, so a VCEK fetch and the chain need one request. */
  readonly #chains = new Map<string, Promise<SnpCertChain>>();
  /** How to keep each VCEK fetched from the network, until a report it signed verifies. */
  readonly #unkept = new WeakMap<Certificate, () => Promise<void>>();
  /**
   * Per CRL URL, the CRL whose signature verified last: a copy of its bytes, its ARK, itself and
   * its rollback candidate.
   */
  readonly #verifiedCrls = new Map<
    string,
    {
      readonly bytes: Uint8Array;
      readonly ark: Certificate;
      readonly crl: Crl;
      readonly candidate: RevocationCandidate;
    }
  >();

  /** A client of AMD KDS (or `options.baseUrl`) fetching through `options.fetcher`. */
  constructor(options: AmdKdsClientOptions) {
    this.#fetcher = options.fetcher;
    this.#base = options.baseUrl ?? AMD_KDS_BASE_URL;
    this.#crlBase = options.crlBaseUrl ?? AMD_KDS_BASE_URL;
    this.#clock = options.clock ?? (() => new Date());
    this.#roots = options.trustedRoots ?? {};
    this.#cache = options.chainCache;
    this.#marks = options.revocationMarks ?? new RevocationMarks();
  }

  #rootsOf(product: SnpProductName): readonly string[] {
    return this.#roots[product] ?? [AMD_ARK_SHA256[product]];
  }

  /**
   * The ASK (or ASVK) and ARK of `product`, verified: ARK pinned and self-signed, intermediate
   * named as AMD names it and signed by the ARK.
   *
   * @throws {import("../../util/errors/mod.ts").UnavailableError} when KDS (or the offline cache)
   *   cannot provide it
   * @throws {VerificationError} when what came back does not verify
   */
  certChain(product: SnpProductName, kind: VekKind): Promise<SnpCertChain> {
    const key = `${product}/${kind}`;
    let chain = this.#chains.get(key);
    if (chain === undefined) {
      chain = this.#fetchCertChain(product, kind);
      this.#chains.set(key, chain);
      chain.catch(() => this.#chains.delete(key));
    }
    return chain;
  }

  async #fetchCertChain(product: SnpProductName, kind: VekKind): Promise<SnpCertChain> {
    const url = certChainUrl(product, kind, this.#base);
    const check = verifiedOnce((body) => this.#verifyCertChain(body, url, product, kind));
    const { body } = await this.#fetcher.get(url, {
      accept: "application/x-pem-file",
      verify: check.hook,
      trustDomain: trustDomainOf(this.#rootsOf(product)),
    });
    return await check.result(body);
  }

  async #verifyCertChain(
    body: Uint8Array,
    url: string,
    product: SnpProductName,
    kind: VekKind,
  ): Promise<SnpCertChain> {
    const certs = parseCertificates(new TextDecoder().decode(body), url);
    if (certs.length !== 2) {
      throw new VerificationError(
        url,
        `expected 2 certificates (intermediate, ARK), got ${certs.length}`,
      );
    }
    const [intermediate, ark] = certs as [Certificate, Certificate];
    const expected = intermediateName(kind, product);
    if (!new RegExp(`(^|,\\s*)CN=${expected}(,|$)`).test(intermediate.subject)) {
      throw new VerificationError(
        url,
        `first certificate is "${intermediate.subject}", expected CN=${expected}`,
      );
    }
    await verifyChain({
      leaf: intermediate,
      intermediates: [ark],
      trustAnchors: this.#rootsOf(product),
      now: this.#clock(),
      field: url,
      cache: this.#cache,
      maxLength: 2,
    });
    return { intermediate, ark };
  }

  /**
   * The VCEK of chip `hwId` at `tcb`, verified against the chain of `product` and checked to be
   * the certificate asked for. A network lookup first takes a token of `options.allowance` (the
   * budget of the client whose evidence chose the chip and TCB).
   *
   * @throws {import("../../util/errors/mod.ts").UnavailableError} when it cannot be fetched
   * @throws {VerificationError} when it does not verify or is for another chip or TCB
   */
  async vcek(
    product: SnpProductName,
    hwId: Uint8Array,
    tcb: SnpTcbParts,
    options: { readonly allowance?: LookupAllowance } = {},
  ): Promise<Certificate> {
    const url = vcekUrl(product, hwId, tcb, this.#base);
    const chain = this.certChain(product, "VCEK");
    // Not awaited before the fetch, so a fetch failure is what the caller sees; handled below.
    chain.catch(() => {});
    const check = verifiedOnce((body) => this.#verifyVcek(body, url, product, hwId, tcb, chain));
    // The evidence chooses the URL (chip ID, TCB): the VCEK goes to the disk cache only once a
    // report it signed verified (see keepVcek), so forged TCBs cannot fill the disk.
    const { body, keep } = await this.#fetcher.get(url, {
      accept: "application/x-x509-ca-cert",
      verify: check.hook,
      trustDomain: trustDomainOf(this.#rootsOf(product)),
      deferCacheWrite: true,
      ...(options.allowance ? { allowance: options.allowance } : {}),
    });
    const vcek = await check.result(body);
    if (keep) this.#unkept.set(vcek, keep);
    return vcek;
  }

  /**
   * Writes `vcek` (as {@link vcek} returned it from the network) to the disk cache; call it once
   * a report it signed verified. Does nothing for a VCEK from the cache or a bundle.
   */
  async keepVcek(vcek: Certificate): Promise<void> {
    const keep = this.#unkept.get(vcek);
    this.#unkept.delete(vcek);
    await keep?.();
  }

  async #verifyVcek(
    body: Uint8Array,
    url: string,
    product: SnpProductName,
    hwId: Uint8Array,
    tcb: SnpTcbParts,
    chainPromise: Promise<SnpCertChain>,
  ): Promise<Certificate> {
    const vcek = parseCertificate(body, "vcek");
    const chain = await chainPromise;
    await verifyChain({
      leaf: vcek,
      intermediates: [chain.intermediate, chain.ark],
      trustAnchors: this.#rootsOf(product),
      now: this.#clock(),
      field: url,
      cache: this.#cache,
      understoodCriticalExtensions: Object.values(AMD_VEK_OID),
      maxLength: 3,
    });
    const ext = readVekExtensions(vcek);
    const wantId = product === "Turin" ? hwId.subarray(0, 8) : hwId;
    if (
      ext.kind !== "VCEK" || ext.product !== product || encodeHex(ext.hwId!) !== encodeHex(wantId)
    ) {
      throw new VerificationError(url, `KDS returned a certificate for another chip or product`);
    }
    for (const c of ["bootloader", "tee", "snp", "microcode", "fmc"] as const) {
      if ((ext.tcb[c] ?? 0) !== (tcb[c] ?? 0)) {
        throw new VerificationError(
          url,
          `KDS returned a VCEK for ${c} SPL ${ext.tcb[c]}, asked for ${tcb[c]}`,
        );
      }
    }
    return vcek;
  }

  /**
   * The CRL of `product` and `kind` from the CRL service (AMD's KDS unless `crlBaseUrl` names
   * another), its signature checked against the verified ARK, and not older than the newest one
   * this client's revocation marks accepted for the product, kind and ARK (which it then raises).
   * Cached until its `nextUpdate`.
   *
   * @throws {import("../../util/errors/mod.ts").UnavailableError} when it cannot be fetched
   * @throws {VerificationError} when it is not signed by the ARK or is outside its window
   * @throws {import("../../collateral/revocation_marks.ts").RevocationRollbackError} when it is
   *   older than a CRL accepted before (a lower `crlNumber`, or an earlier `thisUpdate`)
   */
  async crl(product: SnpProductName, kind: VekKind): Promise<Crl | undefined> {
    const url = crlUrl(product, kind, this.#crlBase);
    const chain = this.certChain(product, kind);
    chain.catch(() => {});
    const check = verifiedOnce(async (body) => {
      const crl = parseCrl(body, url);
      const { ark } = await chain;
      await verifyCrl(crl, ark, this.#clock(), url);
      // An older CRL from the network is refused before the fetcher caches it.
      await this.#marks.check([await crlCandidate(crl, product, kind, ark, url)]);
      return crl;
    });
    const { body } = await this.#fetcher.get(url, {
      accept: "application/pkix-crl",
      verify: check.hook,
      trustDomain: trustDomainOf(this.#rootsOf(product)),
      validUntil: (b) => {
        try {
          return parseCrl(b, url).nextUpdate;
        } catch (e) {
          throw e instanceof ParseError ? e : new ParseError(url, String(e));
        }
      },
    });
    // The cache serves the same CRL for every attestation until its nextUpdate: the very bytes
    // verified before under the same ARK skip the parse and the RSA-4096 signature check (~0.5
    // ms), never the checks that depend on the time (issuer, critical extensions, thisUpdate ≤
    // now ≤ nextUpdate) nor the rollback check (one comparison with the mark). Any other bytes
    // are verified in full.
    const { ark } = await chain;
    const known = this.#verifiedCrls.get(url);
    if (known !== undefined && known.ark === ark && bytesEqual(known.bytes, body)) {
      checkCrlExceptSignature(known.crl, ark, this.#clock(), url);
      await this.#marks.accept([known.candidate]);
      return known.crl;
    }
    const crl = await check.result(body);
    const candidate = await crlCandidate(crl, product, kind, ark, url);
    await this.#marks.accept([candidate]);
    this.#verifiedCrls.set(url, { bytes: body.slice(), ark, crl, candidate });
    return crl;
  }
}

/**
 * The rollback candidate of an AMD CRL that verified under `ark`: keyed by product, kind and the
 * ARK (not by URL, so a CRL service named later is held to the marks of the one before).
 */
async function crlCandidate(
  crl: Crl,
  product: SnpProductName,
  kind: VekKind,
  ark: Certificate,
  url: string,
): Promise<RevocationCandidate> {
  const fingerprint = ark.knownFingerprint() ?? await ark.fingerprint();
  return {
    key: `amd-crl ${product} ${kind} ark=${fingerprint}`,
    field: url,
    names: CRL_MARK_NAMES,
    simulated: fingerprint !== AMD_ARK_SHA256[product],
    mark: crl.crlNumber === undefined
      ? { issued: crl.thisUpdate }
      : { number: crl.crlNumber, issued: crl.thisUpdate },
  };
}

/**
 * A verification that runs as the fetcher's pre-cache hook on network responses and, for
 * responses from the cache or a bundle (which skip the hook), when the result is asked for;
 * never twice for the same body.
 */
function verifiedOnce<T>(verify: (body: Uint8Array) => Promise<T>): {
  hook: (body: Uint8Array) => Promise<void>;
  result: (body: Uint8Array) => Promise<T>;
} {
  let checked: { body: Uint8Array; value: T } | undefined;
  return {
    hook: async (body) => {
      checked = { body, value: await verify(body) };
    },
    result: async (body) => checked?.body === body ? checked.value : await verify(body),
  };
}

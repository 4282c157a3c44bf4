/**
 * The TDX {@link EvidenceVerifier}: verifies a quote with Intel collateral (or, for reference
 * values naming a simulated root, the simulated chain) and checks it against the manifest's TDX
 * reference values.
 *
 * @module
 */
import { UnavailableError, ValidationError, VerificationError } from "../util/errors/mod.ts";
import { encodeHex } from "../util/bytes/mod.ts";
import type { ChainCache } from "../x509/chain_cache.ts";
import type { VerifiedChain } from "../x509/chain.ts";
import type { Certificate } from "../x509/certificate.ts";
import type {
  AttestationClaims,
  Evidence,
  EvidenceVerifier,
  VerifyOptions,
} from "../evidence/types.ts";
import { parseTdxQuote } from "./quote/parse_quote.ts";
import type { TdxQuote } from "./quote/types.ts";
import { parseSgxExtensions, SGX_EXTENSION_OID } from "./pck/sgx_extensions.ts";
import { SIMULATED_TDX_PLATFORM, type TdxReferenceValue } from "./reference_values.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "./verify/intel_root.ts";
import { simulatedRootRefusal } from "../evidence/vendor_roots.ts";
import {
  pckChainFromQuote,
  type VerifiedTdxQuote,
  verifyPckChainBeforeCollateral,
  verifyTdxQuote,
} from "./verify/verify_quote.ts";
import type { PckCaType, TdxCollateral, TdxCollateralSource } from "./verify/collateral_bundle.ts";
import { validateTdxQuote } from "./validate/validate_quote.ts";
import { TdxVerificationCache } from "./verify/verification_cache.ts";
import { RevocationMarks } from "../collateral/revocation_marks.ts";

/**
 * Construction options of {@link TdxEvidenceVerifier}.
 *
 * @example Verify with collateral from Intel PCS and require the PCK CRL
 * ```ts
 * import {
 *   cachingFetcherTransport,
 *   defaultTdxReferenceValues,
 *   IntelPcsClient,
 *   TdxEvidenceVerifier,
 *   type TdxEvidenceVerifierOptions,
 * } from "./mod.ts";
 * import { CachingFetcher } from "../collateral/mod.ts";
 *
 * const options: TdxEvidenceVerifierOptions = {
 *   referenceValues: defaultTdxReferenceValues(),
 *   collateral: new IntelPcsClient({ transport: cachingFetcherTransport(new CachingFetcher()) }),
 *   requirePckCrl: true,
 * };
 * const verifier = new TdxEvidenceVerifier(options);
 * ```
 */
export interface TdxEvidenceVerifierOptions {
  /** The manifest's TDX reference values; evidence is accepted if any entry matches. */
  readonly referenceValues: readonly TdxReferenceValue[];
  /** Where collateral comes from (Intel PCS client or an offline bundle). */
  readonly collateral?: TdxCollateralSource;
  /** Cache of verified chains and signatures. */
  readonly chainCache?: ChainCache;
  /** Cache of verified collateral and PCK chains (default: one owned by this verifier). */
  readonly verificationCache?: TdxVerificationCache;
  /**
   * Whether a PCK CRL is required (default true). Turning it off is explicit and shows in the
   * claims as `pckRevocationChecked: false`.
   */
  readonly requirePckCrl?: boolean;
  /**
   * The newest TCB info, QE identity and Intel CRLs accepted (see `VerifyTdxQuoteOptions`): an
   * older one is refused. Default: marks of this verifier, in memory; share marks persisted next
   * to the collateral cache to keep them across verifiers and restarts.
   */
  readonly revocationMarks?: RevocationMarks;
}

/**
 * The outcome of {@link TdxEvidenceVerifier.verifyDetailed}: accepted with the claims of the
 * matched reference value, or rejected with the typed error (and the verified quote when it was
 * genuine but matched no reference value).
 *
 * @example Accepted or not, with the reason
 * ```ts
 * import type { TdxVerification } from "./mod.ts";
 *
 * function outcome(v: TdxVerification): string {
 *   return v.accepted ? `accepted: ${v.verified.tcb.status}` : "rejected";
 * }
 * ```
 */
export type TdxVerification =
  | {
    readonly accepted: true;
    readonly claims: AttestationClaims;
    readonly verified: VerifiedTdxQuote;
  }
  | {
    readonly accepted: false;
    readonly error: unknown;
    readonly verified?: VerifiedTdxQuote;
  };

/**
 * The root a quote must chain to for `ref`: the pinned Intel SGX root CA for a real platform, the
 * named simulated root for `Simulated-TDX` (undefined when it names none, or names a vendor's real
 * root, which a parsed reference value never does: a simulated entry would then accept genuine
 * quotes with less checked).
 */
export function tdxTrustAnchorOf(ref: TdxReferenceValue): string | undefined {
  if (ref.Platform !== SIMULATED_TDX_PLATFORM) return INTEL_SGX_ROOT_CA_SHA256;
  const root = ref.SimulatedRootSHA256;
  return root !== undefined && simulatedRootRefusal(root) === undefined ? root : undefined;
}

/**
 * Reads which PCK CA issued the PCK certificate, and its FMSPC, without trusting either (for
 * tools and tests; the verifier uses {@link pckCollateralRequest} of a chain that verified).
 */
export function collateralRequestOf(quote: TdxQuote): { fmspc: Uint8Array; pckCa: PckCaType } {
  return requestOfLeaf(pckChainFromQuote(quote)[0]!);
}

/**
 * The collateral a PCK chain needs: its PCK certificate's FMSPC and which PCK CA issued it. Take
 * the chain from {@link verifyPckChainBeforeCollateral}, so that only a chain to a pinned root
 * can make the verifier ask Intel PCS for anything.
 *
 * @example The request for a verified chain
 * ```ts
 * import { pckCollateralRequest } from "./mod.ts";
 * import type { VerifiedChain } from "../x509/mod.ts";
 *
 * function fmspcHex(chain: VerifiedChain): string {
 *   const { fmspc } = pckCollateralRequest(chain);
 *   return Array.from(fmspc, (b) => b.toString(16).padStart(2, "0")).join("");
 * }
 * ```
 */
export function pckCollateralRequest(
  chain: VerifiedChain,
): { fmspc: Uint8Array; pckCa: PckCaType } {
  return requestOfLeaf(chain.leaf);
}

function requestOfLeaf(leaf: Certificate): { fmspc: Uint8Array; pckCa: PckCaType } {
  const ext = leaf.extension(SGX_EXTENSION_OID);
  if (!ext) throw new VerificationError("quote.pckChain.leaf", "has no SGX extension");
  const fmspc = parseSgxExtensions(ext).fmspc;
  return { fmspc, pckCa: /Processor/i.test(leaf.issuer) ? "processor" : "platform" };
}

/** Human-readable claims of a verified TDX quote. */
export function tdxClaimDetails(v: VerifiedTdxQuote): Record<string, string> {
  const b = v.quote.body;
  const details: Record<string, string> = {
    quoteVersion: String(v.quote.header.version),
    tcbStatus: v.tcb.status,
    advisoryIds: v.tcb.advisoryIds.join(","),
    fmspc: encodeHex(v.pck.fmspc),
    pceId: encodeHex(v.pck.pceId),
    mrTd: encodeHex(b.mrTd),
    mrSeam: encodeHex(b.mrSeam),
    mrConfigId: encodeHex(b.mrConfigId),
    rtmr0: encodeHex(b.rtmrs[0]),
    rtmr1: encodeHex(b.rtmrs[1]),
    rtmr2: encodeHex(b.rtmrs[2]),
    rtmr3: encodeHex(b.rtmrs[3]),
    xfam: encodeHex(b.xfam),
    tdAttributes: encodeHex(b.tdAttributes),
    teeTcbSvn: encodeHex(b.teeTcbSvn),
    tcbEvaluationDataNumber: String(v.tcbInfo.tcbEvaluationDataNumber),
    pckRevocationChecked: String(v.pckRevocationChecked),
    rootFingerprint: v.rootFingerprint,
  };
  if (v.tcb.reason) details.tcbReason = v.tcb.reason;
  if (b.teeTcbSvn2) details.teeTcbSvn2 = encodeHex(b.teeTcbSvn2);
  return details;
}

/**
 * Verifies TDX quotes against collateral and TDX reference values.
 *
 * @example Verify a quote, reporting a rejection as a value
 * ```ts
 * import { defaultTdxReferenceValues, TdxEvidenceVerifier, type TdxCollateralSource } from "./mod.ts";
 *
 * async function tcbStatus(quote: Uint8Array, collateral: TdxCollateralSource) {
 *   const verifier = new TdxEvidenceVerifier({ referenceValues: defaultTdxReferenceValues(), collateral });
 *   const outcome = await verifier.verifyDetailed(
 *     { platform: "tdx", report: quote },
 *     { reportData: new Uint8Array(64), now: new Date() },
 *   );
 *   return outcome.verified?.tcb.status ?? "not genuine";
 * }
 * ```
 */
export class TdxEvidenceVerifier implements EvidenceVerifier {
  /** Always `"tdx"`. */
  readonly platform = "tdx" as const;
  readonly #options: TdxEvidenceVerifierOptions;
  readonly #verificationCache: TdxVerificationCache;
  readonly #revocationMarks: RevocationMarks;

  /** A verifier for the reference values and collateral source in `options`. */
  constructor(options: TdxEvidenceVerifierOptions) {
    this.#options = options;
    this.#verificationCache = options.verificationCache ?? new TdxVerificationCache();
    this.#revocationMarks = options.revocationMarks ?? new RevocationMarks();
  }

  /**
   * Verifies `evidence` and returns its claims, from the first reference value it matches.
   *
   * @throws {VerificationError} when the quote or its collateral is not genuine
   * @throws {ValidationError} when it is genuine but matches no reference value
   * @throws {UnavailableError} when collateral cannot be had
   */
  async verify(evidence: Evidence, options: VerifyOptions): Promise<AttestationClaims> {
    const outcome = await this.verifyDetailed(evidence, options);
    if (!outcome.accepted) throw outcome.error;
    return outcome.claims;
  }

  /**
   * Verifies `evidence` like {@link verify}, but reports a rejection as a value, with the
   * verified quote when it was genuine and only failed the reference values (the CLI prints its
   * TCB status and claims either way).
   *
   * @throws {VerificationError} when the evidence is of another platform
   * @throws {ValidationError} when no reference values are configured
   * @throws {UnavailableError} when no collateral source is configured
   */
  async verifyDetailed(evidence: Evidence, options: VerifyOptions): Promise<TdxVerification> {
    if (evidence.platform !== "tdx") {
      throw new VerificationError("evidence.platform", `expected tdx, got ${evidence.platform}`);
    }
    const refs = this.#options.referenceValues;
    if (refs.length === 0) {
      throw new ValidationError("ReferenceValues.tdx", "no TDX reference values are configured");
    }
    const source = this.#options.collateral;
    if (!source) throw new UnavailableError("collateral", "no TDX collateral source is configured");
    let genuine: VerifiedTdxQuote | undefined;
    let firstError: unknown;
    try {
      const quote = parseTdxQuote(evidence.report);
      const collateral = await this.#collateralFor(quote, refs, source, options.now);
      const byAnchor = new Map<string, Promise<VerifiedTdxQuote>>();
      const verifyWith = (anchor: string) => {
        let p = byAnchor.get(anchor);
        if (!p) {
          p = verifyTdxQuote(quote, {
            now: options.now,
            trustAnchors: [anchor],
            // Defined whenever some reference value names an anchor, as this one does.
            collateral: collateral!,
            cache: this.#options.chainCache,
            verificationCache: this.#verificationCache,
            requirePckCrl: this.#options.requirePckCrl,
            revocationMarks: this.#revocationMarks,
          });
          byAnchor.set(anchor, p);
        }
        return p;
      };
      for (const [i, ref] of refs.entries()) {
        const anchor = tdxTrustAnchorOf(ref);
        if (!anchor) {
          firstError ??= new VerificationError(
            `ReferenceValues.tdx[${i}].SimulatedRootSHA256`,
            (ref.SimulatedRootSHA256 && simulatedRootRefusal(ref.SimulatedRootSHA256)) ??
              "a simulated platform must name its root fingerprint",
          );
          continue;
        }
        try {
          const verified = await verifyWith(anchor);
          genuine ??= verified;
          validateTdxQuote(verified, ref, {
            reportData: options.reportData,
            path: `ReferenceValues.tdx[${i}]`,
          });
          const body = verified.quote.body;
          return {
            accepted: true,
            verified,
            claims: {
              platform: "tdx",
              reportData: body.reportData,
              hostData: body.mrConfigId,
              measurement: body.mrTd,
              referenceValueIndex: i,
              details: tdxClaimDetails(verified),
            },
          };
        } catch (e) {
          // A genuineness failure outranks a mismatch: report the most serious first error.
          if (
            firstError === undefined ||
            (e instanceof VerificationError && !(firstError instanceof VerificationError))
          ) {
            firstError = e;
          }
        }
      }
    } catch (e) {
      firstError = e;
    }
    return { accepted: false, error: firstError, ...(genuine ? { verified: genuine } : {}) };
  }

  /**
   * The collateral for `quote`, requested only after its PCK chain verified to the root of some
   * reference value (the request's FMSPC and PCK CA come from that chain); undefined when no
   * reference value names a root (each then fails on its own).
   *
   * @throws {VerificationError} when the PCK chain ends in none of those roots, before any request
   */
  async #collateralFor(
    quote: TdxQuote,
    refs: readonly TdxReferenceValue[],
    source: TdxCollateralSource,
    now: Date,
  ): Promise<TdxCollateral | undefined> {
    const anchors = [
      ...new Set(refs.map(tdxTrustAnchorOf).filter((a): a is string => a !== undefined)),
    ];
    if (anchors.length === 0) return undefined;
    const pckChain = await verifyPckChainBeforeCollateral(quote, {
      now,
      trustAnchors: anchors,
      cache: this.#options.chainCache,
      verificationCache: this.#verificationCache,
    });
    return await source.collateralFor({ ...pckCollateralRequest(pckChain), now });
  }
}

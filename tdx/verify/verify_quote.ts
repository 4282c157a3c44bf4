/**
 * Full cryptographic verification of a TDX quote with Intel collateral, to a TCB status:
 * PCK chain to a pinned root (with root CA CRL and PCK CRL), PCK SGX extensions, QE report
 * signed by the PCK key, QE report data binding the attestation key and QE authentication data,
 * quote signed by the attestation key, TCB info and QE identity signed by the TCB signing chain
 * over their exact bytes, FMSPC / PCE ID match, every validity window at `now`, and TCB
 * evaluation. Reference values are checked separately (see `tdx/validate`).
 *
 * @module
 */
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { concatBytes, constantTimeEqual, encodeHex, sha256 } from "../../util/bytes/mod.ts";
import {
  type Certificate,
  normaliseFingerprint,
  parseCertificates,
} from "../../x509/certificate.ts";
import { type Crl, parseCrl } from "../../x509/crl.ts";
import { type VerifiedChain, verifyChain, verifyCrlCached } from "../../x509/chain.ts";
import type { ChainCache } from "../../x509/chain_cache.ts";
import { importEcdsaPublicKey, verifyEcdsa } from "../../x509/signature.ts";
import { parseTdxQuote } from "../quote/parse_quote.ts";
import { CERT_TYPE_PCK_CHAIN, INTEL_QE_VENDOR_ID } from "../quote/constants.ts";
import type { TdxQuote } from "../quote/types.ts";
import {
  parseSgxExtensions,
  type PckSgxExtensions,
  SGX_EXTENSION_OID,
} from "../pck/sgx_extensions.ts";
import { parseTdxTcbInfoResponse, type TdxTcbInfo } from "../collateral/tcb_info.ts";
import { parseQeIdentityResponse, type QeIdentity } from "../collateral/qe_identity.ts";
import { evaluateTdxTcb, type TcbEvaluation } from "./tcb_evaluation.ts";
import type { TdxCollateral } from "./collateral_bundle.ts";
import type { TdxVerificationCache, Windowed } from "./verification_cache.ts";
import type { RevocationCandidate, RevocationMarks } from "../../collateral/revocation_marks.ts";
import {
  intelCrlCandidate,
  qeIdentityCandidate,
  tcbInfoCandidate,
} from "./revocation_candidates.ts";

/**
 * Options of {@link verifyTdxQuote}.
 *
 * @example Options for verifying at a fixed time (replaying a recorded quote)
 * ```ts
 * import { INTEL_SGX_ROOT_CA_SHA256, type TdxCollateral, type VerifyTdxQuoteOptions } from "../mod.ts";
 *
 * function at(time: Date, collateral: TdxCollateral): VerifyTdxQuoteOptions {
 *   return { now: time, trustAnchors: [INTEL_SGX_ROOT_CA_SHA256], collateral };
 * }
 * ```
 */
export interface VerifyTdxQuoteOptions {
  /** The time every certificate, CRL and collateral window is checked at. */
  readonly now: Date;
  /** Pinned root fingerprints (SHA-256 hex): the Intel SGX Root CA, or a named simulated root. */
  readonly trustAnchors: readonly string[];
  /** The collateral (raw PCS responses). */
  readonly collateral: TdxCollateral;
  /**
   * Whether the PCK certificate must be checked against a PCK CRL. Default true; turning it off
   * is an explicit, reported decision (the result says `pckRevocationChecked: false`).
   */
  readonly requirePckCrl?: boolean;
  /** Whether the Intel root CA CRL must be given and checked. Default true. */
  readonly requireRootCaCrl?: boolean;
  /** Cache of verified chains and signatures. */
  readonly cache?: ChainCache;
  /** Cache of verified collateral and PCK chains (makes repeated verification cheap). */
  readonly verificationCache?: TdxVerificationCache;
  /**
   * The newest collateral accepted before, per root and document: TCB info per FMSPC and QE
   * identity (`tcbEvaluationDataNumber`, then `issueDate`), the root CA and PCK CRLs per issuer
   * (`crlNumber`, then `thisUpdate`; Intel's carry cRLNumber 1, so their time orders them). An
   * older one is refused with a `RevocationRollbackError`; what verified raises the marks.
   * Without it nothing is compared (`TdxEvidenceVerifier` always passes marks).
   */
  readonly revocationMarks?: RevocationMarks;
}

/**
 * A quote that passed every cryptographic and collateral check.
 *
 * @example What a verified quote tells
 * ```ts
 * import type { VerifiedTdxQuote } from "../mod.ts";
 *
 * function log(v: VerifiedTdxQuote): void {
 *   console.log(v.tcb.status, v.rootFingerprint, v.pckRevocationChecked ? "PCK CRL checked" : "no PCK CRL");
 * }
 * ```
 */
export interface VerifiedTdxQuote {
  /** The parsed quote. */
  readonly quote: TdxQuote;
  /** The PCK certificate's SGX extensions. */
  readonly pck: PckSgxExtensions;
  /** The verified PCK chain (leaf first). */
  readonly pckChain: VerifiedChain;
  /** The verified TCB info. */
  readonly tcbInfo: TdxTcbInfo;
  /** The verified QE identity. */
  readonly qeIdentity: QeIdentity;
  /** The TCB evaluation (status, advisory IDs, matched levels). */
  readonly tcb: TcbEvaluation;
  /** Whether the PCK certificate was checked against a PCK CRL. */
  readonly pckRevocationChecked: boolean;
  /** Whether the PCK CA and TCB signing certificates were checked against the root CA CRL. */
  readonly rootCaRevocationChecked: boolean;
  /** Fingerprint of the root every chain ended in. */
  readonly rootFingerprint: string;
}

function crlOf(der: Uint8Array | undefined, field: string): Crl | undefined {
  return der === undefined ? undefined : parseCrl(der, field);
}

async function verifySignedCollateral(input: {
  readonly field: string;
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuerChainPem: string;
  readonly options: VerifyTdxQuoteOptions;
  readonly rootCrl?: Crl;
}): Promise<VerifiedChain> {
  const { field, options } = input;
  const certs = parseCertificates(input.issuerChainPem, `${field}IssuerChain`);
  if (certs.length === 0) throw new VerificationError(`${field}IssuerChain`, "is empty");
  const chain = await verifyChain({
    leaf: certs[0]!,
    intermediates: certs.slice(1),
    trustAnchors: options.trustAnchors,
    now: options.now,
    crls: input.rootCrl ? [input.rootCrl] : [],
    field: `${field}IssuerChain`,
    cache: options.cache,
  });
  // Intel signs collateral with the TCB signing certificate, issued directly by the root. A
  // longer chain (e.g. a PCK certificate under a PCK CA) must never be able to sign collateral.
  if (chain.certificates.length !== 2) {
    throw new VerificationError(
      `${field}IssuerChain`,
      `the signing certificate must be issued directly by the root; the chain has ${chain.certificates.length} certificates`,
    );
  }
  if (chain.leaf.basicConstraints?.ca) {
    throw new VerificationError(`${field}IssuerChain`, "the signing certificate is a CA");
  }
  if (options.requireRootCaCrl !== false && !chain.revocationChecked[0]) {
    throw new VerificationError(
      `${field}IssuerChain`,
      "the signing certificate was not checked against the root CA CRL",
    );
  }
  const signer = chain.leaf;
  const cacheKey = options.cache
    ? `tdx-collateral:${encodeHex(await sha256(concatBytes(input.signedBytes, input.signature)))}:${
      encodeHex(await sha256(signer.spki))
    }`
    : "";
  if (options.cache?.hasSignature(cacheKey)) return chain;
  const ok = await verifyEcdsa({
    publicKey: signer.spki,
    curve: "P-256",
    hash: "SHA-256",
    signatureRaw: input.signature,
    data: input.signedBytes,
  });
  if (!ok) {
    throw new VerificationError(
      `${field}.signature`,
      `does not verify with "${signer.subject}" over the signed bytes`,
    );
  }
  options.cache?.storeSignature(cacheKey);
  return chain;
}

function checkWindow(field: string, issueDate: Date, nextUpdate: Date, now: Date): void {
  if (now < issueDate || now > nextUpdate) {
    throw new VerificationError(
      field,
      `valid from ${issueDate.toISOString()} to ${nextUpdate.toISOString()}, not at ${now.toISOString()}`,
    );
  }
}

/** Parses the PCK certificate chain carried in the quote (certification data type 5). */
export function pckChainFromQuote(quote: TdxQuote): Certificate[] {
  const certs = parseCertificates(pckChainText(quote), "pckChain");
  if (certs.length === 0) throw new VerificationError("quote.pckChain", "no certificate");
  return certs;
}

/** The PEM text of the PCK certificate chain in the quote (certification data type 5). */
function pckChainText(quote: TdxQuote): string {
  const cert = quote.signatureData.qeCertification.certification;
  if (cert.type !== CERT_TYPE_PCK_CHAIN) {
    throw new VerificationError(
      "quote.signatureData.certification.qeReportCertificationData.certification.type",
      `expected 5 (PCK certificate chain), got ${cert.type}: the PCK chain must be in the quote`,
    );
  }
  // The PEM text may be followed by a NUL terminator.
  let end = cert.data.length;
  while (end > 0 && cert.data[end - 1] === 0) end--;
  return new TextDecoder().decode(cert.data.subarray(0, end));
}

/**
 * Verifies the quote's own signatures: the QE report by the PCK leaf key, the QE report data
 * binding, and the quote by the attestation key.
 *
 * @throws {VerificationError} naming the signature or binding that failed
 */
async function verifyQuoteSignatures(
  quote: TdxQuote,
  pckKey: CryptoKey,
  cache?: TdxVerificationCache,
): Promise<void> {
  const sd = quote.signatureData;
  const qc = sd.qeCertification;
  // All three checks run concurrently; the results are judged in a fixed order.
  const load = () => importEcdsaPublicKey(sd.attestationKey, "P-256", "quote.attestationKey");
  const quoteCheck = (cache ? cache.attestationKey(encodeHex(sd.attestationKey), load) : load())
    .then((attKey) =>
      verifyEcdsa({
        publicKey: attKey,
        curve: "P-256",
        hash: "SHA-256",
        signatureRaw: sd.signature,
        data: quote.signedBytes,
      })
    );
  quoteCheck.catch(() => {});
  const qeOk = await verifyEcdsa({
    publicKey: pckKey,
    curve: "P-256",
    hash: "SHA-256",
    signatureRaw: qc.qeReportSignature,
    data: qc.qeReportBytes,
  });
  // WebCrypto, not `@noble/hashes`: in this thread it saved ~5 µs of a warm verification, but
  // importing any npm package costs a CLI process ~5 ms (`contrast evidence verify`).
  const expectedQeData = await sha256(concatBytes(sd.attestationKey, qc.qeAuthData));
  if (!qeOk) {
    throw new VerificationError(
      "quote.signatureData.qeReportSignature",
      "the QE report is not signed by the PCK certificate's key",
    );
  }
  const expected = concatBytes(expectedQeData, new Uint8Array(32));
  if (!constantTimeEqual(expected, qc.qeReport.reportData)) {
    throw new VerificationError(
      "quote.signatureData.qeReport.reportData",
      "is not SHA-256(attestation key ‖ QE authentication data) padded with zeros",
    );
  }
  if (!(await quoteCheck)) {
    throw new VerificationError(
      "quote.signatureData.signature",
      "the quote header and body are not signed by the attestation key",
    );
  }
}

/**
 * Verifies a TDX quote completely against collateral, down to its TCB status.
 *
 * @throws {import("../../util/errors/mod.ts").ParseError} when the quote or collateral is malformed
 * @throws {VerificationError} naming the check that failed
 * @throws {UnavailableError} when required collateral (a CRL) is missing
 *
 * @example Verify a quote with collateral fetched before
 * ```ts
 * import { INTEL_SGX_ROOT_CA_SHA256, type TdxCollateral, verifyTdxQuote } from "../mod.ts";
 *
 * async function verify(quote: Uint8Array, collateral: TdxCollateral) {
 *   const verified = await verifyTdxQuote(quote, {
 *     now: new Date(),
 *     trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
 *     collateral,
 *     requirePckCrl: true,
 *   });
 *   return verified.tcb.status; // e.g. "UpToDate"
 * }
 * ```
 */
export async function verifyTdxQuote(
  input: Uint8Array | TdxQuote,
  options: VerifyTdxQuoteOptions,
): Promise<VerifiedTdxQuote> {
  const quote = input instanceof Uint8Array ? parseTdxQuote(input) : input;
  const { now } = options;
  if (encodeHex(quote.header.qeVendorId) !== INTEL_QE_VENDOR_ID) {
    throw new VerificationError(
      "quote.header.qeVendorId",
      `is ${
        encodeHex(quote.header.qeVendorId)
      }, not Intel's quoting enclave (${INTEL_QE_VENDOR_ID})`,
    );
  }
  const certPem = pckChainText(quote);
  const cache = options.verificationCache;
  const key = cache ? await collateralKey(options, cache) : "";
  const collateral = cache
    ? await cache.collateral(key, now, () => verifyCollateral(options))
    : (await verifyCollateral(options)).value;
  // Per quote: one comparison per document (the candidates were built when it verified). Before
  // the PCK chain, so a root CA CRL that revokes its PCK CA raises its mark though this fails.
  await options.revocationMarks?.accept(collateral.candidates);
  const pckResult = cache
    ? await cache.pckChain(key, certPem, now, () => verifyPck(certPem, collateral, options))
    : (await verifyPck(certPem, collateral, options)).value;
  const { pckChain, pck } = pckResult;
  if (pckResult.pckCrlCandidate !== undefined) {
    await options.revocationMarks?.accept([pckResult.pckCrlCandidate]);
  }
  await verifyQuoteSignatures(quote, pckResult.pckKey, cache);

  const { tcbInfo, qeIdentity } = collateral;
  checkWindow("tcbInfo", tcbInfo.issueDate, tcbInfo.nextUpdate, now);
  checkWindow("qeIdentity", qeIdentity.issueDate, qeIdentity.nextUpdate, now);
  if (!constantTimeEqual(tcbInfo.fmspc, pck.fmspc)) {
    throw new VerificationError(
      "tcbInfo.fmspc",
      `is ${encodeHex(tcbInfo.fmspc)}, the PCK certificate's FMSPC is ${encodeHex(pck.fmspc)}`,
    );
  }
  if (!constantTimeEqual(tcbInfo.pceId, pck.pceId)) {
    throw new VerificationError(
      "tcbInfo.pceId",
      `is ${encodeHex(tcbInfo.pceId)}, the PCK certificate's PCE ID is ${encodeHex(pck.pceId)}`,
    );
  }
  const tcb = evaluateTdxTcb({
    tcbInfo,
    qeIdentity,
    pck,
    body: quote.body,
    qeReport: quote.signatureData.qeCertification.qeReport,
  });
  return {
    quote,
    pck,
    pckChain,
    tcbInfo,
    qeIdentity,
    tcb,
    pckRevocationChecked: pckResult.pckRevocationChecked,
    rootCaRevocationChecked: pckResult.rootCaRevocationChecked,
    rootFingerprint: pckChain.rootFingerprint,
  };
}

/** Collateral whose chains, signatures and CRLs verified. */
interface VerifiedCollateral {
  readonly tcbInfo: TdxTcbInfo;
  readonly qeIdentity: QeIdentity;
  readonly rootCrl?: Crl;
  readonly pckCrl?: Crl;
  readonly rootFingerprint: string;
  /** Rollback candidates of the TCB info, the QE identity and the root CA CRL (when checked). */
  readonly candidates: readonly RevocationCandidate[];
}

/** A PCK chain that verified under some collateral. */
interface VerifiedPck {
  readonly pckChain: VerifiedChain;
  readonly pck: PckSgxExtensions;
  readonly pckKey: CryptoKey;
  readonly pckRevocationChecked: boolean;
  readonly rootCaRevocationChecked: boolean;
  /** Rollback candidate of the PCK CRL, when it verified as the CRL of this chain's PCK CA. */
  readonly pckCrlCandidate?: RevocationCandidate;
}

async function collateralKey(
  options: VerifyTdxQuoteOptions,
  cache: TdxVerificationCache,
): Promise<string> {
  const c = options.collateral;
  return [
    await cache.digestOf(c, () => collateralDigest(c)),
    [...options.trustAnchors].sort().join(","),
    options.requirePckCrl !== false,
    options.requireRootCaCrl !== false,
  ].join("|");
}

async function collateralDigest(c: TdxCollateral): Promise<string> {
  const enc = (s: string | undefined) => new TextEncoder().encode(s ?? "");
  const parts = [
    c.tcbInfo,
    enc(c.tcbInfoIssuerChain),
    c.qeIdentity,
    enc(c.qeIdentityIssuerChain),
    c.pckCrl ?? new Uint8Array(0),
    c.rootCaCrl ?? new Uint8Array(0),
  ];
  const framed = parts.flatMap((p) => {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, p.length);
    return [len, p];
  });
  return encodeHex(await sha256(concatBytes(...framed)));
}

async function verifyCollateral(
  options: VerifyTdxQuoteOptions,
): Promise<Windowed<VerifiedCollateral>> {
  const { collateral } = options;
  const rootCrl = crlOf(collateral.rootCaCrl, "rootCaCrl");
  const pckCrl = crlOf(collateral.pckCrl, "pckCrl");
  if (options.requireRootCaCrl !== false && !rootCrl) {
    throw new UnavailableError("collateral.rootCaCrl", "the Intel root CA CRL is required");
  }
  if (options.requirePckCrl !== false && !pckCrl) {
    throw new UnavailableError(
      "collateral.pckCrl",
      "the PCK CRL is required (disable the PCK revocation check explicitly to go on without it)",
    );
  }
  await rootCrlMark(rootCrl, options);
  const tcbResponse = parseTdxTcbInfoResponse(collateral.tcbInfo);
  const qeResponse = parseQeIdentityResponse(collateral.qeIdentity);
  const [tcbChain, qeChain] = await Promise.all([
    verifySignedCollateral({
      field: "tcbInfo",
      signedBytes: tcbResponse.signedBytes,
      signature: tcbResponse.signature,
      issuerChainPem: collateral.tcbInfoIssuerChain,
      options,
      rootCrl,
    }),
    verifySignedCollateral({
      field: "qeIdentity",
      signedBytes: qeResponse.signedBytes,
      signature: qeResponse.signature,
      issuerChainPem: collateral.qeIdentityIssuerChain,
      options,
      rootCrl,
    }),
  ]);
  if (tcbChain.rootFingerprint !== qeChain.rootFingerprint) {
    throw new VerificationError("collateral", "TCB info and QE identity chain to different roots");
  }
  const tcbInfo = tcbResponse.tcbInfo;
  const qeIdentity = qeResponse.qeIdentity;
  checkWindow("tcbInfo", tcbInfo.issueDate, tcbInfo.nextUpdate, options.now);
  checkWindow("qeIdentity", qeIdentity.issueDate, qeIdentity.nextUpdate, options.now);
  const times = (f: (d: Date[]) => number, ...d: Date[]) => new Date(f(d));
  const root = tcbChain.rootFingerprint;
  const candidates: RevocationCandidate[] = [
    tcbInfoCandidate(tcbInfo, root),
    qeIdentityCandidate(qeIdentity, root),
  ];
  // The root CA CRL counts once it verified as the root's CRL (it was the only CRL given).
  if (rootCrl && tcbChain.revocationChecked[0] && qeChain.revocationChecked[0]) {
    candidates.push(intelCrlCandidate(rootCrl, "rootCaCrl", root));
  }
  return {
    value: { tcbInfo, qeIdentity, rootCrl, pckCrl, rootFingerprint: root, candidates },
    validFrom: times(
      (d) => Math.max(...d.map((x) => x.getTime())),
      tcbChain.validFrom,
      qeChain.validFrom,
      tcbInfo.issueDate,
      qeIdentity.issueDate,
      ...(pckCrl ? [pckCrl.thisUpdate] : []),
    ),
    validUntil: times(
      (d) => Math.min(...d.map((x) => x.getTime())),
      tcbChain.validUntil,
      qeChain.validUntil,
      tcbInfo.nextUpdate,
      qeIdentity.nextUpdate,
      ...(pckCrl?.nextUpdate ? [pckCrl.nextUpdate] : []),
    ),
  };
}

async function verifyPck(
  pem: string,
  collateral: VerifiedCollateral,
  options: VerifyTdxQuoteOptions,
): Promise<Windowed<VerifiedPck>> {
  const pckCrlCandidate = await pckCrlMark(pem, collateral, options);
  const pckChain = await verifyPckPath(
    pem,
    options,
    [collateral.rootCrl, collateral.pckCrl].filter((c): c is Crl => c !== undefined),
  );
  const pckRevocationChecked = pckChain.revocationChecked[0] === true;
  if (options.requirePckCrl !== false && !pckRevocationChecked) {
    throw new VerificationError(
      "collateral.pckCrl",
      `is not a CRL of the quote's PCK CA "${pckChain.certificates[1]!.subject}"`,
    );
  }
  const rootCaRevocationChecked = pckChain.revocationChecked[1] === true;
  if (options.requireRootCaCrl !== false && !rootCaRevocationChecked) {
    throw new VerificationError("collateral.rootCaCrl", "is not a CRL of the pinned root");
  }
  if (pckChain.rootFingerprint !== collateral.rootFingerprint) {
    throw new VerificationError(
      "collateral",
      "collateral is signed under a different root than the PCK chain",
    );
  }
  const leaf = pckChain.leaf;
  const sgxExtension = leaf.extension(SGX_EXTENSION_OID);
  if (!sgxExtension) throw new VerificationError("quote.pckChain.leaf", "has no SGX extension");
  const pck = parseSgxExtensions(sgxExtension);
  const key = leaf.publicKey;
  if (key.kind !== "ec" || key.curve !== "P-256") {
    throw new VerificationError("quote.pckChain.leaf", "PCK key is not ECDSA P-256");
  }
  const pckKey = await importEcdsaPublicKey(leaf.spki, "P-256", "quote.pckChain.leaf");
  return {
    value: {
      pckChain,
      pck,
      pckKey,
      pckRevocationChecked,
      rootCaRevocationChecked,
      ...(pckCrlCandidate ? { pckCrlCandidate } : {}),
    },
    validFrom: pckChain.validFrom,
    validUntil: pckChain.validUntil,
  };
}

/**
 * With revocation marks: the root CA CRL, verified against the pinned root the TCB info's issuer
 * chain carries, checked against and raising its mark before any chain is checked with it, so a
 * CRL that revokes Intel's TCB signing certificate (or a PCK CA) raises the mark though the
 * verification fails. Nothing when no marks are kept, no CRL is given or the chain carries no
 * pinned root that issued it (the chain checks then say so).
 */
async function rootCrlMark(
  rootCrl: Crl | undefined,
  options: VerifyTdxQuoteOptions,
): Promise<void> {
  if (options.revocationMarks === undefined || rootCrl === undefined) return;
  const anchors = new Set(options.trustAnchors.map(normaliseFingerprint));
  for (
    const cert of parseCertificates(options.collateral.tcbInfoIssuerChain, "tcbInfoIssuerChain")
  ) {
    const fingerprint = await cert.fingerprint();
    if (!anchors.has(fingerprint) || !constantTimeEqual(rootCrl.issuerDer, cert.subjectDer)) {
      continue;
    }
    await verifyCrlCached(rootCrl, cert, options.now, "rootCaCrl", options.cache);
    await options.revocationMarks.accept([intelCrlCandidate(rootCrl, "rootCaCrl", fingerprint)]);
    return;
  }
}

/**
 * With revocation marks: the PCK CRL, verified against the PCK CA of the chain in `pem` (itself
 * verified to the anchors without CRLs, as before collateral), checked against and raising its
 * mark before the chain's revocation check, so a CRL that revokes this PCK certificate raises the
 * mark though the quote fails (an older CRL replayed next is refused). Undefined when no marks are
 * kept or the CRL is not of this chain's PCK CA (the chain check then says so).
 */
async function pckCrlMark(
  pem: string,
  collateral: VerifiedCollateral,
  options: VerifyTdxQuoteOptions,
): Promise<RevocationCandidate | undefined> {
  const { pckCrl } = collateral;
  if (options.revocationMarks === undefined || pckCrl === undefined) return undefined;
  const pckCa = (await verifyPckPath(pem, options, [])).certificates[1]!;
  if (!constantTimeEqual(pckCrl.issuerDer, pckCa.subjectDer)) return undefined;
  await verifyCrlCached(pckCrl, pckCa, options.now, "pckCrl", options.cache);
  const candidate = intelCrlCandidate(pckCrl, "pckCrl", collateral.rootFingerprint);
  await options.revocationMarks.accept([candidate]);
  return candidate;
}

/**
 * The PCK chain in `pem` verified to one of `options.trustAnchors` with `crls`: signatures,
 * validity at `options.now`, name and key chaining, CA constraints, revocation by the CRLs given,
 * and exactly PCK certificate → PCK CA → root.
 */
async function verifyPckPath(
  pem: string,
  options: Pick<VerifyTdxQuoteOptions, "now" | "trustAnchors" | "cache">,
  crls: readonly Crl[],
): Promise<VerifiedChain> {
  const certs = parseCertificates(pem, "pckChain");
  if (certs.length === 0) throw new VerificationError("quote.pckChain", "no certificate");
  const pckChain = await verifyChain({
    leaf: certs[0]!,
    intermediates: certs.slice(1),
    trustAnchors: options.trustAnchors,
    now: options.now,
    crls,
    field: "quote.pckChain",
    cache: options.cache,
  });
  if (pckChain.certificates.length !== 3) {
    throw new VerificationError(
      "quote.pckChain",
      `expected PCK certificate, PCK CA and root; got ${pckChain.certificates.length} certificates`,
    );
  }
  return pckChain;
}

/**
 * Options of {@link verifyPckChainBeforeCollateral}: those of {@link verifyTdxQuote} that do not
 * depend on collateral.
 *
 * @example Check a quote's PCK chain against the Intel root before asking Intel PCS
 * ```ts
 * import { INTEL_SGX_ROOT_CA_SHA256, type PckChainCheckOptions } from "../mod.ts";
 *
 * const options: PckChainCheckOptions = {
 *   now: new Date(),
 *   trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
 * };
 * ```
 */
export type PckChainCheckOptions = Pick<
  VerifyTdxQuoteOptions,
  "now" | "trustAnchors" | "cache" | "verificationCache"
>;

/**
 * Verifies the quote's PCK certificate chain to one of `options.trustAnchors` as far as it can be
 * without collateral: every signature, validity at `now`, name and key chaining, CA constraints
 * and the PCK certificate → PCK CA → root shape ({@link verifyTdxQuote} checks all of it again
 * with the root CA and PCK CRLs). Run it before collateral is requested: the FMSPC and PCK CA the
 * request names come from this chain, so a quote whose chain is not the pinned root's is refused
 * without any request to Intel PCS. Successes are remembered in `options.verificationCache` while
 * every certificate of the chain is valid.
 *
 * @throws {VerificationError} naming the link that failed
 *
 * @example Which FMSPC to fetch collateral for, from a chain that verified
 * ```ts
 * import {
 *   INTEL_SGX_ROOT_CA_SHA256,
 *   parseTdxQuote,
 *   pckCollateralRequest,
 *   verifyPckChainBeforeCollateral,
 * } from "../mod.ts";
 *
 * async function request(bytes: Uint8Array) {
 *   const quote = parseTdxQuote(bytes);
 *   const chain = await verifyPckChainBeforeCollateral(quote, {
 *     now: new Date(),
 *     trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
 *   });
 *   return pckCollateralRequest(chain);
 * }
 * ```
 */
export async function verifyPckChainBeforeCollateral(
  quote: TdxQuote,
  options: PckChainCheckOptions,
): Promise<VerifiedChain> {
  const pem = pckChainText(quote);
  const compute = async (): Promise<Windowed<VerifiedChain>> => {
    const chain = await verifyPckPath(pem, options, []);
    return { value: chain, validFrom: chain.validFrom, validUntil: chain.validUntil };
  };
  const cache = options.verificationCache;
  if (!cache) return (await compute()).value;
  const key = `${[...options.trustAnchors].sort().join(",")}|${pem}`;
  return await cache.anchoredPckChain(key, options.now, compute);
}

/**
 * The SEV-SNP {@link EvidenceVerifier}: report structure, VCEK/VLEK chain to a pinned AMD root
 * (or to a simulated root named by the reference values), AMD extensions against the report,
 * revocation, the report signature, report data, and the reference values.
 *
 * Certificates come, in this order of preference, from the caller (`certificates`), from the
 * evidence's auxblob certificate table, and from the collateral source (AMD KDS). All of them are
 * untrusted until the chain verifies.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";
import { UnavailableError, ValidationError, VerificationError } from "../util/errors/mod.ts";
import type {
  AttestationClaims,
  Evidence,
  EvidenceVerifier,
  VerifyOptions,
} from "../evidence/types.ts";
import { type Certificate, parseCertificate } from "../x509/certificate.ts";
import type { ChainCache } from "../x509/chain_cache.ts";
import type { Crl } from "../x509/crl.ts";
import type { CertTableKind } from "./abi/cert_table.ts";
import { type SnpProductName, tcbLayoutOf } from "./abi/product.ts";
import { parseSnpReport, type SnpReport } from "./abi/report.ts";
import type { LookupAllowance } from "../collateral/lookup_budget.ts";
import type { SnpCollateralSource } from "./kds/source.ts";
import { isSimulated, type SnpReferenceValue } from "./reference_values.ts";
import { snpApEipMeasurements, validateSnpReport } from "./validate/validate.ts";
import { verifySnpChain } from "./verify/chain.ts";
import { type CachedCertTable, CertTableCache } from "./verify/cert_table_cache.ts";
import { importVekKey, verifyReportSignature } from "./verify/report_signature.ts";
import { AMD_ARK_SHA256 } from "./verify/roots.ts";
import {
  checkVekMatchesReport,
  readVekExtensions,
  type VekExtensions,
} from "./verify/vek_extensions.ts";

/**
 * Certificates given directly (CLI `--vcek/--ask/--ark`), as DER or PEM bytes.
 *
 * @example Verify offline with the certificates saved beside the report
 * ```ts
 * import { defaultSnpReferenceValues, type SnpCertificateFiles, SnpEvidenceVerifier } from "./mod.ts";
 *
 * async function offline(dir: string) {
 *   const certificates: SnpCertificateFiles = {
 *     vek: await Deno.readFile(`${dir}/vcek.der`),
 *     intermediate: await Deno.readFile(`${dir}/ask.der`),
 *     ark: await Deno.readFile(`${dir}/ark.der`),
 *   };
 *   return new SnpEvidenceVerifier({ referenceValues: defaultSnpReferenceValues(), certificates });
 * }
 * ```
 */
export interface SnpCertificateFiles {
  /** VCEK or VLEK. */
  readonly vek?: Uint8Array;
  /** ASK or ASVK. */
  readonly intermediate?: Uint8Array;
  /** ARK. */
  readonly ark?: Uint8Array;
}

/**
 * Construction options of {@link SnpEvidenceVerifier}.
 *
 * @example Fetch missing certificates from AMD KDS and require a revocation check
 * ```ts
 * import { AmdKdsClient, defaultSnpReferenceValues, SnpEvidenceVerifier, type SnpEvidenceVerifierOptions } from "./mod.ts";
 * import { CachingFetcher } from "../collateral/mod.ts";
 *
 * const options: SnpEvidenceVerifierOptions = {
 *   referenceValues: defaultSnpReferenceValues(),
 *   collateral: new AmdKdsClient({ fetcher: new CachingFetcher({}) }),
 *   requireRevocationCheck: true,
 * };
 * const verifier = new SnpEvidenceVerifier(options);
 * ```
 */
export interface SnpEvidenceVerifierOptions {
  /** Accepted reference values: the evidence must match at least one. */
  readonly referenceValues: readonly SnpReferenceValue[];
  /** Where to get missing certificates and CRLs (AMD KDS through the collateral cache). */
  readonly collateral?: SnpCollateralSource;
  /** Cache of verified chains, shared between verifications. */
  readonly chainCache?: ChainCache;
  /** Certificates to use instead of the auxblob's or KDS's. */
  readonly certificates?: SnpCertificateFiles;
  /** Extra CRLs to check revocation with (besides the one from `collateral`). */
  readonly crls?: readonly Crl[];
  /**
   * The `HOST_DATA` the evidence must carry; when absent it is returned in the claims for the
   * caller to check (contrast checks it against the manifest's policy hashes).
   */
  readonly hostData?: Uint8Array;
  /**
   * Fail when no AMD CRL could be checked. Default: required for reports under a genuine AMD
   * root, as TDX requires its PCK CRL (a simulated root has no AMD CRL); `false` is the explicit
   * opt-out, and the result says whether revocation was checked.
   */
  readonly requireRevocationCheck?: boolean;
}

/**
 * The full result of an SNP verification, for `--json` output and tests.
 *
 * @example What a detailed verification tells besides the claims
 * ```ts
 * import type { SnpVerification } from "./mod.ts";
 *
 * function log(v: SnpVerification): void {
 *   console.log(v.vek.kind, v.rootFingerprint, v.revocationChecked ? "CRL checked" : "no CRL");
 * }
 * ```
 */
export interface SnpVerification {
  /** The claims handed to the rest of contrast. */
  readonly claims: AttestationClaims;
  /** The decoded report. */
  readonly report: SnpReport;
  /** The VCEK/VLEK extensions. */
  readonly vek: VekExtensions;
  /** SHA-256 of the root the chain ended in. */
  readonly rootFingerprint: string;
  /** Whether that root is a simulated one. */
  readonly simulatedRoot: boolean;
  /** Whether an AMD CRL was checked for a link of the chain (AMD revokes ASKs/ASVKs). */
  readonly revocationChecked: boolean;
}

/** The reference values of one product, and the roots they trust. */
interface ProductReferenceValues {
  readonly candidates: readonly { readonly value: SnpReferenceValue; readonly index: number }[];
  readonly genuineRoot: string;
  readonly trustedRoots: readonly string[];
}

interface ResolvedCertificates {
  readonly vek: Certificate;
  readonly intermediate?: Certificate;
  readonly ark?: Certificate;
}

const LATIN1 = new TextDecoder("latin1");

/**
 * Verifies SEV-SNP evidence; see the module documentation.
 *
 * @example Verify a report against reference values that pin its measurement
 * ```ts
 * import { baselineSnpReferenceValue, SnpEvidenceVerifier } from "./mod.ts";
 *
 * async function verify(report: Uint8Array, aux: Uint8Array, measurementHex: string) {
 *   const entry = baselineSnpReferenceValue("Metal-QEMU-SNP", "Genoa");
 *   const verifier = new SnpEvidenceVerifier({
 *     referenceValues: [{ ...entry, TrustedMeasurement: measurementHex }],
 *   });
 *   return await verifier.verify({ platform: "snp", report, aux }, {
 *     reportData: new Uint8Array(64),
 *     now: new Date(),
 *   });
 * }
 * ```
 */
export class SnpEvidenceVerifier implements EvidenceVerifier {
  /** Always `snp`. */
  readonly platform = "snp" as const;
  readonly #options: SnpEvidenceVerifierOptions;
  /** Parsed certificates by their DER bytes; VEK keys and extensions by certificate. */
  readonly #certificates = new Map<string, Certificate>();
  readonly #vekKeys = new WeakMap<Certificate, Promise<CryptoKey>>();
  readonly #vekExtensions = new WeakMap<Certificate, VekExtensions>();
  /** Parsed auxblob certificate tables by their exact bytes (each machine's, parsed once). */
  readonly #tables = new CertTableCache();
  /** The measurements each `APEIP` reference value allows, derived on first use. */
  readonly #apEipMeasurements = new WeakMap<SnpReferenceValue, ReadonlySet<string> | undefined>();
  /** The reference values of each product and the roots they trust (the options never change). */
  readonly #byProduct = new Map<SnpProductName, ProductReferenceValues>();

  /** A verifier for the reference values, collateral and certificates in `options`. */
  constructor(options: SnpEvidenceVerifierOptions) {
    this.#options = options;
  }

  /** {@inheritDoc EvidenceVerifier.verify} */
  async verify(evidence: Evidence, options: VerifyOptions): Promise<AttestationClaims> {
    return (await this.verifyDetailed(evidence, options)).claims;
  }

  /**
   * Like {@link verify}, with the decoded report and chain facts.
   *
   * @throws {import("../util/errors/mod.ts").ParseError} when the report or a certificate is malformed
   * @throws {VerificationError} when the evidence is not genuine
   * @throws {ValidationError} only when it is genuine (chain and signature verified) but matches no
   *   reference value (also when none is for its product)
   * @throws {UnavailableError} when a needed certificate can be found nowhere
   */
  async verifyDetailed(
    evidence: Evidence,
    options: Partial<VerifyOptions> & { readonly now: Date },
  ): Promise<SnpVerification> {
    if (evidence.platform !== "snp") {
      throw new VerificationError("evidence.platform", `expected snp, got ${evidence.platform}`);
    }
    // Structure first (product-independent checks); the TCB layout of v2 reports needs the
    // product, which the VCEK tells: parse again once it is known.
    const preliminary = parseSnpReport(evidence.report);
    const certs = await this.#resolveVek(evidence, preliminary, options.vendorLookups);
    const ext = this.#extensions(certs.vek);
    // v3+ reports name their product (checked against the VEK below); v2 ones need its layout.
    const report = preliminary.product !== undefined ||
        tcbLayoutOf(ext.product) === preliminary.tcbLayout
      ? preliminary
      : parseSnpReport(evidence.report, { product: ext.product });
    checkVekMatchesReport(ext, report);

    const { candidates, genuineRoot, trustedRoots } = this.#productReferenceValues(ext.product);

    const { intermediate, ark } = await this.#resolveChain(certs, ext);
    const fetched = await this.#crl(ext);
    const given = this.#options.crls ?? [];
    const crls = fetched.crl ? [...given, fetched.crl] : given;
    const chain = await verifySnpChain({
      vek: certs.vek,
      kind: ext.kind,
      product: ext.product,
      intermediate,
      ark,
      trustedRoots,
      crls,
      now: options.now,
      cache: this.#options.chainCache,
    });

    const revocationChecked = chain.revocationChecked.some((checked) => checked);
    const simulatedRoot = chain.rootFingerprint !== genuineRoot;
    // A report no reference value covers is refused below whatever its revocation status.
    const required = candidates.length > 0 &&
      (this.#options.requireRevocationCheck ?? !simulatedRoot);
    if (required && !revocationChecked) {
      const why = fetched.unavailable
        ? ` (${fetched.unavailable.field}: ${fetched.unavailable.reason})`
        : "";
      throw new UnavailableError(
        "crl",
        `no AMD CRL for ${ext.product} ${ext.kind} certificates could be checked${why}, and ` +
          "revocation checking is required",
        fetched.unavailable ? { cause: fetched.unavailable } : undefined,
      );
    }

    const key = await this.#vekKey(certs.vek);
    await verifyReportSignature(report, key);
    // Signed by this VEK: a fetched VCEK may now be kept (disk cache); never before. The lookup
    // was for a genuine chip and TCB, so its token goes back to the client's budget.
    options.vendorLookups?.refund();
    await this.#options.collateral?.keepVcek?.(certs.vek);
    if (candidates.length === 0) {
      throw new ValidationError("product", "no reference value is for this product", {
        expected: [...new Set(this.#options.referenceValues.map((v) => v.ProductName))].join(
          " or ",
        ),
        actual: ext.product,
      });
    }

    const eligible = candidates.filter(({ value }) =>
      simulatedRoot
        ? isSimulated(value) && value.SimulatedRootSHA256 === chain.rootFingerprint
        : !isSimulated(value)
    );
    const failures: { index: number; error: ValidationError }[] = [];
    let matched: number | undefined;
    for (const { value, index } of eligible) {
      try {
        validateSnpReport(report, ext.product, value, {
          reportData: options.reportData,
          hostData: this.#options.hostData,
          apEipMeasurements: this.#apEipMeasurementsOf(value),
        });
        matched = index;
        break;
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        failures.push({ index, error: e });
      }
    }
    if (matched === undefined) throw combineFailures(failures);

    const claims: AttestationClaims = {
      platform: "snp",
      reportData: report.reportData,
      hostData: report.hostData,
      measurement: report.measurement,
      referenceValueIndex: matched,
      details: snpDetails(report, ext, chain.rootFingerprint),
    };
    return {
      claims,
      report,
      vek: ext,
      rootFingerprint: chain.rootFingerprint,
      simulatedRoot,
      revocationChecked,
    };
  }

  /** The AMD CRL when the collateral source has one; revocation is checked when available. */
  /** The CRL from the collateral source, or why it could not be had (where it was sought). */
  async #crl(ext: VekExtensions): Promise<{ crl?: Crl; unavailable?: UnavailableError }> {
    const collateral = this.#options.collateral;
    if (collateral === undefined) return {};
    try {
      return { crl: await collateral.crl(ext.product, ext.kind) };
    } catch (e) {
      if (e instanceof UnavailableError) return { unavailable: e };
      throw e;
    }
  }

  /**
   * The reference values for `product` (with their index in the options) and the roots they
   * trust. No reference value covers the product: the report is still checked against AMD's
   * root, so the product mismatch (a ValidationError: genuine evidence) is reported only for a
   * genuine report; a forged one fails its chain or signature (a VerificationError) as it would
   * anyway.
   */
  #productReferenceValues(product: SnpProductName): ProductReferenceValues {
    let known = this.#byProduct.get(product);
    if (known === undefined) {
      const candidates = this.#options.referenceValues
        .map((value, index) => ({ value, index }))
        .filter(({ value }) => value.ProductName === product);
      const genuineRoot = AMD_ARK_SHA256[product];
      const trustedRoots = new Set<string>();
      for (const { value } of candidates) {
        if (!isSimulated(value)) trustedRoots.add(genuineRoot);
        else if (value.SimulatedRootSHA256) trustedRoots.add(value.SimulatedRootSHA256);
      }
      if (candidates.length === 0) trustedRoots.add(genuineRoot);
      known = Object.freeze({
        candidates: Object.freeze(candidates),
        genuineRoot,
        trustedRoots: Object.freeze([...trustedRoots]),
      });
      this.#byProduct.set(product, known);
    }
    return known;
  }

  /** {@link snpApEipMeasurements} of `value`, derived once per reference value. */
  #apEipMeasurementsOf(value: SnpReferenceValue): ReadonlySet<string> | undefined {
    if (value.APEIP === undefined) return undefined;
    if (!this.#apEipMeasurements.has(value)) {
      this.#apEipMeasurements.set(value, snpApEipMeasurements(value));
    }
    return this.#apEipMeasurements.get(value);
  }

  /**
   * The certificate of `kind` in the auxblob's table `table`, parsed as `field` once per table
   * (and shared with other tables holding the same DER through {@link #certificate}).
   */
  #tableCertificate(
    table: CachedCertTable,
    kind: CertTableKind,
    field: string,
  ): Certificate | undefined {
    let cert = table.certificates.get(field);
    if (cert === undefined) {
      const der = table.entries.find((e) => e.kind === kind)?.data;
      if (der === undefined) return undefined;
      cert = this.#certificate(der, field);
      table.certificates.set(field, cert);
    }
    return cert;
  }

  #certificate(bytes: Uint8Array, field: string): Certificate {
    // Keyed by the bytes themselves (latin1 maps each byte to its own code point).
    const id = `${field}:${LATIN1.decode(bytes)}`;
    let cert = this.#certificates.get(id);
    if (cert === undefined) {
      cert = parseCertificate(bytes, field);
      if (this.#certificates.size > 256) this.#certificates.clear();
      this.#certificates.set(id, cert);
    }
    return cert;
  }

  #extensions(vek: Certificate): VekExtensions {
    let ext = this.#vekExtensions.get(vek);
    if (ext === undefined) {
      ext = readVekExtensions(vek);
      this.#vekExtensions.set(vek, ext);
    }
    return ext;
  }

  #vekKey(vek: Certificate): Promise<CryptoKey> {
    let key = this.#vekKeys.get(vek);
    if (key === undefined) {
      key = importVekKey(vek);
      this.#vekKeys.set(vek, key);
    }
    return key;
  }

  async #resolveVek(
    evidence: Evidence,
    report: SnpReport,
    allowance: LookupAllowance | undefined,
  ): Promise<ResolvedCertificates> {
    const given = this.#options.certificates;
    const table = evidence.aux && evidence.aux.length > 0
      ? this.#tables.table(evidence.aux)
      : undefined;
    const kind = report.signerInfo.signingKey;
    if (kind === "none") {
      throw new VerificationError("report.signer_info.signing_key", "the report is not signed");
    }
    // Certificates given explicitly first, then the auxblob's (a copy of the evidence's bytes:
    // the caller may reuse its buffer; a parsed certificate views the bytes it was given).
    const load = (bytes: Uint8Array | undefined, kindInTable: CertTableKind, field: string) =>
      bytes
        ? this.#certificate(bytes, field)
        : table
        ? this.#tableCertificate(table, kindInTable, field)
        : undefined;
    const intermediate = load(given?.intermediate, "ASK", "ask");
    const ark = load(given?.ark, "ARK", "ark");
    let vek = load(given?.vek, kind, kind === "VCEK" ? "vcek" : "vlek");
    if (vek === undefined) {
      const collateral = this.#options.collateral;
      if (kind === "VLEK") {
        throw new UnavailableError(
          "vlek",
          "the report is signed by a VLEK, which AMD KDS does not publish: pass it with the " +
            "evidence (auxblob) or --vcek",
        );
      }
      if (collateral === undefined || report.signerInfo.maskChipKey) {
        throw new UnavailableError(
          "vcek",
          report.signerInfo.maskChipKey
            ? "the report masks its chip ID, so its VCEK cannot be fetched: pass it explicitly"
            : "no VCEK given (auxblob, --vcek) and no AMD KDS access configured",
        );
      }
      const product = report.product;
      if (product === undefined) {
        throw new UnavailableError(
          "vcek",
          "a version 2 report does not name its product; pass the VCEK explicitly",
        );
      }
      vek = await collateral.vcek(
        product,
        hwIdOf(report, product),
        report.reportedTcb,
        allowance ? { allowance } : undefined,
      );
    }
    return { vek, intermediate, ark };
  }

  async #resolveChain(
    certs: ResolvedCertificates,
    ext: VekExtensions,
  ): Promise<{ intermediate: Certificate; ark: Certificate }> {
    if (certs.intermediate && certs.ark) {
      return { intermediate: certs.intermediate, ark: certs.ark };
    }
    const collateral = this.#options.collateral;
    if (collateral === undefined) {
      throw new UnavailableError(
        certs.intermediate ? "ark" : "ask",
        `the ${certs.intermediate ? "ARK" : ext.kind === "VCEK" ? "ASK" : "ASVK"} is missing ` +
          "(auxblob, --ask/--ark) and no AMD KDS access is configured",
      );
    }
    const chain = await collateral.certChain(ext.product, ext.kind);
    return { intermediate: certs.intermediate ?? chain.intermediate, ark: certs.ark ?? chain.ark };
  }
}

/** The hwID KDS indexes VCEKs by: the 64-byte chip ID, or its first 8 bytes on Turin. */
function hwIdOf(report: SnpReport, product: SnpProductName): Uint8Array {
  return product === "Turin" ? report.chipId.subarray(0, 8) : report.chipId;
}

function combineFailures(failures: { index: number; error: ValidationError }[]): Error {
  if (failures.length === 0) {
    return new VerificationError(
      "ReferenceValues.snp",
      "the chain ends in a root no reference value of this product trusts",
    );
  }
  if (failures.length === 1) return failures[0]!.error;
  return new ValidationError(
    "ReferenceValues.snp",
    `no reference value matched: ${
      failures.map((f) => `[${f.index}] ${f.error.message}`).join("; ")
    }`,
  );
}

/** Human-readable claims of a verified report. */
function snpDetails(
  report: SnpReport,
  ext: VekExtensions,
  rootFingerprint: string,
): Record<string, string> {
  // describeTcb's entries as `name=value` pairs, written out directly (once per verification).
  const tcb = (t: SnpReport["reportedTcb"]) =>
    `raw=0x${t.raw.toString(16).padStart(16, "0")} ${
      t.fmc !== undefined ? `fmc=${t.fmc} ` : ""
    }bootloader=${t.bootloader} tee=${t.tee} snp=${t.snp} microcode=${t.microcode}`;
  return {
    version: String(report.version),
    product: ext.product,
    signingKey: ext.kind,
    measurement: encodeHex(report.measurement),
    hostData: encodeHex(report.hostData),
    reportData: encodeHex(report.reportData),
    chipId: encodeHex(report.chipId),
    idKeyDigest: encodeHex(report.idKeyDigest),
    policy: `0x${report.policy.raw.toString(16)}`,
    platformInfo: `0x${report.platformInfo.raw.toString(16)}`,
    vmpl: String(report.vmpl),
    reportedTcb: tcb(report.reportedTcb),
    committedTcb: tcb(report.committedTcb),
    launchTcb: tcb(report.launchTcb),
    currentTcb: tcb(report.currentTcb),
    rootSha256: rootFingerprint,
  };
}

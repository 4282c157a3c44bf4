/**
 * Types of a parsed Intel TDX quote (versions 4 and 5), following Intel's "TDX DCAP Quote
 * Generation Library and Quote Verification Library" data structures. Every byte field is a copy
 * in quote order; integers are decoded little-endian.
 *
 * @module
 */

/**
 * Quote header (48 bytes).
 *
 * @example Tell a v4 quote from a v5 one
 * ```ts
 * import type { TdxQuote, TdxQuoteHeader } from "../mod.ts";
 *
 * function version(quote: TdxQuote): 4 | 5 {
 *   const header: TdxQuoteHeader = quote.header;
 *   return header.version;
 * }
 * ```
 */
export interface TdxQuoteHeader {
  /** Quote format version: 4 or 5. */
  readonly version: 4 | 5;
  /** Attestation key type; 2 = ECDSA-256-with-P-256 (the only one TDX uses). */
  readonly attestationKeyType: number;
  /** TEE type; 0x81 = TDX. */
  readonly teeType: number;
  /** Bytes 8..10: reserved in v4 TDX quotes (QE SVN in SGX quotes). */
  readonly qeSvn: number;
  /** Bytes 10..12: reserved in v4 TDX quotes (PCE SVN in SGX quotes). */
  readonly pceSvn: number;
  /** Vendor of the quoting enclave (16 bytes; Intel: 939a7233f79c4ca9940a0db3957f0607). */
  readonly qeVendorId: Uint8Array;
  /** Custom data of the quote generator (20 bytes; first 16 = platform identifier). */
  readonly userData: Uint8Array;
}

/**
 * The TD report body (TD report 1.0: 584 bytes; TD report 1.5: 648 bytes).
 *
 * @example Runtime measurement registers
 * ```ts
 * import type { TdxReportBody } from "../mod.ts";
 *
 * function rtmr0(body: TdxReportBody): Uint8Array {
 *   return body.rtmrs[0];
 * }
 * ```
 */
export interface TdxReportBody {
  /** Which layout the body has: `1.0` (v4 quotes, v5 type 2) or `1.5` (v5 type 3). */
  readonly layout: "1.0" | "1.5";
  /** TEE_TCB_SVN (16 bytes): TDX module and microcode security versions. */
  readonly teeTcbSvn: Uint8Array;
  /** MRSEAM (48 bytes): measurement of the TDX module. */
  readonly mrSeam: Uint8Array;
  /** MRSIGNERSEAM (48 bytes): signer of the TDX module (zero for Intel's). */
  readonly mrSignerSeam: Uint8Array;
  /** SEAMATTRIBUTES (8 bytes, little-endian bitfield). */
  readonly seamAttributes: Uint8Array;
  /** TDATTRIBUTES (8 bytes, little-endian bitfield; bit 0 = DEBUG). */
  readonly tdAttributes: Uint8Array;
  /** XFAM (8 bytes, little-endian bitfield). */
  readonly xfam: Uint8Array;
  /** MRTD (48 bytes): the TD's build-time measurement. */
  readonly mrTd: Uint8Array;
  /** MRCONFIGID (48 bytes): host-provided configuration id (contrast: initdata digest). */
  readonly mrConfigId: Uint8Array;
  /** MROWNER (48 bytes). */
  readonly mrOwner: Uint8Array;
  /** MROWNERCONFIG (48 bytes). */
  readonly mrOwnerConfig: Uint8Array;
  /** RTMR0..RTMR3 (4 × 48 bytes). */
  readonly rtmrs: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** REPORTDATA (64 bytes) chosen by the guest. */
  readonly reportData: Uint8Array;
  /** TD 1.5 only: TEE_TCB_SVN2 (16 bytes). */
  readonly teeTcbSvn2?: Uint8Array;
  /** TD 1.5 only: MRSERVICETD (48 bytes). */
  readonly mrServiceTd?: Uint8Array;
}

/**
 * The body descriptor of a v5 quote.
 *
 * @example Is this a TDX 1.5 body in a v5 quote?
 * ```ts
 * import type { TdxBodyDescriptor, TdxQuote } from "../mod.ts";
 *
 * function bodyType(quote: TdxQuote): number | undefined {
 *   const descriptor: TdxBodyDescriptor | undefined = quote.bodyDescriptor;
 *   return descriptor?.type; // 3 = TDX 1.5 report body
 * }
 * ```
 */
export interface TdxBodyDescriptor {
  /** Body type: 2 = TD report 1.0, 3 = TD report 1.5 (1 = SGX, rejected). */
  readonly type: number;
  /** Body size in bytes. */
  readonly size: number;
}

/**
 * An SGX enclave report body (384 bytes): here, the quoting enclave's report.
 *
 * @example The QE's ISV SVN
 * ```ts
 * import type { SgxReportBody, TdxQuote } from "../mod.ts";
 *
 * function qeSvn(quote: TdxQuote): number {
 *   const report: SgxReportBody = quote.signatureData.qeCertification.qeReport;
 *   return report.isvSvn;
 * }
 * ```
 */
export interface SgxReportBody {
  /** CPUSVN (16 bytes). */
  readonly cpuSvn: Uint8Array;
  /** MISCSELECT (u32). */
  readonly miscSelect: number;
  /** Reserved bytes 20..48 (28 bytes), kept as signed. */
  readonly reserved1: Uint8Array;
  /** ATTRIBUTES (16 bytes). */
  readonly attributes: Uint8Array;
  /** MRENCLAVE (32 bytes). */
  readonly mrEnclave: Uint8Array;
  /** Reserved bytes 96..128 (32 bytes). */
  readonly reserved2: Uint8Array;
  /** MRSIGNER (32 bytes). */
  readonly mrSigner: Uint8Array;
  /** Reserved bytes 160..256 (96 bytes). */
  readonly reserved3: Uint8Array;
  /** ISVPRODID (u16). */
  readonly isvProdId: number;
  /** ISVSVN (u16). */
  readonly isvSvn: number;
  /** Reserved bytes 260..320 (60 bytes). */
  readonly reserved4: Uint8Array;
  /** REPORTDATA (64 bytes). */
  readonly reportData: Uint8Array;
}

/**
 * Certification data as found in the quote: a type and its raw bytes.
 *
 * @example The PCK chain a quote carries (certification data type 5)
 * ```ts
 * import type { CertificationData, TdxQuote } from "../mod.ts";
 *
 * function pckChainPem(quote: TdxQuote): string | undefined {
 *   const data: CertificationData = quote.signatureData.qeCertification.certification;
 *   return data.type === 5 ? new TextDecoder().decode(data.data) : undefined;
 * }
 * ```
 */
export interface CertificationData {
  /** Certification data type (5 = PCK certificate chain PEM, 6 = QE report certification data). */
  readonly type: number;
  /** The raw data. */
  readonly data: Uint8Array;
}

/**
 * QE report certification data (certification data type 6).
 *
 * @example The QE report inside a quote's signature data
 * ```ts
 * import type { QeReportCertificationData, TdxQuote } from "../mod.ts";
 *
 * function qeMrSigner(quote: TdxQuote): Uint8Array {
 *   const qe: QeReportCertificationData = quote.signatureData.qeCertification;
 *   return qe.qeReport.mrSigner;
 * }
 * ```
 */
export interface QeReportCertificationData {
  /** The QE report (384 bytes, SGX report body). */
  readonly qeReport: SgxReportBody;
  /** The raw 384 bytes of the QE report, as signed by the PCK key. */
  readonly qeReportBytes: Uint8Array;
  /** ECDSA P-256 signature of the PCK key over the QE report (r ‖ s, 64 bytes). */
  readonly qeReportSignature: Uint8Array;
  /** QE authentication data (variable length). */
  readonly qeAuthData: Uint8Array;
  /** The nested certification data (type 5: the PCK certificate chain in PEM). */
  readonly certification: CertificationData;
}

/**
 * The quote signature data.
 *
 * @example The attestation key that signed the quote
 * ```ts
 * import type { TdxQuote, TdxQuoteSignatureData } from "../mod.ts";
 *
 * function attestationKey(quote: TdxQuote): Uint8Array {
 *   const data: TdxQuoteSignatureData = quote.signatureData;
 *   return data.attestationKey; // 64 bytes: the P-256 point without its 0x04 prefix
 * }
 * ```
 */
export interface TdxQuoteSignatureData {
  /** ECDSA P-256 signature by the attestation key over the signed region (r ‖ s, 64 bytes). */
  readonly signature: Uint8Array;
  /** The attestation public key (x ‖ y, 64 bytes). */
  readonly attestationKey: Uint8Array;
  /** The outer certification data type (always 6 for TDX). */
  readonly certificationDataType: number;
  /** The parsed QE report certification data. */
  readonly qeCertification: QeReportCertificationData;
}

/**
 * A parsed TDX quote.
 *
 * @example Read the TD's measurement and report data
 * ```ts
 * import { parseTdxQuote, type TdxQuote } from "../mod.ts";
 *
 * function summary(bytes: Uint8Array): { mrTd: Uint8Array; reportData: Uint8Array } {
 *   const quote: TdxQuote = parseTdxQuote(bytes);
 *   return { mrTd: quote.body.mrTd, reportData: quote.body.reportData };
 * }
 * ```
 */
export interface TdxQuote {
  /** The header. */
  readonly header: TdxQuoteHeader;
  /** The v5 body descriptor; absent for v4. */
  readonly bodyDescriptor?: TdxBodyDescriptor;
  /** The TD report body. */
  readonly body: TdxReportBody;
  /** Declared length of the signature data. */
  readonly signatureDataLength: number;
  /** The parsed signature data. */
  readonly signatureData: TdxQuoteSignatureData;
  /** The bytes the attestation key signed: header ‖ body (v5: header ‖ descriptor ‖ body). */
  readonly signedBytes: Uint8Array;
  /** Length of the quote structure (where the signature data ends). */
  readonly structureLength: number;
  /** Bytes in the buffer after the quote structure (padding or unrelated data); never parsed. */
  readonly trailingBytes: number;
}

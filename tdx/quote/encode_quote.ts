/**
 * Serialises TDX quote parts back into bytes in Intel's layout (the inverse of
 * {@link parseTdxQuote}). The simulated authority builds its quotes with it.
 *
 * @module
 */
import { concatBytes } from "../../util/bytes/mod.ts";
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  BODY_TYPE_TD_REPORT_10,
  BODY_TYPE_TD_REPORT_15,
  CERT_TYPE_QE_REPORT,
  SGX_REPORT_SIZE,
  TD_REPORT_10_SIZE,
  TD_REPORT_15_SIZE,
  TEE_TYPE_TDX,
} from "./constants.ts";
import type { SgxReportBody, TdxQuoteHeader, TdxReportBody } from "./types.ts";
import { ParseError } from "../../util/errors/mod.ts";

class Writer {
  readonly parts: Uint8Array[] = [];
  u16(n: number) {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, n, true);
    this.parts.push(b);
  }
  u32(n: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    this.parts.push(b);
  }
  bytes(field: string, b: Uint8Array, length?: number) {
    if (length !== undefined && b.length !== length) {
      throw new ParseError(field, `must be ${length} bytes, got ${b.length}`);
    }
    this.parts.push(b);
  }
  done(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Encodes a quote header (48 bytes). */
export function encodeTdxHeader(
  h: Omit<TdxQuoteHeader, "attestationKeyType" | "teeType">,
): Uint8Array {
  const w = new Writer();
  w.u16(h.version);
  w.u16(ATTESTATION_KEY_TYPE_ECDSA_P256);
  w.u32(TEE_TYPE_TDX);
  w.u16(h.qeSvn);
  w.u16(h.pceSvn);
  w.bytes("header.qeVendorId", h.qeVendorId, 16);
  w.bytes("header.userData", h.userData, 20);
  return w.done();
}

/** Encodes a TD report body (584 bytes for 1.0, 648 for 1.5). */
function encodeTdxBody(b: TdxReportBody): Uint8Array {
  const w = new Writer();
  w.bytes("body.teeTcbSvn", b.teeTcbSvn, 16);
  w.bytes("body.mrSeam", b.mrSeam, 48);
  w.bytes("body.mrSignerSeam", b.mrSignerSeam, 48);
  w.bytes("body.seamAttributes", b.seamAttributes, 8);
  w.bytes("body.tdAttributes", b.tdAttributes, 8);
  w.bytes("body.xfam", b.xfam, 8);
  w.bytes("body.mrTd", b.mrTd, 48);
  w.bytes("body.mrConfigId", b.mrConfigId, 48);
  w.bytes("body.mrOwner", b.mrOwner, 48);
  w.bytes("body.mrOwnerConfig", b.mrOwnerConfig, 48);
  b.rtmrs.forEach((r, i) => w.bytes(`body.rtmr${i}`, r, 48));
  w.bytes("body.reportData", b.reportData, 64);
  if (b.layout === "1.5") {
    w.bytes("body.teeTcbSvn2", b.teeTcbSvn2 ?? new Uint8Array(16), 16);
    w.bytes("body.mrServiceTd", b.mrServiceTd ?? new Uint8Array(48), 48);
  }
  const out = w.done();
  const size = b.layout === "1.5" ? TD_REPORT_15_SIZE : TD_REPORT_10_SIZE;
  if (out.length !== size) throw new ParseError("body", `encoded ${out.length} bytes, not ${size}`);
  return out;
}

/** The bytes the attestation key signs: header ‖ body (v5: header ‖ descriptor ‖ body). */
export function encodeSignedRegion(
  header: Uint8Array,
  version: 4 | 5,
  body: TdxReportBody,
): Uint8Array {
  const bodyBytes = encodeTdxBody(body);
  if (version === 4) return concatBytes(header, bodyBytes);
  const w = new Writer();
  w.u16(body.layout === "1.5" ? BODY_TYPE_TD_REPORT_15 : BODY_TYPE_TD_REPORT_10);
  w.u32(bodyBytes.length);
  return concatBytes(header, w.done(), bodyBytes);
}

/** Encodes an SGX report body (384 bytes). */
export function encodeSgxReportBody(r: SgxReportBody): Uint8Array {
  const w = new Writer();
  w.bytes("qeReport.cpuSvn", r.cpuSvn, 16);
  w.u32(r.miscSelect);
  w.bytes("qeReport.reserved1", r.reserved1, 28);
  w.bytes("qeReport.attributes", r.attributes, 16);
  w.bytes("qeReport.mrEnclave", r.mrEnclave, 32);
  w.bytes("qeReport.reserved2", r.reserved2, 32);
  w.bytes("qeReport.mrSigner", r.mrSigner, 32);
  w.bytes("qeReport.reserved3", r.reserved3, 96);
  w.u16(r.isvProdId);
  w.u16(r.isvSvn);
  w.bytes("qeReport.reserved4", r.reserved4, 60);
  w.bytes("qeReport.reportData", r.reportData, 64);
  const out = w.done();
  if (out.length !== SGX_REPORT_SIZE) throw new ParseError("qeReport", "wrong encoded size");
  return out;
}

/** Parts of the signature data. */
interface SignatureDataParts {
  /** Quote signature r ‖ s (64 bytes). */
  readonly signature: Uint8Array;
  /** Attestation key x ‖ y (64 bytes). */
  readonly attestationKey: Uint8Array;
  /** Encoded QE report (384 bytes). */
  readonly qeReport: Uint8Array;
  /** QE report signature r ‖ s (64 bytes). */
  readonly qeReportSignature: Uint8Array;
  /** QE authentication data. */
  readonly qeAuthData: Uint8Array;
  /** Inner certification data type (5: PCK chain PEM). */
  readonly certificationType: number;
  /** Inner certification data. */
  readonly certificationData: Uint8Array;
}

/** Encodes the signature data with its u32 length prefix. */
export function encodeSignatureData(p: SignatureDataParts): Uint8Array {
  const inner = new Writer();
  inner.bytes("qeReport", p.qeReport, SGX_REPORT_SIZE);
  inner.bytes("qeReportSignature", p.qeReportSignature, 64);
  inner.u16(p.qeAuthData.length);
  inner.bytes("qeAuthData", p.qeAuthData);
  inner.u16(p.certificationType);
  inner.u32(p.certificationData.length);
  inner.bytes("certificationData", p.certificationData);
  const qeCert = inner.done();
  const w = new Writer();
  w.bytes("signature", p.signature, 64);
  w.bytes("attestationKey", p.attestationKey, 64);
  w.u16(CERT_TYPE_QE_REPORT);
  w.u32(qeCert.length);
  w.bytes("qeReportCertificationData", qeCert);
  const sd = w.done();
  const len = new Writer();
  len.u32(sd.length);
  return concatBytes(len.done(), sd);
}

/**
 * Parses Intel TDX quotes (v4 and v5) by structure: every length is read from the quote and
 * checked against the buffer and against the nested structures it contains, so padding after
 * the quote is counted as trailing bytes and never read as data.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import { ByteReader } from "../../util/bytes/mod.ts";
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  BODY_TYPE_TD_REPORT_10,
  BODY_TYPE_TD_REPORT_15,
  CERT_TYPE_QE_REPORT,
  HEADER_SIZE,
  MAX_QUOTE_SECTION,
  SGX_REPORT_SIZE,
  TD_REPORT_10_SIZE,
  TD_REPORT_15_SIZE,
  TEE_TYPE_TDX,
} from "./constants.ts";
import type {
  CertificationData,
  QeReportCertificationData,
  SgxReportBody,
  TdxBodyDescriptor,
  TdxQuote,
  TdxQuoteHeader,
  TdxQuoteSignatureData,
  TdxReportBody,
} from "./types.ts";

function parseHeader(r: ByteReader): TdxQuoteHeader {
  const version = r.u16("version");
  if (version !== 4 && version !== 5) {
    throw new ParseError(r.name("version"), `unsupported quote version ${version} (need 4 or 5)`);
  }
  const attestationKeyType = r.u16("attestationKeyType");
  if (attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw new ParseError(
      r.name("attestationKeyType"),
      `unsupported attestation key type ${attestationKeyType} (need 2, ECDSA P-256)`,
    );
  }
  const teeType = r.u32("teeType");
  if (teeType !== TEE_TYPE_TDX) {
    throw new ParseError(
      r.name("teeType"),
      `TEE type 0x${teeType.toString(16)} is not TDX (0x81)`,
    );
  }
  return {
    version,
    attestationKeyType,
    teeType,
    qeSvn: r.u16("qeSvn"),
    pceSvn: r.u16("pceSvn"),
    qeVendorId: r.bytes("qeVendorId", 16),
    userData: r.bytes("userData", 20),
  };
}

function parseBody(r: ByteReader, layout: "1.0" | "1.5"): TdxReportBody {
  const teeTcbSvn = r.bytes("teeTcbSvn", 16);
  const mrSeam = r.bytes("mrSeam", 48);
  const mrSignerSeam = r.bytes("mrSignerSeam", 48);
  const seamAttributes = r.bytes("seamAttributes", 8);
  const tdAttributes = r.bytes("tdAttributes", 8);
  const xfam = r.bytes("xfam", 8);
  const mrTd = r.bytes("mrTd", 48);
  const mrConfigId = r.bytes("mrConfigId", 48);
  const mrOwner = r.bytes("mrOwner", 48);
  const mrOwnerConfig = r.bytes("mrOwnerConfig", 48);
  const rtmrs = [
    r.bytes("rtmr0", 48),
    r.bytes("rtmr1", 48),
    r.bytes("rtmr2", 48),
    r.bytes("rtmr3", 48),
  ] as const;
  const reportData = r.bytes("reportData", 64);
  const base = {
    layout,
    teeTcbSvn,
    mrSeam,
    mrSignerSeam,
    seamAttributes,
    tdAttributes,
    xfam,
    mrTd,
    mrConfigId,
    mrOwner,
    mrOwnerConfig,
    rtmrs,
    reportData,
  };
  if (layout === "1.0") return base;
  return {
    ...base,
    teeTcbSvn2: r.bytes("teeTcbSvn2", 16),
    mrServiceTd: r.bytes("mrServiceTd", 48),
  };
}

/** Parses an SGX report body (384 bytes), e.g. the QE report. */
function parseSgxReportBody(bytes: Uint8Array, context = "qeReport"): SgxReportBody {
  if (bytes.length !== SGX_REPORT_SIZE) {
    throw new ParseError(context, `must be ${SGX_REPORT_SIZE} bytes, got ${bytes.length}`);
  }
  const r = new ByteReader(bytes, context);
  return {
    cpuSvn: r.bytes("cpuSvn", 16),
    miscSelect: r.u32("miscSelect"),
    reserved1: r.bytes("reserved1", 28),
    attributes: r.bytes("attributes", 16),
    mrEnclave: r.bytes("mrEnclave", 32),
    reserved2: r.bytes("reserved2", 32),
    mrSigner: r.bytes("mrSigner", 32),
    reserved3: r.bytes("reserved3", 96),
    isvProdId: r.u16("isvProdId"),
    isvSvn: r.u16("isvSvn"),
    reserved4: r.bytes("reserved4", 60),
    reportData: r.bytes("reportData", 64),
  };
}

function readLength(r: ByteReader, field: string, width: 2 | 4): number {
  const n = width === 2 ? r.u16(field) : r.u32(field);
  if (n > MAX_QUOTE_SECTION) {
    throw new ParseError(r.name(field), `declared length ${n} exceeds ${MAX_QUOTE_SECTION}`);
  }
  if (n > r.remaining) {
    throw new ParseError(
      r.name(field),
      `declares ${n} bytes but only ${r.remaining} follow at offset ${r.offset}`,
    );
  }
  return n;
}

function parseCertificationData(r: ByteReader, context: string): CertificationData {
  const type = r.u16(`${context}.type`);
  const size = readLength(r, `${context}.size`, 4);
  return { type, data: r.bytes(`${context}.data`, size) };
}

function parseQeReportCertificationData(
  data: Uint8Array,
  context: string,
): QeReportCertificationData {
  const r = new ByteReader(data, context);
  const qeReportBytes = r.bytes("qeReport", SGX_REPORT_SIZE);
  const qeReport = parseSgxReportBody(qeReportBytes, `${context}.qeReport`);
  const qeReportSignature = r.bytes("qeReportSignature", 64);
  const authSize = readLength(r, "qeAuthData.size", 2);
  const qeAuthData = r.bytes("qeAuthData.data", authSize);
  const certification = parseCertificationData(r, "certification");
  if (r.remaining !== 0) {
    throw new ParseError(
      context,
      `${r.remaining} bytes after the nested certification data inside the declared size`,
    );
  }
  return { qeReport, qeReportBytes, qeReportSignature, qeAuthData, certification };
}

function parseSignatureData(bytes: Uint8Array): TdxQuoteSignatureData {
  const r = new ByteReader(bytes, "quote.signatureData");
  const signature = r.bytes("signature", 64);
  const attestationKey = r.bytes("attestationKey", 64);
  const outer = parseCertificationData(r, "certification");
  if (r.remaining !== 0) {
    throw new ParseError(
      "quote.signatureData",
      `${r.remaining} bytes after the certification data inside the declared length`,
    );
  }
  if (outer.type !== CERT_TYPE_QE_REPORT) {
    throw new ParseError(
      "quote.signatureData.certification.type",
      `expected 6 (QE report certification data), got ${outer.type}`,
    );
  }
  return {
    signature,
    attestationKey,
    certificationDataType: outer.type,
    qeCertification: parseQeReportCertificationData(
      outer.data,
      "quote.signatureData.certification.qeReportCertificationData",
    ),
  };
}

/**
 * Parses a TDX quote (v4, or v5 with a TD report 1.0 or 1.5 body).
 *
 * Bytes after the end of the signature data are not parsed; their count is returned as
 * `trailingBytes` so callers can decide (the verifier accepts padding; it is never signed data).
 *
 * @example
 * ```ts
 * import { parseTdxQuote } from "../mod.ts";
 *
 * function mrTdOf(bytes: Uint8Array): Uint8Array {
 *   return parseTdxQuote(bytes).body.mrTd; // decoded, not verified
 * }
 * ```
 *
 * @throws {ParseError} naming the field that is malformed or does not fit
 */
export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  const r = new ByteReader(bytes, "quote");
  const header = parseHeader(new ByteReader(r.bytes("header", HEADER_SIZE), "quote.header"));
  let bodyDescriptor: TdxBodyDescriptor | undefined;
  let layout: "1.0" | "1.5" = "1.0";
  let bodySize = TD_REPORT_10_SIZE;
  if (header.version === 5) {
    const type = r.u16("bodyDescriptor.type");
    const size = r.u32("bodyDescriptor.size");
    if (type === BODY_TYPE_TD_REPORT_10) {
      layout = "1.0";
      bodySize = TD_REPORT_10_SIZE;
    } else if (type === BODY_TYPE_TD_REPORT_15) {
      layout = "1.5";
      bodySize = TD_REPORT_15_SIZE;
    } else {
      throw new ParseError(
        "quote.bodyDescriptor.type",
        `unsupported body type ${type} (need 2, TD report 1.0, or 3, TD report 1.5)`,
      );
    }
    if (size !== bodySize) {
      throw new ParseError(
        "quote.bodyDescriptor.size",
        `body type ${type} has ${bodySize} bytes, descriptor says ${size}`,
      );
    }
    bodyDescriptor = { type, size };
  }
  const bodyBytes = r.bytes("body", bodySize);
  const body = parseBody(new ByteReader(bodyBytes, "quote.body"), layout);
  const signedLength = r.offset;
  const signatureDataLength = readLength(r, "signatureDataLength", 4);
  const signatureData = parseSignatureData(r.bytes("signatureData", signatureDataLength));
  const structureLength = r.offset;
  return {
    header,
    bodyDescriptor,
    body,
    signatureDataLength,
    signatureData,
    signedBytes: bytes.slice(0, signedLength),
    structureLength,
    trailingBytes: bytes.length - structureLength,
  };
}

/**
 * A plain JSON description of a parsed quote (hex for bytes), for `contrast evidence show` and
 * logs.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import type { TdxQuote } from "./types.ts";

/**
 * JSON-ready description of every field of a quote.
 *
 * @example Print a quote as readable JSON
 * ```ts
 * import { describeTdxQuote, parseTdxQuote } from "../mod.ts";
 *
 * function show(bytes: Uint8Array): void {
 *   console.log(JSON.stringify(describeTdxQuote(parseTdxQuote(bytes)), null, 2));
 * }
 * ```
 */
export function describeTdxQuote(q: TdxQuote): Record<string, unknown> {
  const b = q.body;
  const qc = q.signatureData.qeCertification;
  const r = qc.qeReport;
  return {
    header: {
      version: q.header.version,
      attestationKeyType: q.header.attestationKeyType,
      teeType: `0x${q.header.teeType.toString(16)}`,
      qeSvn: q.header.qeSvn,
      pceSvn: q.header.pceSvn,
      qeVendorId: encodeHex(q.header.qeVendorId),
      userData: encodeHex(q.header.userData),
    },
    bodyDescriptor: q.bodyDescriptor ?? null,
    body: {
      layout: b.layout,
      teeTcbSvn: encodeHex(b.teeTcbSvn),
      mrSeam: encodeHex(b.mrSeam),
      mrSignerSeam: encodeHex(b.mrSignerSeam),
      seamAttributes: encodeHex(b.seamAttributes),
      tdAttributes: encodeHex(b.tdAttributes),
      debug: (b.tdAttributes[0]! & 1) === 1,
      xfam: encodeHex(b.xfam),
      mrTd: encodeHex(b.mrTd),
      mrConfigId: encodeHex(b.mrConfigId),
      mrOwner: encodeHex(b.mrOwner),
      mrOwnerConfig: encodeHex(b.mrOwnerConfig),
      rtmrs: b.rtmrs.map(encodeHex),
      reportData: encodeHex(b.reportData),
      ...(b.teeTcbSvn2 ? { teeTcbSvn2: encodeHex(b.teeTcbSvn2) } : {}),
      ...(b.mrServiceTd ? { mrServiceTd: encodeHex(b.mrServiceTd) } : {}),
    },
    signatureData: {
      length: q.signatureDataLength,
      signature: encodeHex(q.signatureData.signature),
      attestationKey: encodeHex(q.signatureData.attestationKey),
      certificationDataType: q.signatureData.certificationDataType,
      qeReport: {
        cpuSvn: encodeHex(r.cpuSvn),
        miscSelect: r.miscSelect,
        attributes: encodeHex(r.attributes),
        mrEnclave: encodeHex(r.mrEnclave),
        mrSigner: encodeHex(r.mrSigner),
        isvProdId: r.isvProdId,
        isvSvn: r.isvSvn,
        reportData: encodeHex(r.reportData),
      },
      qeReportSignature: encodeHex(qc.qeReportSignature),
      qeAuthData: encodeHex(qc.qeAuthData),
      certification: { type: qc.certification.type, length: qc.certification.data.length },
    },
    structureLength: q.structureLength,
    trailingBytes: q.trailingBytes,
  };
}

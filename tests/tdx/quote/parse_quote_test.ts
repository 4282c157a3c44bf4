import { strict as assert } from "node:assert";
import { ParseError } from "../../../util/errors/mod.ts";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import {
  conformanceAvailable,
  conformanceTest,
  readConformance,
  readConformanceManifest,
} from "../../conformance.ts";

interface TdxVector {
  name: string;
  dir: string;
  // deno-lint-ignore no-explicit-any
  expected: any;
}

async function vectors(): Promise<TdxVector[]> {
  if (!conformanceAvailable) return [];
  const manifest = await readConformanceManifest();
  return manifest.tdx as TdxVector[];
}

const BODY_FIELDS: Record<string, (q: ReturnType<typeof parseTdxQuote>) => Uint8Array | undefined> =
  {
    tee_tcb_svn: (q) => q.body.teeTcbSvn,
    mrseam: (q) => q.body.mrSeam,
    mrsignerseam: (q) => q.body.mrSignerSeam,
    seam_attributes: (q) => q.body.seamAttributes,
    td_attributes: (q) => q.body.tdAttributes,
    xfam: (q) => q.body.xfam,
    mrtd: (q) => q.body.mrTd,
    mrconfigid: (q) => q.body.mrConfigId,
    mrowner: (q) => q.body.mrOwner,
    mrownerconfig: (q) => q.body.mrOwnerConfig,
    rtmr0: (q) => q.body.rtmrs[0],
    rtmr1: (q) => q.body.rtmrs[1],
    rtmr2: (q) => q.body.rtmrs[2],
    rtmr3: (q) => q.body.rtmrs[3],
    report_data: (q) => q.body.reportData,
    tee_tcb_svn2: (q) => q.body.teeTcbSvn2,
    mrservicetd: (q) => q.body.mrServiceTd,
  };

conformanceTest("every TDX vector decodes to the values MANIFEST.json lists", async () => {
  const list = await vectors();
  assert.equal(list.length, 5);
  for (const v of list) {
    const q = parseTdxQuote(await readConformance(`${v.dir}/quote.bin`));
    const e = v.expected;
    const h = e.header;
    assert.equal(q.header.version, h.version, v.name);
    assert.equal(q.header.attestationKeyType, h.att_key_type, v.name);
    assert.equal(`0x${q.header.teeType.toString(16)}`, h.tee_type, v.name);
    assert.equal(q.header.qeSvn, h.reserved_or_qe_svn, v.name);
    assert.equal(q.header.pceSvn, h.reserved_or_pce_svn, v.name);
    assert.equal(encodeHex(q.header.qeVendorId), h.qe_vendor_id, v.name);
    assert.equal(encodeHex(q.header.userData), h.user_data, v.name);
    assert.deepEqual(q.bodyDescriptor ?? null, e.body_descriptor, v.name);
    for (const [field, value] of Object.entries(e.body)) {
      const got = BODY_FIELDS[field]?.(q);
      assert.ok(got, `${v.name}: parser has no field for ${field}`);
      assert.equal(encodeHex(got), value, `${v.name}: ${field}`);
    }
    assert.equal(q.body.layout, e.body.tee_tcb_svn2 ? "1.5" : "1.0", v.name);
    assert.equal(q.signedBytes.length, e.signed_region.length, v.name);
    assert.equal(q.signatureDataLength, e.signature_data_len, v.name);
    assert.equal(q.structureLength, e.quote_structure_len, v.name);
    assert.equal(q.trailingBytes, e.trailing_bytes_after_signature_data, v.name);
    assert.equal(q.trailingBytes + q.structureLength, e.quote_buffer_len, v.name);
    const sd = q.signatureData;
    assert.equal(encodeHex(sd.attestationKey), e.attestation_key_xy, v.name);
    assert.equal(sd.certificationDataType, e.certification_data_type, v.name);
    const qc = sd.qeCertification;
    assert.equal(qc.certification.type, e.inner_certification_data_type, v.name);
    assert.equal(encodeHex(qc.qeAuthData), e.qe_auth_data, v.name);
    const qr = qc.qeReport;
    assert.equal(encodeHex(qr.cpuSvn), e.qe_report.cpu_svn, v.name);
    const misc = new Uint8Array(4);
    new DataView(misc.buffer).setUint32(0, qr.miscSelect, true);
    assert.equal(encodeHex(misc), e.qe_report.misc_select, v.name);
    assert.equal(encodeHex(qr.attributes), e.qe_report.attributes, v.name);
    assert.equal(encodeHex(qr.mrEnclave), e.qe_report.mr_enclave, v.name);
    assert.equal(encodeHex(qr.mrSigner), e.qe_report.mr_signer, v.name);
    assert.equal(qr.isvProdId, e.qe_report.isv_prod_id, v.name);
    assert.equal(qr.isvSvn, e.qe_report.isv_svn, v.name);
    assert.equal(encodeHex(qr.reportData), e.qe_report.report_data, v.name);
  }
});

conformanceTest("padded GCP quote parses and reports its 3065 zero bytes as trailing", async () => {
  const bytes = await readConformance("tdx/v4-gcp-cos113-padded/quote.bin");
  const q = parseTdxQuote(bytes);
  assert.equal(q.trailingBytes, 3065);
  assert.ok(bytes.subarray(q.structureLength).every((b) => b === 0));
});

conformanceTest("trailing bytes never change the parsed quote", async () => {
  const bytes = await readConformance("tdx/v5-phala-90c06f-tcb-not-supported/quote.bin");
  const padded = new Uint8Array(bytes.length + 100).fill(0xab);
  padded.set(bytes);
  const a = parseTdxQuote(bytes);
  const b = parseTdxQuote(padded);
  assert.equal(b.trailingBytes, 100);
  assert.deepEqual(b.body, a.body);
  assert.deepEqual(b.signatureData, a.signatureData);
});

async function sampleQuote(): Promise<Uint8Array> {
  return await readConformance("tdx/v4-phala-b0c06f-uptodate/quote.bin");
}

function expectParseError(bytes: Uint8Array, field: RegExp) {
  assert.throws(() => parseTdxQuote(bytes), (e: unknown) => {
    assert.ok(e instanceof ParseError, `expected ParseError, got ${e}`);
    assert.match(e.field, field);
    return true;
  });
}

conformanceTest("rejects an unsupported quote version naming the field", async () => {
  const q = await sampleQuote();
  q[0] = 3;
  expectParseError(q, /quote\.header\.version/);
});

conformanceTest("rejects a non-ECDSA attestation key type", async () => {
  const q = await sampleQuote();
  q[2] = 3;
  expectParseError(q, /attestationKeyType/);
});

conformanceTest("rejects an SGX (non-TDX) TEE type", async () => {
  const q = await sampleQuote();
  q[4] = 0;
  expectParseError(q, /teeType/);
});

conformanceTest("rejects a quote truncated inside the body", async () => {
  const q = await sampleQuote();
  expectParseError(q.slice(0, 300), /quote\.body/);
});

conformanceTest("rejects a signature data length longer than the buffer", async () => {
  const q = await sampleQuote();
  new DataView(q.buffer).setUint32(632, 0xffff, true);
  expectParseError(q, /signatureDataLength/);
});

conformanceTest("rejects a signature data length that cuts the certification data", async () => {
  const q = await sampleQuote();
  const dv = new DataView(q.buffer);
  dv.setUint32(632, dv.getUint32(632, true) - 1, true);
  expectParseError(q, /quote\.signatureData/);
});

conformanceTest("rejects a signature data length with extra bytes inside it", async () => {
  const q = await sampleQuote();
  const dv = new DataView(q.buffer);
  dv.setUint32(632, dv.getUint32(632, true) + 1, true);
  expectParseError(q, /quote\.signatureData/);
});

conformanceTest("rejects an outer certification data type other than 6", async () => {
  const q = await sampleQuote();
  new DataView(q.buffer).setUint16(636 + 128, 5, true);
  expectParseError(q, /certification\.type/);
});

conformanceTest("rejects a QE auth data size that overruns its container", async () => {
  const q = await sampleQuote();
  // header 48 + body 584 + len 4 + sig 64 + key 64 + type 2 + size 4 + report 384 + sig 64
  new DataView(q.buffer).setUint16(636 + 128 + 6 + 384 + 64, 0xfff0, true);
  expectParseError(q, /qeAuthData\.size/);
});

conformanceTest("rejects a v5 quote whose body descriptor names an SGX body", async () => {
  const q = await readConformance("tdx/v5-phala-90c06f-tcb-not-supported/quote.bin");
  new DataView(q.buffer).setUint16(48, 1, true);
  expectParseError(q, /bodyDescriptor\.type/);
});

conformanceTest("rejects a v5 quote whose body size disagrees with its type", async () => {
  const q = await readConformance("tdx/v5-phala-90c06f-tcb-not-supported/quote.bin");
  new DataView(q.buffer).setUint32(50, 584, true);
  expectParseError(q, /bodyDescriptor\.size/);
});

Deno.test("rejects an empty buffer naming the header", () => {
  expectParseError(new Uint8Array(0), /quote\.header/);
});

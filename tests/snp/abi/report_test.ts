import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { parseSnpReport, SNP_REPORT_SIZE } from "../../../snp/abi/report.ts";
import { type SnpTcb } from "../../../snp/abi/tcb.ts";
import { conformanceTest } from "../../conformance.ts";
import { type ExpectedTcb, readVectorFiles, snpVectors } from "../vectors.ts";

function assertTcb(actual: SnpTcb, expected: ExpectedTcb, what: string) {
  assert.equal(`0x${actual.raw.toString(16).padStart(16, "0")}`, expected.raw, `${what}.raw`);
  assert.equal(actual.bootloader, expected.bootloader, `${what}.bootloader`);
  assert.equal(actual.tee, expected.tee, `${what}.tee`);
  assert.equal(actual.snp, expected.snp, `${what}.snp`);
  assert.equal(actual.microcode, expected.microcode, `${what}.microcode`);
  assert.equal(actual.fmc, expected.fmc, `${what}.fmc`);
}

const hexNumber = (v: bigint | number) => `0x${v.toString(16)}`;

conformanceTest(
  "decodes every SNP conformance vector to MANIFEST.json's expected values",
  async () => {
    const vectors = await snpVectors();
    assert.equal(vectors.length, 6);
    for (const v of vectors) {
      const { report: bytes } = await readVectorFiles(v);
      const e = v.expected;
      const product = v.product;
      const report = parseSnpReport(bytes, { product });
      const at = (f: string) => `${v.name}: ${f}`;
      assert.equal(report.version, e.version, at("version"));
      assert.equal(report.guestSvn, e.guest_svn, at("guest_svn"));
      assert.equal(hexNumber(report.policy.raw), e.policy, at("policy"));
      const pd = e.policy_decoded;
      assert.equal(report.policy.abiMinor, pd.abi_minor, at("abi_minor"));
      assert.equal(report.policy.abiMajor, pd.abi_major, at("abi_major"));
      assert.equal(report.policy.smt, pd.smt === 1, at("smt"));
      assert.equal(report.policy.migrateMa, pd.migrate_ma === 1, at("migrate_ma"));
      assert.equal(report.policy.debug, pd.debug === 1, at("debug"));
      assert.equal(report.policy.singleSocket, pd.single_socket === 1, at("single_socket"));
      assert.equal(report.policy.cxlAllowed, pd.cxl_allow === 1, at("cxl_allow"));
      assert.equal(report.policy.memAes256Xts, pd.mem_aes_256_xts === 1, at("mem_aes_256_xts"));
      assert.equal(report.policy.raplDis, pd.rapl_dis === 1, at("rapl_dis"));
      assert.equal(report.policy.ciphertextHidingDram, pd.ciphertext_hiding === 1, at("cth"));
      assert.equal(report.policy.pageSwapDisable, pd.page_swap_disable === 1, at("psd"));
      assert.equal(encodeHex(report.familyId), e.family_id, at("family_id"));
      assert.equal(encodeHex(report.imageId), e.image_id, at("image_id"));
      assert.equal(report.vmpl, e.vmpl, at("vmpl"));
      assert.equal(report.signatureAlgo, e.signature_algo, at("signature_algo"));
      assertTcb(report.currentTcb, e.current_tcb, at("current_tcb"));
      assertTcb(report.reportedTcb, e.reported_tcb, at("reported_tcb"));
      assertTcb(report.committedTcb, e.committed_tcb, at("committed_tcb"));
      assertTcb(report.launchTcb, e.launch_tcb, at("launch_tcb"));
      assert.equal(hexNumber(report.platformInfo.raw), e.platform_info, at("platform_info"));
      assert.equal(hexNumber(report.signerInfo.raw), e.flags_0x48, at("flags"));
      assert.equal(report.signerInfo.authorKeyEn, e.author_key_en === 1, at("author_key_en"));
      assert.equal(report.signerInfo.maskChipKey, e.mask_chip_key === 1, at("mask_chip_key"));
      assert.equal(report.signerInfo.signingKey, e.signing_key_name, at("signing_key"));
      assert.equal(encodeHex(report.reportData), e.report_data, at("report_data"));
      assert.equal(encodeHex(report.measurement), e.measurement, at("measurement"));
      assert.equal(encodeHex(report.hostData), e.host_data, at("host_data"));
      assert.equal(encodeHex(report.idKeyDigest), e.id_key_digest, at("id_key_digest"));
      assert.equal(encodeHex(report.authorKeyDigest), e.author_key_digest, at("author_key_digest"));
      assert.equal(encodeHex(report.reportId), e.report_id, at("report_id"));
      assert.equal(encodeHex(report.reportIdMa), e.report_id_ma, at("report_id_ma"));
      assert.equal(
        report.cpuid ? hexNumber(report.cpuid.family) : null,
        e.cpuid_fam_id,
        at("cpuid_fam_id"),
      );
      assert.equal(report.cpuid ? hexNumber(report.cpuid.model) : null, e.cpuid_mod_id, at("mod"));
      assert.equal(
        report.cpuid ? hexNumber(report.cpuid.stepping) : null,
        e.cpuid_step,
        at("step"),
      );
      assert.equal(encodeHex(report.chipId), e.chip_id, at("chip_id"));
      assert.equal(report.currentVersion.build, e.current_build, at("current_build"));
      assert.equal(report.currentVersion.minor, e.current_minor, at("current_minor"));
      assert.equal(report.currentVersion.major, e.current_major, at("current_major"));
      assert.equal(report.committedVersion.build, e.committed_build, at("committed_build"));
      assert.equal(report.committedVersion.minor, e.committed_minor, at("committed_minor"));
      assert.equal(report.committedVersion.major, e.committed_major, at("committed_major"));
      const mit = (x: bigint | undefined) => x === undefined ? null : hexNumber(x);
      assert.equal(mit(report.launchMitVector), e.launch_mit_vector, at("launch_mit_vector"));
      assert.equal(mit(report.currentMitVector), e.current_mit_vector, at("current_mit_vector"));
      assert.equal(report.product, e.product, at("product"));
      assert.equal(encodeHex(report.signature.r), e.signature_r_le_hex, at("signature.r"));
      assert.equal(encodeHex(report.signature.s), e.signature_s_le_hex, at("signature.s"));
    }
  },
);

function validReport(): Uint8Array {
  // A v2 report with nothing but the mandatory values: policy bit 17 and the signature algorithm.
  const bytes = new Uint8Array(SNP_REPORT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 2, true);
  view.setBigUint64(8, 0x30000n, true);
  view.setUint32(0x34, 1, true);
  return bytes;
}

function assertParseError(bytes: Uint8Array, field: string | RegExp) {
  assert.throws(() => parseSnpReport(bytes), (e: unknown) => {
    assert.ok(e instanceof ParseError, `expected ParseError, got ${e}`);
    if (typeof field === "string") assert.equal(e.field, field);
    else assert.match(e.field, field);
    return true;
  });
}

Deno.test("parses a minimal well-formed v2 report", () => {
  const r = parseSnpReport(validReport());
  assert.equal(r.version, 2);
  assert.equal(r.cpuid, undefined);
  assert.equal(r.tcbLayout, "milan-genoa");
});

Deno.test("a parsed report owns its bytes: its fields view its raw copy, not the input", () => {
  const bytes = validReport();
  bytes.fill(0x11, 0x50, 0x90); // report data
  bytes.fill(0x22, 0xc0, 0xe0); // host data
  const r = parseSnpReport(bytes);
  assert.notEqual(r.raw.buffer, bytes.buffer);
  assert.deepEqual(r.raw, bytes);
  bytes.fill(0); // the caller reuses its buffer: the report does not change
  assert.deepEqual(r.reportData, new Uint8Array(64).fill(0x11));
  assert.deepEqual(r.hostData, new Uint8Array(32).fill(0x22));
  // Every byte field is the bytes of raw at its offset (what the signature covers).
  for (const [field, offset] of [[r.reportData, 0x50], [r.hostData, 0xc0], [r.chipId, 0x1a0]]) {
    const view = field as Uint8Array;
    assert.equal(view.buffer, r.raw.buffer);
    assert.equal(view.byteOffset - r.raw.byteOffset, offset);
  }
});

Deno.test("rejects a truncated report naming the report", () => {
  assertParseError(validReport().subarray(0, SNP_REPORT_SIZE - 1), "report");
});

Deno.test("rejects an extended report naming the report", () => {
  const longer = new Uint8Array(SNP_REPORT_SIZE + 1);
  longer.set(validReport());
  assertParseError(longer, "report");
});

Deno.test("rejects unknown report versions 1 and 6", () => {
  for (const version of [0, 1, 6, 0xffffffff]) {
    const bytes = validReport();
    new DataView(bytes.buffer).setUint32(0, version, true);
    assertParseError(bytes, "report.version");
  }
});

Deno.test("rejects a signature algorithm other than ECDSA P-384", () => {
  const bytes = validReport();
  new DataView(bytes.buffer).setUint32(0x34, 2, true);
  assertParseError(bytes, "report.signature_algo");
});

Deno.test("rejects a policy with reserved bit 17 clear or a bit above 25 set", () => {
  const a = validReport();
  new DataView(a.buffer).setBigUint64(8, 0x10000n, true);
  assertParseError(a, "report.policy");
  const b = validReport();
  new DataView(b.buffer).setBigUint64(8, 0x30000n | (1n << 26n), true);
  assertParseError(b, "report.policy");
});

Deno.test("rejects reserved signer-info bits and reserved signing-key values", () => {
  const a = validReport();
  new DataView(a.buffer).setUint32(0x48, 1 << 5, true);
  assertParseError(a, "report.signer_info");
  const b = validReport();
  new DataView(b.buffer).setUint32(0x48, 2 << 2, true);
  assertParseError(b, "report.signer_info.signing_key");
});

Deno.test("rejects non-zero bytes in every reserved range", () => {
  const cases: [number, string][] = [
    [0x4c, "report.reserved_0x04c"],
    [0x188, "report.reserved_0x188"],
    [0x1eb, "report.current_reserved"],
    [0x1ef, "report.committed_reserved"],
    [0x1f8, "report.reserved_0x1f8"],
    [0x29f, "report.reserved_0x1f8"],
    [0x2a0 + 48, "report.signature.r"],
    [0x2a0 + 72 + 71, "report.signature.s"],
    [0x2a0 + 144, "report.signature.reserved"],
    [0x49f, "report.signature.reserved"],
  ];
  for (const [offset, field] of cases) {
    const bytes = validReport();
    bytes[offset] = 1;
    assertParseError(bytes, field);
  }
});

Deno.test("rejects a TCB whose reserved bytes are set", () => {
  const bytes = validReport();
  bytes[0x180 + 3] = 1; // Milan/Genoa layout: bytes 2–5 are reserved
  assertParseError(bytes, "report.reported_tcb");
});

Deno.test("rejects a v3 report from an unknown processor", () => {
  const bytes = validReport();
  new DataView(bytes.buffer).setUint32(0, 3, true);
  bytes[0x188] = 0x17;
  bytes[0x189] = 0x31;
  assertParseError(bytes, "report.cpuid_mod_id");
});

Deno.test("decodes the Turin TCB layout for a family 1Ah report", () => {
  const bytes = validReport();
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 5, true);
  bytes[0x188] = 0x1a;
  bytes[0x189] = 0x02;
  view.setBigUint64(0x180, 0x4700000002000103n, true);
  const r = parseSnpReport(bytes);
  assert.equal(r.product, "Turin");
  assert.deepEqual(
    [r.reportedTcb.fmc, r.reportedTcb.bootloader, r.reportedTcb.tee, r.reportedTcb.snp],
    [3, 1, 0, 2],
  );
  assert.equal(r.reportedTcb.microcode, 0x47);
});

Deno.test("rejects a v3 report whose CPUID contradicts the expected product", () => {
  const bytes = validReport();
  new DataView(bytes.buffer).setUint32(0, 3, true);
  bytes[0x188] = 0x19;
  bytes[0x189] = 0x11;
  assert.throws(() => parseSnpReport(bytes, { product: "Milan" }), ParseError);
  assert.equal(parseSnpReport(bytes, { product: "Genoa" }).product, "Genoa");
});

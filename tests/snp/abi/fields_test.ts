import assert from "node:assert/strict";
import { ParseError } from "../../../util/errors/mod.ts";
import { assembleSnpReport, encodeSnpReportBody } from "../../../snp/abi/encode.ts";
import { decodePlatformInfo } from "../../../snp/abi/platform_info.ts";
import { decodeGuestPolicy, encodeGuestPolicy } from "../../../snp/abi/policy.ts";
import { productFromCpuid, productFromName } from "../../../snp/abi/product.ts";
import { parseSnpReport } from "../../../snp/abi/report.ts";
import { decodeSignerInfo, encodeSignerInfo } from "../../../snp/abi/signer_info.ts";
import { decodeTcb, encodeTcb, firstComponentBelow } from "../../../snp/abi/tcb.ts";

Deno.test("TCB layouts: Milan/Genoa and Turin pack the same components differently", () => {
  const parts = { bootloader: 4, tee: 1, snp: 24, microcode: 219 };
  assert.equal(encodeTcb(parts, "milan-genoa").raw, 0xdb18000000000104n);
  assert.equal(encodeTcb({ ...parts, fmc: 2 }, "turin").raw, 0xdb00000018010402n);
  const t = decodeTcb(0x4700000002000100n, "turin");
  assert.deepEqual([t.fmc, t.bootloader, t.tee, t.snp, t.microcode], [0, 1, 0, 2, 71]);
});

Deno.test("TCB encoding rejects out-of-range components and an FMC outside Turin", () => {
  assert.throws(
    () => encodeTcb({ bootloader: 256, tee: 0, snp: 0, microcode: 0 }, "turin"),
    ParseError,
  );
  assert.throws(
    () => encodeTcb({ bootloader: 1, tee: 0, snp: 0, microcode: 0, fmc: 1 }, "milan-genoa"),
    (e: unknown) => e instanceof ParseError && e.field === "tcb.fmc",
  );
  assert.throws(() => decodeTcb(1n << 40n, "turin"), ParseError); // byte 5 is reserved on Turin
});

Deno.test("TCB comparison is per component, never a comparison of packed values", () => {
  const min = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
  assert.equal(
    firstComponentBelow({ bootloader: 9, tee: 0, snp: 8, microcode: 115 }, min),
    undefined,
  );
  // Higher packed value (microcode is the top byte) but a lower SNP SPL: still below.
  assert.equal(firstComponentBelow({ bootloader: 3, tee: 0, snp: 7, microcode: 200 }, min), "snp");
  assert.equal(
    firstComponentBelow({ ...min, fmc: 0 }, { ...min, fmc: 1 }),
    "fmc",
  );
});

Deno.test("guest policy bits round-trip through encode and decode", () => {
  const flags = [
    "smt",
    "migrateMa",
    "debug",
    "singleSocket",
    "cxlAllowed",
    "memAes256Xts",
    "raplDis",
    "ciphertextHidingDram",
    "pageSwapDisable",
  ] as const;
  for (const flag of flags) {
    const policy = decodeGuestPolicy(encodeGuestPolicy({ [flag]: true, abiMajor: 1, abiMinor: 2 }));
    for (const other of flags) assert.equal(policy[other], other === flag, `${flag} → ${other}`);
    assert.deepEqual([policy.abiMajor, policy.abiMinor], [1, 2]);
  }
  assert.equal(encodeGuestPolicy({ smt: true, debug: true }), 0xb0000n);
});

Deno.test("signer info round-trips and names VCEK, VLEK and unsigned reports", () => {
  for (const signingKey of ["VCEK", "VLEK", "none"] as const) {
    for (const maskChipKey of [false, true]) {
      const raw = encodeSignerInfo({ signingKey, maskChipKey, authorKeyEn: !maskChipKey });
      const info = decodeSignerInfo(raw);
      assert.deepEqual(
        [info.signingKey, info.maskChipKey, info.authorKeyEn],
        [signingKey, maskChipKey, !maskChipKey],
      );
    }
  }
});

Deno.test("platform info names its bits and keeps unknown ones in raw", () => {
  const info = decodePlatformInfo(0x67n); // a Turin value: bits 0, 1, 2, 5, 6
  assert.deepEqual(
    [info.smtEnabled, info.tsmeEnabled, info.eccEnabled, info.raplDisabled],
    [true, true, true, false],
  );
  assert.equal(info.aliasCheckComplete, true);
  assert.equal(info.tioEnabled, false);
  assert.equal(info.raw, 0x67n);
});

Deno.test("products from CPUID and from VCEK product names", () => {
  assert.equal(productFromCpuid(0x19, 0x01), "Milan");
  assert.equal(productFromCpuid(0x19, 0x11), "Genoa");
  assert.equal(productFromCpuid(0x19, 0xa0), "Genoa");
  assert.equal(productFromCpuid(0x1a, 0x02), "Turin");
  assert.equal(productFromCpuid(0x17, 0x31), undefined);
  assert.equal(productFromName("Milan-B0"), "Milan");
  assert.equal(productFromName("Genoa"), "Genoa");
  assert.equal(productFromName("Rome"), undefined);
});

Deno.test("reports built from random fields parse back to the same fields", () => {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) >>> 0);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
  for (let i = 0; i < 200; i++) {
    const version = ([2, 3, 5] as const)[i % 3]!;
    const product = version === 2 ? "Milan" : (["Milan", "Genoa", "Turin"] as const)[i % 3]!;
    const layout = product === "Turin" ? "turin" : "milan-genoa";
    const tcb = encodeTcb({
      bootloader: next() & 0xff,
      tee: next() & 0xff,
      snp: next() & 0xff,
      microcode: next() & 0xff,
      ...(layout === "turin" ? { fmc: next() & 0xff } : {}),
    }, layout);
    const fields = {
      version,
      guestSvn: next(),
      policy: encodeGuestPolicy({ smt: true, abiMajor: next() & 0xff, debug: (next() & 1) === 1 }),
      familyId: bytes(16),
      imageId: bytes(16),
      vmpl: next() & 3,
      currentTcb: tcb.raw,
      platformInfo: BigInt(next() & 0xff),
      signerInfo: encodeSignerInfo({ signingKey: (next() & 1) ? "VLEK" : "VCEK" }),
      reportData: bytes(64),
      measurement: bytes(48),
      hostData: bytes(32),
      idKeyDigest: bytes(48),
      authorKeyDigest: bytes(48),
      reportId: bytes(32),
      reportIdMa: bytes(32),
      reportedTcb: tcb.raw,
      cpuid: version >= 3
        ? {
          family: product === "Turin" ? 0x1a : 0x19,
          model: product === "Genoa" ? 0x11 : 0x01,
          stepping: 1,
        }
        : undefined,
      chipId: bytes(64),
      committedTcb: tcb.raw,
      launchTcb: tcb.raw,
      launchMitVector: version >= 5 ? BigInt(next()) : undefined,
      currentMitVector: version >= 5 ? BigInt(next()) : undefined,
    };
    const r = bytes(48);
    const s = bytes(48);
    const report = parseSnpReport(assembleSnpReport(encodeSnpReportBody(fields), r, s));
    assert.equal(report.version, version);
    assert.equal(report.guestSvn, fields.guestSvn);
    assert.equal(report.policy.raw, fields.policy);
    assert.deepEqual(report.familyId, fields.familyId);
    assert.equal(report.vmpl, fields.vmpl);
    assert.equal(report.currentTcb.raw, tcb.raw);
    assert.deepEqual(report.reportedTcb, tcb);
    assert.equal(report.platformInfo.raw, fields.platformInfo);
    assert.equal(report.signerInfo.raw, fields.signerInfo);
    assert.deepEqual(report.reportData, fields.reportData);
    assert.deepEqual(report.measurement, fields.measurement);
    assert.deepEqual(report.hostData, fields.hostData);
    assert.deepEqual(report.idKeyDigest, fields.idKeyDigest);
    assert.deepEqual(report.authorKeyDigest, fields.authorKeyDigest);
    assert.deepEqual(report.reportId, fields.reportId);
    assert.deepEqual(report.reportIdMa, fields.reportIdMa);
    assert.deepEqual(report.chipId, fields.chipId);
    assert.equal(report.product, version >= 3 ? product : undefined);
    assert.equal(report.launchMitVector, fields.launchMitVector);
    assert.deepEqual(report.signature.r.subarray(0, 48), r.slice().reverse());
    assert.deepEqual(report.signature.s.subarray(0, 48), s.slice().reverse());
  }
});

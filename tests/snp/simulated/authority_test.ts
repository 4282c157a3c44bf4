import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { ParseError, ValidationError, VerificationError } from "../../../util/errors/mod.ts";
import { parseCertTable } from "../../../snp/abi/cert_table.ts";
import { parseSnpReport } from "../../../snp/abi/report.ts";
import { defaultSnpReferenceValues } from "../../../snp/reference_values.ts";
import { SimulatedSnpAuthority } from "../../../testing/snp/mod.ts";
import { SnpEvidenceVerifier } from "../../../snp/verifier.ts";
import { sharedAuthority } from "../simulated_fixture.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

const NOW = new Date("2026-06-01T00:00:00Z");

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

Deno.test("a simulated report is byte-exact: every chosen field decodes back", async () => {
  const authority = await sharedAuthority("Milan");
  const { report } = await authority.createReport({
    reportData: bytes(64, 0xaa),
    hostData: bytes(32, 0xbb),
    measurement: bytes(48, 0xcc),
    policy: { smt: true, singleSocket: true, abiMajor: 1, abiMinor: 55 },
    tcb: { bootloader: 4, tee: 1, snp: 22, microcode: 213 },
    vmpl: 2,
    idKeyDigest: bytes(48, 0xdd),
    guestSvn: 7,
    version: 3,
  });
  assert.equal(report.length, 1184);
  const r = parseSnpReport(report);
  assert.equal(r.version, 3);
  assert.equal(r.product, "Milan");
  assert.equal(encodeHex(r.reportData), "aa".repeat(64));
  assert.equal(encodeHex(r.hostData), "bb".repeat(32));
  assert.equal(encodeHex(r.measurement), "cc".repeat(48));
  assert.equal(encodeHex(r.idKeyDigest), "dd".repeat(48));
  assert.deepEqual(
    [r.policy.smt, r.policy.singleSocket, r.policy.debug, r.policy.abiMajor, r.policy.abiMinor],
    [true, true, false, 1, 55],
  );
  for (const t of [r.reportedTcb, r.committedTcb, r.launchTcb, r.currentTcb]) {
    assert.deepEqual([t.bootloader, t.tee, t.snp, t.microcode], [4, 1, 22, 213]);
  }
  assert.equal(r.vmpl, 2);
  assert.equal(r.guestSvn, 7);
  assert.deepEqual(r.chipId, authority.chipId);
  assert.equal(r.signerInfo.signingKey, "VCEK");
});

Deno.test("a simulated report verifies when the reference value names its root", async () => {
  const authority = await sharedAuthority("Milan");
  const reportData = bytes(64, 0x42);
  const { report, aux } = await authority.createReport({ reportData, hostData: bytes(32, 1) });
  const verifier = new SnpEvidenceVerifier({ referenceValues: [authority.referenceValue()] });
  const claims = await verifier.verify({ platform: "snp", report, aux }, { reportData, now: NOW });
  assert.equal(encodeHex(claims.hostData), "01".repeat(32));
  assert.equal(claims.details.rootSha256, authority.rootFingerprint);
  assert.equal(claims.referenceValueIndex, 0);
});

Deno.test("a simulated report is rejected under the default reference values", async () => {
  const authority = await sharedAuthority("Milan");
  const { report, aux } = await authority.createReport();
  const verifier = new SnpEvidenceVerifier({ referenceValues: defaultSnpReferenceValues() });
  await assert.rejects(
    verifier.verify({ platform: "snp", report, aux }, { reportData: new Uint8Array(64), now: NOW }),
    VerificationError,
  );
});

Deno.test("a simulated report is rejected when the reference value names another root", async () => {
  const authority = await sharedAuthority("Milan");
  const { report, aux } = await authority.createReport();
  const wrong = authority.referenceValue({ SimulatedRootSHA256: "00".repeat(32) });
  const verifier = new SnpEvidenceVerifier({ referenceValues: [wrong] });
  await assert.rejects(
    verifier.verify({ platform: "snp", report, aux }, { reportData: new Uint8Array(64), now: NOW }),
    (e: unknown) => e instanceof VerificationError && /not a pinned trust anchor/.test(e.message),
  );
});

Deno.test("a simulated root is never trusted through a non-simulated reference value", async () => {
  const authority = await sharedAuthority("Milan");
  const { report, aux } = await authority.createReport();
  const { SimulatedRootSHA256: _, ...rest } = authority.referenceValue();
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [{ ...rest, Platform: "Metal-QEMU-SNP" }],
  });
  await assert.rejects(
    verifier.verify({ platform: "snp", report, aux }, { reportData: new Uint8Array(64), now: NOW }),
    VerificationError,
  );
});

Deno.test("a simulated debug report is rejected for its policy", async () => {
  const authority = await sharedAuthority("Milan");
  const { report, aux } = await authority.createReport({ policy: { smt: true, debug: true } });
  const verifier = new SnpEvidenceVerifier({ referenceValues: [authority.referenceValue()] });
  await assert.rejects(
    verifier.verify({ platform: "snp", report, aux }, { reportData: new Uint8Array(64), now: NOW }),
    (e: unknown) => e instanceof ValidationError && e.field === "report.policy.debug",
  );
});

Deno.test("the auxblob carries VCEK, ASK and ARK under their GUIDs", async () => {
  const authority = await sharedAuthority("Milan");
  const { aux, vcek } = await authority.createReport();
  const table = parseCertTable(aux);
  assert.deepEqual(table.map((e) => e.kind), ["VCEK", "ASK", "ARK"]);
  assert.deepEqual(table[0]!.data, vcek);
  assert.deepEqual(table[2]!.data, authority.arkDer);
});

Deno.test("a VCEK is issued per TCB: reports at another TCB carry a matching VCEK", async () => {
  const authority = await sharedAuthority("Milan");
  const tcb = { bootloader: 9, tee: 0, snp: 23, microcode: 72 };
  const { report, aux } = await authority.createReport({ tcb });
  const base = authority.referenceValue();
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [{
      ...base,
      MinimumTCB: { BootloaderVersion: 9, TEEVersion: 0, SNPVersion: 23, MicrocodeVersion: 72 },
    }],
  });
  await verifier.verify({ platform: "snp", report, aux }, {
    reportData: new Uint8Array(64),
    now: NOW,
  });
  assert.notDeepEqual(await authority.vcekFor(tcb), await authority.vcekFor());
});

Deno.test("an authority saved and loaded again signs reports under the same root", async () => {
  const authority = await sharedAuthority("Milan");
  const dir = await Deno.makeTempDir();
  try {
    await authority.save(dir);
    assert.equal((await Deno.stat(`${dir}/ark.key.pem`)).mode! & 0o077, 0);
    const loaded = await SimulatedSnpAuthority.load(dir);
    assert.equal(loaded.rootFingerprint, authority.rootFingerprint);
    assert.deepEqual(loaded.chipId, authority.chipId);
    const { report, aux } = await loaded.createReport();
    const verifier = new SnpEvidenceVerifier({ referenceValues: [authority.referenceValue()] });
    await verifier.verify({ platform: "snp", report, aux }, {
      reportData: new Uint8Array(64),
      now: NOW,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loading a directory that is not an authority names the file", () =>
  withTempDir(async (dir) => {
    await assert.rejects(SimulatedSnpAuthority.load(dir), ParseError);
    await Deno.writeTextFile(`${dir}/authority.json`, "{}");
    await assert.rejects(
      SimulatedSnpAuthority.load(dir),
      (e: unknown) => e instanceof ParseError && e.field.endsWith("authority.json"),
    );
  }));

Deno.test("a simulated Turin authority uses the Turin TCB layout and an 8-byte hwID", async () => {
  // 2048-bit keys keep this test fast; the layout, not the key size, is under test.
  const authority = await SimulatedSnpAuthority.generate({
    product: "Turin",
    rsaBits: 2048,
    tcb: { fmc: 1, bootloader: 2, tee: 0, snp: 3, microcode: 71 },
  });
  const { report, aux } = await authority.createReport();
  const r = parseSnpReport(report);
  assert.equal(r.product, "Turin");
  assert.equal(r.reportedTcb.fmc, 1);
  assert.equal(r.reportedTcb.raw, 0x4700000003000201n);
  assert.ok(r.chipId.subarray(8).every((b) => b === 0));
  const verifier = new SnpEvidenceVerifier({ referenceValues: [authority.referenceValue()] });
  const claims = await verifier.verify({ platform: "snp", report, aux }, {
    reportData: new Uint8Array(64),
    now: new Date(),
  });
  assert.equal(claims.details.product, "Turin");
  await assert.rejects(authority.createReport({ version: 2 }), ParseError);
});

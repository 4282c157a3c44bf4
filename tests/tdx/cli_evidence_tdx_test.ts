import { strict as assert } from "node:assert";
import { encodeHex } from "../../util/bytes/mod.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { runTdxEvidenceShow, runTdxEvidenceVerify } from "../../cli/commands/evidence_tdx.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { conformanceFile, conformanceTest } from "../conformance.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { simulatedTdxReference } from "../helpers/simulated_tdx_reference.ts";

const P = (dir: string) => conformanceFile(dir).pathname;
const UPTODATE = "tdx/v4-phala-b0c06f-uptodate";
const TCB_NOT_SUPPORTED = "tdx/v5-phala-90c06f-tcb-not-supported";

/** The quote and collateral directory of the conformance vector in `dir`. */
function vector(dir: string): { quote: string; collateralDir: string } {
  return { quote: `${P(dir)}/quote.bin`, collateralDir: P(dir) };
}

/** `evidence verify --json` of the conformance vector in `dir` at the time `now`. */
function verifyJson(dir: string, now: string) {
  return runTdxEvidenceVerify({ ...vector(dir), now, json: true });
}

conformanceTest("verify --json on a real quote reports UpToDate with advisory IDs", async () => {
  const r = await verifyJson(UPTODATE, "2025-06-19T11:32:27Z");
  assert.equal(r.exitCode, ExitCode.Ok, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.schema, "contrast-result/v1");
  assert.equal(out.ok, true);
  assert.equal(out.result.platform, "tdx");
  assert.equal(out.result.tcbStatus, "UpToDate");
  assert.deepEqual(out.result.advisoryIds, []);
  assert.equal(out.result.evidence.fmspc, "b0c06f000000");
});

conformanceTest(
  "verify exits 1 on a TcbNotSupported quote and still says why in JSON",
  async () => {
    const r = await verifyJson(TCB_NOT_SUPPORTED, "2026-02-18T11:58:51Z");
    assert.equal(r.exitCode, ExitCode.VerificationFailed);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, false);
    assert.equal(out.outcome, "rejected");
    assert.equal(out.result.verified, true);
    assert.equal(out.result.tcbStatus, "TcbNotSupported");
    assert.equal(out.result.referenceValues, "default reference values");
    assert.equal(out.error.field, "ReferenceValues.tdx[0].AllowedTcbStatuses");
  },
);

conformanceTest(
  "verify accepts OutOfDate when allowed and the PCK CRL check is skipped explicitly",
  async () => {
    const dir = "tdx/v4-trustee-00a06d-outofdate";
    const r = await runTdxEvidenceVerify({
      ...vector(dir),
      now: "2025-10-28T07:45:09Z",
      allowTcbStatus: "UpToDate,OutOfDate",
      skipRevocation: true,
    });
    assert.equal(r.exitCode, ExitCode.Ok, r.stderr);
    assert.match(r.stdout, /TCB status: OutOfDate/);
    assert.match(r.stdout, /PCK revocation checked: NO/);
  },
);

conformanceTest("verify exits 3 offline without a collateral directory", async () => {
  const r = await runTdxEvidenceVerify({ quote: vector(UPTODATE).quote, offline: true });
  assert.equal(r.exitCode, ExitCode.Unavailable);
});

conformanceTest("verify exits 2 on a malformed --now", async () => {
  const r = await runTdxEvidenceVerify({
    ...vector(UPTODATE),
    now: "yesterday",
  });
  assert.equal(r.exitCode, ExitCode.BadInput);
  assert.match(r.stderr, /--now/);
});

Deno.test("verify and show exit 2 on a truncated quote, naming the field and the file", () =>
  withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/q.bin`, new Uint8Array(100));
    const r = await runTdxEvidenceVerify({ quote: `${dir}/q.bin`, collateralDir: dir, json: true });
    assert.equal(r.exitCode, ExitCode.BadInput);
    const error = JSON.parse(r.stdout).error;
    assert.match(error.field, /quote/);
    assert.ok(error.reason.endsWith(`(--quote ${dir}/q.bin)`), error.reason);
    const show = await runTdxEvidenceShow({ quote: `${dir}/q.bin` });
    assert.equal(show.exitCode, ExitCode.BadInput);
    assert.ok(show.stderr.includes(`(--quote ${dir}/q.bin)`), show.stderr);
  }));

Deno.test("verify with reference values: simulated quote matches, mismatch gives expected/actual", async () => {
  const authority = await SimulatedTdxAuthority.generate();
  const dir = await Deno.makeTempDir();
  try {
    const reportData = new Uint8Array(64).fill(5);
    await Deno.writeFile(`${dir}/q.bin`, await authority.createQuote({ reportData }));
    await authority.writeCollateralDir(`${dir}/c`);
    const simulated = { quote: `${dir}/q.bin`, collateralDir: `${dir}/c` };
    const ref = await simulatedTdxReference(authority);
    await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify({ ReferenceValues: { tdx: [ref] } }));
    await Deno.writeTextFile(
      `${dir}/bad.json`,
      JSON.stringify([{ ...ref, MrTd: "22".repeat(48) }]),
    );
    const ok = await runTdxEvidenceVerify({
      ...simulated,
      referenceValues: `${dir}/ok.json`,
      reportData: encodeHex(reportData),
      json: true,
    });
    assert.equal(ok.exitCode, ExitCode.Ok, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).result.referenceValueIndex, 0);
    const bad = await runTdxEvidenceVerify({
      ...simulated,
      referenceValues: `${dir}/bad.json`,
      json: true,
    });
    assert.equal(bad.exitCode, ExitCode.VerificationFailed);
    const err = JSON.parse(bad.stdout).error;
    assert.equal(err.expected, "22".repeat(48));
    assert.equal(err.actual, "11".repeat(48));
    const wrongData = await runTdxEvidenceVerify({
      ...simulated,
      referenceValues: `${dir}/ok.json`,
      reportData: "00".repeat(64),
    });
    assert.equal(wrongData.exitCode, ExitCode.VerificationFailed);
    assert.match(wrongData.stderr, /reportData/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

conformanceTest("show prints every field of a v5 quote", async () => {
  const r = await runTdxEvidenceShow({
    quote: vector(TCB_NOT_SUPPORTED).quote,
    json: true,
  });
  assert.equal(r.exitCode, ExitCode.Ok);
  const d = JSON.parse(r.stdout);
  assert.equal(d.header.version, 5);
  assert.equal(d.body.layout, "1.5");
  assert.equal(d.body.teeTcbSvn2, "0d010300000000000000000000000000");
  const text = await runTdxEvidenceShow({ quote: vector(UPTODATE).quote });
  assert.match(text.stdout, /body\.mrTd: 91eb2b44/);
  assert.match(text.stdout, /trailingBytes: 70/);
});

conformanceTest(
  "verify refuses --allow-tcb-status TcbNotSupported (exit 2): such a quote never passes",
  async () => {
    const r = await runTdxEvidenceVerify({
      ...vector(TCB_NOT_SUPPORTED),
      now: "2026-02-18T11:58:51Z",
      allowTcbStatus: "UpToDate,TcbNotSupported",
    });
    assert.equal(r.exitCode, ExitCode.BadInput);
    assert.match(r.stderr, /--allow-tcb-status/);
  },
);

conformanceTest(
  "verify without --reference-values applies the default reference values: a genuine TD without SEPT_VE_DISABLE is refused for it",
  async () => {
    // v4-gotdx-spr-50806f is genuine, TD attributes 0000004000000000: SEPT_VE_DISABLE (bit 28) off.
    const r = await verifyJson("tdx/v4-gotdx-spr-50806f", "2023-07-01T01:00:00Z");
    assert.equal(r.exitCode, ExitCode.VerificationFailed, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.result.verified, true);
    assert.equal(out.error.field, "ReferenceValues.tdx[0].TdAttributes");
    assert.match(r.stderr, /SEPT_VE_DISABLE/);
  },
);

conformanceTest(
  "verify without --reference-values accepts a genuine up-to-date TD that passes the defaults",
  async () => {
    const r = await verifyJson(UPTODATE, "2025-06-19T11:32:27Z");
    assert.equal(r.exitCode, ExitCode.Ok, r.stderr);
    assert.equal(JSON.parse(r.stdout).result.referenceValues, "default reference values");
  },
);

conformanceTest(
  "--allow-tcb-status together with --reference-values is refused (exit 2)",
  async () => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/rv.json`, JSON.stringify({ tdx: [{ Platform: "x" }] }));
      const r = await runTdxEvidenceVerify({
        ...vector(UPTODATE),
        referenceValues: `${dir}/rv.json`,
        allowTcbStatus: "UpToDate",
      });
      assert.equal(r.exitCode, ExitCode.BadInput);
      assert.match(r.stderr, /--allow-tcb-status/);
    });
  },
);

Deno.test('--reference-values accepts the {"tdx": [...]} wrapper; a DEBUG TD fails the default TD-attribute check with it', () =>
  withTempDir(async (dir) => {
    const authority = await SimulatedTdxAuthority.generate();
    const reportData = new Uint8Array(64).fill(7);
    const attributes = (bits: number[]) => {
      const out = new Uint8Array(8);
      for (const bit of bits) out[bit >> 3]! |= 1 << (bit & 7);
      return out;
    };
    // SEPT_VE_DISABLE (bit 28) set; the DEBUG TD additionally has bit 0.
    const healthy = await authority.createQuote({ reportData, tdAttributes: attributes([28]) });
    const debug = await authority.createQuote({ reportData, tdAttributes: attributes([0, 28]) });
    await Deno.writeFile(`${dir}/healthy.bin`, healthy);
    await Deno.writeFile(`${dir}/debug.bin`, debug);
    await authority.writeCollateralDir(`${dir}/c`);
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      JSON.stringify({
        tdx: [await simulatedTdxReference(authority)],
      }),
    );
    const common = { collateralDir: `${dir}/c`, referenceValues: `${dir}/rv.json`, json: true };
    const ok = await runTdxEvidenceVerify({ ...common, quote: `${dir}/healthy.bin` });
    assert.equal(ok.exitCode, ExitCode.Ok, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).result.referenceValueIndex, 0);
    const refused = await runTdxEvidenceVerify({ ...common, quote: `${dir}/debug.bin` });
    assert.equal(refused.exitCode, ExitCode.VerificationFailed, refused.stderr);
    assert.equal(JSON.parse(refused.stdout).error.field, "ReferenceValues.tdx[0].TdAttributes");
    assert.match(refused.stderr, /DEBUG/);
  }));

Deno.test("--reference-values with a misspelt field is exit 2 naming the file and the field", () =>
  withTempDir(async (dir) => {
    const authority = await SimulatedTdxAuthority.generate();
    await Deno.writeFile(
      `${dir}/quote.bin`,
      await authority.createQuote({ reportData: new Uint8Array(64) }),
    );
    await authority.writeCollateralDir(`${dir}/c`);
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      JSON.stringify({
        tdx: [{
          Platform: "Simulated-TDX",
          MrTD: "11".repeat(48), // misspelt MrTd
          SimulatedRootSHA256: await authority.rootFingerprint(),
        }],
      }),
    );
    const r = await runTdxEvidenceVerify({
      quote: `${dir}/quote.bin`,
      collateralDir: `${dir}/c`,
      referenceValues: `${dir}/rv.json`,
      json: true,
    });
    assert.equal(r.exitCode, ExitCode.BadInput, r.stderr);
    const error = JSON.parse(r.stdout).error;
    assert.equal(error.file, `${dir}/rv.json`);
    assert.ok(
      error.issues.some((i: { path: string }) => i.path === "tdx[0].MrTD"),
      JSON.stringify(error),
    );
    assert.ok(r.stderr.includes(`${dir}/rv.json`), r.stderr);
  }));

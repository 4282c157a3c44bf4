/**
 * `contrast evidence show|verify --platform snp`, run as a subprocess on the conformance vectors
 * (all offline: `--offline`, no network).
 */
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { bundlePath } from "../../collateral/bundle.ts";
import { reportResult } from "../../cli/commands/evidence.ts";
import { runSnpEvidenceVerify } from "../../cli/commands/evidence_snp.ts";
import { FailureWithResult } from "../../cli/result.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { ParseError, UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { parseSnpReport } from "../../snp/abi/report.ts";
import { certChainUrl, vcekUrl } from "../../snp/kds/urls.ts";
import { conformanceTest } from "../conformance.ts";
import { runContrast } from "../helpers/contrast_cli.ts";
import { sharedAuthority } from "../snp/simulated_fixture.ts";
import { vectorPath } from "../snp/vectors.ts";
import { simulatedSnpReference } from "../helpers/simulated_snp_reference.ts";

/** `evidence <command> --platform snp --report <report>`: the start of every SNP evidence call. */
function snpEvidence(command: "show" | "verify", report: string): string[] {
  return ["evidence", command, "--platform", "snp", "--report", report];
}

/**
 * Offline, with the certificates from files: no AMD CRL can be had, so revocation checking is
 * skipped explicitly (`--skip-revocation`) unless `checkRevocation`.
 */
/** Reference values (JSON) for one product of a simulated SNP authority: zero measurement, TCB 0. */
function simulatedReferenceValues(productName: string, rootFingerprint: string): string {
  return JSON.stringify([simulatedSnpReference(productName, rootFingerprint)]);
}

function verifyArgs(name: string, now: string, vlek = false, checkRevocation = false): string[] {
  return [
    ...snpEvidence("verify", vectorPath(name, "report.bin")),
    "--vcek",
    vectorPath(name, vlek ? "vlek.der" : "vcek.der"),
    "--ask",
    vectorPath(name, vlek ? "asvk.pem" : "ask.pem"),
    "--ark",
    vectorPath(name, "ark.pem"),
    "--offline",
    "--now",
    now,
    ...(checkRevocation ? [] : ["--skip-revocation"]),
  ];
}

conformanceTest("evidence verify exits 0 for a genuine report and prints the verdict", async () => {
  const r = await runContrast(...verifyArgs("milan-v2-virtee", "2023-04-04T19:23:43Z"));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SNP report verified: genuine Milan report/);
  assert.match(r.stdout, /69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd/);
  assert.match(r.stdout, /revocation +NOT checked \(skipped on request: --skip-revocation\)/);
  // Offline there is no AMD CRL: revocation checking is required by default (as for TDX), so
  // without the explicit opt-out that is exit 3.
  const strict = await runContrast(
    ...verifyArgs("milan-v2-virtee", "2023-04-04T19:23:43Z", false, true),
  );
  assert.equal(strict.code, 3);
  assert.match(strict.stderr, /crl: no AMD CRL/);
});

conformanceTest("evidence verify --json prints the decoded fields and the verdict", async () => {
  const args = verifyArgs("milan-v3-vlek-aws", "2024-12-11T22:14:21Z", true);
  // The built-in defaults require VMPL 0; this AWS report comes from VMPL 1.
  const byDefault = await runContrast(...args, "--json");
  assert.equal(byDefault.code, 1);
  assert.equal(JSON.parse(byDefault.stdout).error.field, "report.vmpl");
  const report = parseSnpReport(await Deno.readFile(vectorPath("milan-v3-vlek-aws", "report.bin")));
  const dir = await Deno.makeTempDir();
  const values = `${dir}/reference-values.json`;
  await Deno.writeTextFile(
    values,
    JSON.stringify({
      snp: [{
        ProductName: "Milan",
        TrustedMeasurement: encodeHex(report.measurement),
        MinimumTCB: { BootloaderVersion: 0, TEEVersion: 0, SNPVersion: 0, MicrocodeVersion: 0 },
        GuestPolicy: { SMT: true },
        VMPL: 1,
      }],
    }),
  );
  const r = await runContrast(...args, "--reference-values", values, "--json");
  await Deno.remove(dir, { recursive: true });
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.schema, "contrast-result/v1");
  assert.equal(json.command, "evidence verify");
  assert.equal(json.ok, true);
  assert.equal(json.outcome, "ok");
  assert.equal(json.error, null);
  assert.equal(json.result.verified, true);
  assert.equal(json.result.signingKey, "VLEK");
  assert.equal(json.result.evidence.vmpl, 1);
  assert.equal(json.result.evidence.reported_tcb.microcode, 217);
});

conformanceTest(
  "evidence verify exits 1 for the debug vector under default reference values",
  async () => {
    const r = await runContrast(
      ...verifyArgs("milan-v2-gosevguest-debug", "2022-09-25T00:55:28Z"),
      "--json",
    );
    assert.equal(r.code, 1);
    const json = JSON.parse(r.stdout);
    assert.equal(json.ok, false);
    assert.equal(json.exitCode, 1);
    assert.equal(json.outcome, "rejected");
    assert.equal(json.result.verified, true); // genuine, but not what the reference values allow
    assert.equal(json.error.type, "ValidationError");
    assert.equal(json.error.field, "report.policy.debug");
    assert.match(r.stderr, /report\.policy\.debug/);
  },
);

conformanceTest("evidence verify exits 2 for a truncated report file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const report = await Deno.readFile(vectorPath("milan-v2-virtee", "report.bin"));
    await Deno.writeFile(`${dir}/report.bin`, report.subarray(0, 1000));
    const args = verifyArgs("milan-v2-virtee", "2023-04-04T19:23:43Z");
    args[args.indexOf("--report") + 1] = `${dir}/report.bin`;
    const r = await runContrast(...args);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /report: expected 1184 bytes, got 1000/);
    assert.ok(r.stderr.includes(`(--report ${dir}/report.bin)`), "names the file");
    const show = await runContrast(
      "evidence",
      "show",
      "--platform",
      "snp",
      "--report",
      `${dir}/report.bin`,
    );
    assert.equal(show.code, 2);
    assert.ok(show.stderr.includes(`(--report ${dir}/report.bin)`), show.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

conformanceTest(
  "evidence verify exits 1 at a time outside the certificates' validity",
  async () => {
    const r = await runContrast(...verifyArgs("milan-v3-vlek-aws", "2026-01-01T00:00:00Z", true));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /validity/);
  },
);

conformanceTest(
  "evidence verify applies a reference-values file and names the JSON path of errors",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const good = {
        ReferenceValues: {
          snp: [{
            ProductName: "Turin",
            TrustedMeasurement:
              "f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624",
            MinimumTCB: {
              BootloaderVersion: 1,
              TEEVersion: 0,
              SNPVersion: 2,
              MicrocodeVersion: 71,
              FMCVersion: 0,
            },
            GuestPolicy: { SMT: true },
          }],
        },
      };
      await Deno.writeTextFile(`${dir}/good.json`, JSON.stringify(good));
      const args = [...verifyArgs("turin-v5-oak", "2025-07-18T17:04:46Z"), "--reference-values"];
      const ok = await runContrast(...args, `${dir}/good.json`);
      assert.equal(ok.code, 0, ok.stderr);

      const tooLow = structuredClone(good);
      tooLow.ReferenceValues.snp[0]!.MinimumTCB.SNPVersion = 3;
      await Deno.writeTextFile(`${dir}/low.json`, JSON.stringify(tooLow));
      const low = await runContrast(...args, `${dir}/low.json`);
      assert.equal(low.code, 1);
      assert.match(low.stderr, /report\.reported_tcb\.snp.*expected >= 3, got 2/);

      const bad = structuredClone(good);
      bad.ReferenceValues.snp[0]!.MinimumTCB.SNPVersion = 300;
      await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify(bad));
      const invalid = await runContrast(...args, `${dir}/bad.json`);
      assert.equal(invalid.code, 2);
      assert.match(
        invalid.stderr,
        /ReferenceValues\.snp\[0\]\.MinimumTCB\.SNPVersion: expected an integer 0–255, got 300/,
      );
      // The message names the file the problem is in (it also is the --json error's `file`).
      assert.ok(invalid.stderr.includes(`invalid document ${dir}/bad.json:`), invalid.stderr);
      const json = await runContrast(...args, `${dir}/bad.json`, "--json");
      assert.equal(JSON.parse(json.stdout).error.file, `${dir}/bad.json`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

conformanceTest("evidence verify checks --report-data exactly", async () => {
  const args = verifyArgs("milan-v5-gcp-teekit", "2025-12-06T06:04:27Z");
  assert.equal((await runContrast(...args, "--report-data", "00".repeat(64))).code, 0);
  const wrong = await runContrast(...args, "--report-data", "01".repeat(64));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /report\.report_data/);
  assert.equal((await runContrast(...args, "--report-data", "00")).code, 2);
});

conformanceTest(
  "evidence verify offline without the certificates says what is missing",
  async () => {
    const r = await runContrast(
      ...snpEvidence("verify", vectorPath("genoa-v3-azure", "report.bin")),
      "--offline",
    );
    assert.equal(r.code, 3);
    assert.match(r.stderr, /offline and not available/);
    assert.match(r.stderr, /kdsintf\.amd\.com\/vcek\/v1\/Genoa/);
  },
);

conformanceTest("evidence show decodes without verifying", async () => {
  const r = await runContrast(
    ...snpEvidence("show", vectorPath("turin-v5-oak", "report.bin")),
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.verified, false);
  assert.equal(json.report.product, "Turin");
  assert.equal(json.report.reported_tcb.fmc, 0);
  const text = await runContrast(
    ...snpEvidence("show", vectorPath("turin-v5-oak", "report.bin")),
  );
  assert.match(text.stdout, /NOT verified/);
});

Deno.test("evidence rejects an unknown platform, a missing or unreadable report and a bad --now", async () => {
  const unknown = await runContrast("evidence", "show", "--platform", "sgx", "--report", "x");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--platform: unknown platform "sgx"/);
  const missing = await runContrast("evidence", "verify", "--platform", "snp");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--report/);
  const unreadable = await runContrast(
    ...snpEvidence("verify", "/nonexistent/report.bin"),
  );
  assert.equal(unreadable.code, 2);
  const dir = await Deno.makeTempDir();
  try {
    // A well-formed (unsigned) report, so the error is about --now and not the file.
    const report = new Uint8Array(1184);
    const view = new DataView(report.buffer);
    view.setUint32(0, 2, true);
    view.setBigUint64(8, 0x30000n, true);
    view.setUint32(0x34, 1, true);
    await Deno.writeFile(`${dir}/report.bin`, report);
    const badNow = await runContrast(
      ...snpEvidence("verify", `${dir}/report.bin`),
      "--now",
      "yesterday",
    );
    assert.equal(badNow.code, 2);
    assert.match(badNow.stderr, /--now: not an RFC 3339 time/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evidence verify takes certificates from --aux and trusts a simulated root only when named", async () => {
  const authority = await sharedAuthority("Milan");
  const dir = await Deno.makeTempDir();
  try {
    const { report, aux } = await authority.createReport({ reportData: new Uint8Array(64) });
    await Deno.writeFile(`${dir}/report.bin`, report);
    await Deno.writeFile(`${dir}/aux.bin`, aux);
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      simulatedReferenceValues("Milan", authority.rootFingerprint),
    );
    const args = [
      ...snpEvidence("verify", `${dir}/report.bin`),
      "--aux",
      `${dir}/aux.bin`,
      "--offline",
      "--now",
      "2026-06-01T00:00:00Z",
    ];
    const trusted = await runContrast(...args, "--reference-values", `${dir}/rv.json`);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.match(trusted.stdout, /SIMULATED root/);
    const untrusted = await runContrast(...args);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /not a pinned trust anchor/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

conformanceTest(
  "evidence verify --offline reads AMD KDS responses from --collateral-dir",
  async () => {
    // A bundle laid out by URL, holding what AMD KDS serves for this chip: its VCEK at its TCB and
    // the Genoa cert_chain (ASK then ARK), taken from the real vector.
    const dir = await Deno.makeTempDir();
    try {
      const report = parseSnpReport(
        await Deno.readFile(vectorPath("genoa-v3-azure", "report.bin")),
      );
      const put = async (url: string, body: Uint8Array) => {
        const path = bundlePath(dir, url);
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(path, body);
      };
      await put(
        vcekUrl("Genoa", report.chipId, report.reportedTcb),
        await Deno.readFile(vectorPath("genoa-v3-azure", "vcek.der")),
      );
      const chain = (await Deno.readTextFile(vectorPath("genoa-v3-azure", "ask.pem"))) +
        (await Deno.readTextFile(vectorPath("genoa-v3-azure", "ark.pem")));
      await put(certChainUrl("Genoa", "VCEK"), new TextEncoder().encode(chain));
      const args = [
        ...snpEvidence("verify", vectorPath("genoa-v3-azure", "report.bin")),
        "--offline",
        "--now",
        "2025-01-25T02:21:48Z",
        "--collateral-dir",
        dir,
      ];
      // The bundle holds no AMD CRL: refused by default, accepted with the explicit opt-out.
      const strict = await runContrast(...args);
      assert.equal(strict.code, 3);
      assert.match(strict.stderr, /crl: no AMD CRL/);
      const r = await runContrast(...args, "--skip-revocation");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /genuine Genoa report/);
      assert.match(r.stdout, /NOT checked \(skipped on request: --skip-revocation\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("a platform reporting exit codes maps them to the typed errors of those codes", () => {
  reportResult({ stdout: "", stderr: "", exitCode: 0 });
  const cases = [[1, VerificationError], [2, ParseError], [3, UnavailableError]] as const;
  for (const [exitCode, type] of cases) {
    assert.throws(
      () => reportResult({ stdout: "", stderr: "error: quote.signature: bad\n", exitCode }),
      (e: unknown) =>
        e instanceof type && exitCodeFor(e) === exitCode && e.message === "quote.signature: bad",
    );
  }
});

Deno.test("evidence verify --json never calls a forged report of an uncovered product verified", async () => {
  // The Milan authority's report, its MEASUREMENT changed after signing, checked against reference
  // values for Genoa only: the signature fails, so `verified` (genuine evidence) must be false.
  const authority = await sharedAuthority("Milan");
  const dir = await Deno.makeTempDir();
  try {
    const { report, aux } = await authority.createReport({ reportData: new Uint8Array(64) });
    report[0x90]! ^= 0x01;
    await Deno.writeFile(`${dir}/report.bin`, report);
    await Deno.writeFile(`${dir}/aux.bin`, aux);
    await Deno.writeTextFile(
      `${dir}/rv.json`,
      simulatedReferenceValues("Genoa", authority.rootFingerprint),
    );
    const lines: string[] = [];
    await assert.rejects(
      runSnpEvidenceVerify({
        report: `${dir}/report.bin`,
        aux: `${dir}/aux.bin`,
        referenceValues: `${dir}/rv.json`,
        offline: true,
        cacheDir: dir,
        now: "2026-06-01T00:00:00Z",
        json: true,
      }, { out: (line) => lines.push(line) }),
      (e: unknown) => e instanceof FailureWithResult && exitCodeFor(e.error) === 1,
    );
    const json = JSON.parse(lines.join("\n"));
    assert.equal(json.ok, false);
    assert.equal(json.result.verified, false);
    assert.equal(json.error.type, "VerificationError");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `contrast evidence verify` takes its AMD KDS and Intel PCS base URLs the way every other command
 * does: `--kds-url` / `--pcs-url`, else `CONTRAST_KDS_URL` / `CONTRAST_PCS_URL`, else the vendor's.
 * Run as separate CLI processes against local stand-ins serving simulated authorities.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { listCache } from "../../collateral/mod.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { runDenoScript } from "../../testing/simulation/processes.ts";
import { SimulatedSnpAuthority } from "../../testing/snp/authority.ts";
import { startKdsStandIn } from "../../testing/snp/kds_stand_in.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { startPcsStandIn } from "../../testing/tdx/pcs_stand_in.ts";
import { startVendorStandIn } from "../../testing/vendor_stand_in.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { simulatedTdxReference } from "../helpers/simulated_tdx_reference.ts";

const REPORT_DATA = new Uint8Array(64).fill(7);

/**
 * `contrast evidence verify ARGS` with `env` added, with its own empty cache unless `ownCache` is
 * false (then the environment decides).
 */
function evidenceVerify(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
  ownCache = true,
) {
  return runDenoScript(
    "cli/main.ts",
    [
      "evidence",
      "verify",
      ...args,
      "--report-data",
      encodeHex(REPORT_DATA),
      ...(ownCache ? ["--cache-dir", `${dir}/cache-${crypto.randomUUID()}`] : []),
      "--timeout",
      "5s",
    ],
    dir,
    env,
  );
}

/** A stopped stand-in: its URL refuses connections. */
async function deadUrl(): Promise<string> {
  const dead = startVendorStandIn(() => new Response("never"));
  await dead.close();
  return dead.base;
}

Deno.test({
  name: "evidence verify --platform tdx: CONTRAST_PCS_URL is honoured, --pcs-url overrides it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const authority = await SimulatedTdxAuthority.generate();
      const pcs = await startPcsStandIn(authority);
      const dead = await deadUrl();
      try {
        await Deno.writeFile(
          `${dir}/q.bin`,
          await authority.createQuote({ reportData: REPORT_DATA }),
        );
        await Deno.writeTextFile(
          `${dir}/rv.json`,
          JSON.stringify({
            tdx: [await simulatedTdxReference(authority)],
          }),
        );
        const args = ["--platform", "tdx", "--quote", "q.bin", "--reference-values", "rv.json"];

        const fromEnv = await evidenceVerify(dir, args, { CONTRAST_PCS_URL: pcs.base });
        assert.equal(fromEnv.code, ExitCode.Ok, fromEnv.stderr + fromEnv.stdout);
        // Every collateral item, the root CA CRL included, came from the configured service.
        assert.deepEqual(new Set(pcs.requests.map((r) => r.replace(/\?.*/, ""))).size, 4);
        assert.ok(pcs.requests.includes("/sgx/certification/v4/rootcacrl"));

        const flagWins = await evidenceVerify(dir, [...args, "--pcs-url", pcs.base], {
          CONTRAST_PCS_URL: dead,
        });
        assert.equal(flagWins.code, ExitCode.Ok, flagWins.stderr + flagWins.stdout);

        const down = await evidenceVerify(dir, args, { CONTRAST_PCS_URL: dead });
        assert.equal(down.code, ExitCode.Unavailable, down.stderr);
        assert.ok(down.stderr.includes(`${dead}/`), down.stderr);

        const bad = await evidenceVerify(dir, args, { CONTRAST_PCS_URL: "pcs.example" });
        assert.equal(bad.code, ExitCode.BadInput, bad.stderr);
        assert.match(bad.stderr, /CONTRAST_PCS_URL.*"pcs\.example" is not a URL/);

        // AMD's CRL is an SNP matter: refused for TDX, naming the flag.
        const snpOnly = await evidenceVerify(dir, [...args, "--amd-crl-url", pcs.base]);
        assert.equal(snpOnly.code, ExitCode.BadInput, snpOnly.stderr);
        assert.match(snpOnly.stderr, /--amd-crl-url: not an option of --platform tdx/);
      } finally {
        await pcs.close();
      }
    }),
});

Deno.test({
  name: "evidence verify --platform snp: CONTRAST_KDS_URL is honoured, --kds-url overrides it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
      const kds = await startKdsStandIn(authority);
      const dead = await deadUrl();
      try {
        // A report without its certificate table: the VCEK and chain must come from KDS.
        const { report } = await authority.createReport({ reportData: REPORT_DATA });
        await Deno.writeFile(`${dir}/report.bin`, report);
        await Deno.writeTextFile(
          `${dir}/rv.json`,
          JSON.stringify({
            snp: [authority.referenceValue({ TrustedMeasurement: "00".repeat(48) })],
          }),
        );
        const args = [
          "--platform",
          "snp",
          "--report",
          "report.bin",
          "--reference-values",
          "rv.json",
        ];

        const fromEnv = await evidenceVerify(dir, args, { CONTRAST_KDS_URL: kds.base });
        assert.equal(fromEnv.code, ExitCode.Ok, fromEnv.stderr + fromEnv.stdout);
        assert.ok(kds.requests.some((r) => r.includes("ucodeSPL=")), kds.requests.join("\n"));

        const flagWins = await evidenceVerify(dir, [...args, "--kds-url", kds.base], {
          CONTRAST_KDS_URL: dead,
        });
        assert.equal(flagWins.code, ExitCode.Ok, flagWins.stderr + flagWins.stdout);

        const down = await evidenceVerify(dir, args, { CONTRAST_KDS_URL: dead });
        assert.equal(down.code, ExitCode.Unavailable, down.stderr);
        assert.ok(down.stderr.includes(`${dead}/vcek/v1/`), down.stderr);

        const bad = await evidenceVerify(dir, [...args, "--kds-url", "ftp://kds.example"]);
        assert.equal(bad.code, ExitCode.BadInput, bad.stderr);
        assert.match(bad.stderr, /--kds-url.*is not an http\(s\) URL/);

        // Simulated values: the stand-in serves its own root's CRL, unless CONTRAST_AMD_CRL_URL
        // (or --amd-crl-url) names another service, which is then the one asked.
        const crlPath = `/vcek/v1/${authority.product}/crl`;
        assert.ok(kds.requests.includes(crlPath), kds.requests.join("\n"));
        const before = kds.requests.length;
        const crlElsewhere = await evidenceVerify(dir, [...args, "--json"], {
          CONTRAST_KDS_URL: kds.base,
          CONTRAST_AMD_CRL_URL: dead,
        });
        assert.equal(crlElsewhere.code, ExitCode.Ok, crlElsewhere.stderr + crlElsewhere.stdout);
        assert.match(crlElsewhere.stdout, /"revocationChecked": false/);
        assert.ok(!kds.requests.slice(before).includes(crlPath), kds.requests.join("\n"));
        const badCrl = await evidenceVerify(dir, [...args, "--amd-crl-url", "kdsintf.amd.com"]);
        assert.equal(badCrl.code, ExitCode.BadInput, badCrl.stderr);
        assert.match(badCrl.stderr, /--amd-crl-url.*is not a URL/);
      } finally {
        await kds.close();
      }
    }),
});

Deno.test({
  name:
    "evidence verify honours CONTRAST_OFFLINE=1 and CONTRAST_COLLATERAL_CACHE like every command",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const authority = await SimulatedTdxAuthority.generate();
      const pcs = await startPcsStandIn(authority);
      try {
        await Deno.writeFile(
          `${dir}/q.bin`,
          await authority.createQuote({ reportData: REPORT_DATA }),
        );
        await Deno.writeTextFile(
          `${dir}/rv.json`,
          JSON.stringify([await simulatedTdxReference(authority)]),
        );
        const args = ["--platform", "tdx", "--quote", "q.bin", "--reference-values", "rv.json"];
        const env = (cache: string, offline = false) => ({
          CONTRAST_PCS_URL: pcs.base,
          CONTRAST_COLLATERAL_CACHE: `${dir}/${cache}`,
          ...(offline ? { CONTRAST_OFFLINE: "1" } : {}),
        });

        const warm = await evidenceVerify(dir, args, env("warm"), false);
        assert.equal(warm.code, ExitCode.Ok, warm.stderr + warm.stdout);
        assert.equal((await listCache(`${dir}/warm`)).length, 4);
        const asked = pcs.requests.length;

        const offlineEmpty = await evidenceVerify(dir, args, env("empty", true), false);
        assert.equal(offlineEmpty.code, ExitCode.Unavailable, offlineEmpty.stderr);
        assert.match(offlineEmpty.stderr, /offline/);
        const offlineWarm = await evidenceVerify(dir, args, env("warm", true), false);
        assert.equal(offlineWarm.code, ExitCode.Ok, offlineWarm.stderr + offlineWarm.stdout);
        assert.equal(pcs.requests.length, asked, "offline runs asked the PCS nothing");
      } finally {
        await pcs.close();
      }
    }),
});

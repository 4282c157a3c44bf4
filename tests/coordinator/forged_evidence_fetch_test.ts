/**
 * Forged SNP evidence sent to the Coordinator must not make it an amplifier towards AMD KDS nor
 * fill its disk cache. The verifiers are built as the Coordinator builds them
 * (`manifestVerifiersWithCollateral` with `--kds-url` and `--collateral-cache`), against the local
 * KDS stand-in serving a simulated authority whose root the manifest names, so every chain and
 * signature is checked for real. A forged report (its chip ID or TCB changed after signing) can
 * only be refused once its VCEK is fetched; what is bounded is how many such fetches run at once
 * (the excess fails fast with an UnavailableError, the Coordinator's 503, without a request) and
 * what is kept: a VCEK reaches the disk cache only after a report signed by it verified.
 */
import assert from "node:assert/strict";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { manifestVerifiersWithCollateral } from "../../manifest/collateral_config.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { startKdsStandIn } from "../../testing/snp/kds_stand_in.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { startPcsStandIn } from "../../testing/tdx/pcs_stand_in.ts";
import { TEST_REFERENCE_VALUES } from "../policy/fixtures.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { listTree } from "../helpers/list_tree.ts";
import { sharedAuthority } from "../snp/simulated_fixture.ts";

const authority = await sharedAuthority("Milan");
const manifest = parseManifest(new TextEncoder().encode(JSON.stringify({
  Policies: { ["7e".repeat(32)]: { SANs: ["c"], WorkloadSecretID: "", Role: "coordinator" } },
  ReferenceValues: {
    snp: [{
      ...TEST_REFERENCE_VALUES.snp[0],
      Platform: "Simulated-SNP",
      ProductName: "Milan",
      SimulatedRootSHA256: authority.rootFingerprint,
    }],
    tdx: [],
  },
  WorkloadOwnerPubKeys: [],
  SeedshareOwnerPubKeys: [],
})));
const { report: genuine } = await authority.createReport({ version: 5 });

/** The genuine report with its chip ID and/or reported TCB replaced (its signature now fails). */
function forged(change: { chipId?: Uint8Array; tcbSnp?: number }): Uint8Array {
  const report = genuine.slice();
  if (change.chipId) report.set(change.chipId, 0x1a0);
  // Milan TCB layout: byte 6 of REPORTED_TCB is the SNP SPL.
  if (change.tcbSnp !== undefined) report[0x180 + 6] = change.tcbSnp;
  return report;
}

const vcekRequests = (requests: readonly string[]) =>
  requests.filter((r) => !r.endsWith("/cert_chain") && !r.endsWith("/crl")).length;

async function cachedVceks(cacheDir: string): Promise<number> {
  let n = 0;
  for (const file of await listTree(cacheDir)) {
    const text = new TextDecoder().decode(await Deno.readFile(`${cacheDir}/${file}`));
    if (
      text.includes("/vcek/v1/Milan/") && !text.includes("/cert_chain") && !text.includes("/crl")
    ) n++;
  }
  return n;
}

Deno.test("forged SNP reports with random chip IDs: outbound KDS fetches at once are bounded, the rest fail fast", async () => {
  const kds = await startKdsStandIn(authority);
  try {
    await withTempDir(async (cacheDir) => {
      const verifiers = manifestVerifiersWithCollateral({ kdsBaseUrl: kds.base, cacheDir });
      const N = 200;
      const results = await Promise.allSettled(
        Array.from({ length: N }, () => {
          const chipId = crypto.getRandomValues(new Uint8Array(64));
          return verifiers.verify(manifest, { platform: "snp", report: forged({ chipId }) }, {
            reportData: new Uint8Array(64),
            now: new Date(),
          });
        }),
      );
      const reasons = results.map((r) => r.status === "rejected" ? r.reason : undefined);
      assert.ok(results.every((r) => r.status === "rejected"), "every forged report is refused");
      const fetched = vcekRequests(kds.requests);
      console.log(`${N} forged reports at once -> ${fetched} VCEK requests to the KDS stand-in`);
      assert.ok(fetched <= 16, `${fetched} VCEK requests for ${N} forged reports`);
      const refusedFast = reasons.filter((e) =>
        e instanceof UnavailableError && /in flight/.test(e.message)
      );
      assert.equal(refusedFast.length + fetched, N);
    });
  } finally {
    await kds.close();
  }
});

Deno.test("forged SNP reports with the real chip ID and made-up TCBs: no VCEK reaches the disk cache; a genuine one does", async () => {
  const kds = await startKdsStandIn(authority);
  try {
    await withTempDir(async (cacheDir) => {
      const verifiers = manifestVerifiersWithCollateral({ kdsBaseUrl: kds.base, cacheDir });
      const options = { reportData: new Uint8Array(64), now: new Date() };
      for (let spl = 100; spl < 120; spl++) {
        await assert.rejects(
          verifiers.verify(manifest, { platform: "snp", report: forged({ tcbSnp: spl }) }, options),
          VerificationError,
        );
      }
      const fetched = vcekRequests(kds.requests);
      const kept = await cachedVceks(cacheDir);
      console.log(`20 forged TCBs -> ${fetched} VCEK requests, ${kept} VCEKs in the disk cache`);
      assert.equal(fetched, 20, "each forged TCB needed its VCEK fetched to be refused");
      assert.equal(kept, 0, "VCEKs of forged reports are not kept on disk");

      // A genuine report's VCEK is kept: a new Coordinator on the same cache verifies it with
      // KDS down.
      await verifiers.verify(manifest, { platform: "snp", report: genuine }, options).catch(
        (e) => {
          // The fixture's reference values need not match the simulated report: only a
          // ValidationError (the report is genuine) is acceptable here.
          if (!(e instanceof Error) || e.name !== "ValidationError") throw e;
        },
      );
      assert.equal(await cachedVceks(cacheDir), 1);
      kds.mode = "unavailable";
      const before = kds.requests.length;
      const restarted = manifestVerifiersWithCollateral({ kdsBaseUrl: kds.base, cacheDir });
      await restarted.verify(manifest, { platform: "snp", report: genuine }, options).catch(
        (e) => {
          if (!(e instanceof Error) || e.name !== "ValidationError") throw e;
        },
      );
      assert.equal(kds.requests.length, before, "served from the disk cache");
    });
  } finally {
    await kds.close();
  }
});

Deno.test("forged TDX quotes naming made-up FMSPCs: outbound PCS fetches at once are bounded, the rest fail fast", async () => {
  const tdx = await SimulatedTdxAuthority.generate();
  const pcs = await startPcsStandIn(tdx);
  try {
    await withTempDir(async (cacheDir) => {
      const verifiers = manifestVerifiersWithCollateral({ pcsBaseUrl: pcs.base, cacheDir });
      const tdxManifest = parseManifest(new TextEncoder().encode(JSON.stringify({
        Policies: { ["7e".repeat(32)]: { SANs: ["c"], WorkloadSecretID: "", Role: "coordinator" } },
        ReferenceValues: {
          snp: [],
          tdx: [{
            Platform: "Simulated-TDX",
            MrTd: "11".repeat(48),
            SimulatedRootSHA256: await tdx.rootFingerprint(),
          }],
        },
        WorkloadOwnerPubKeys: [],
        SeedshareOwnerPubKeys: [],
      })));
      // Each forger signs its own PCK certificate naming a random FMSPC (its root is not trusted,
      // but the FMSPC is read from the quote before any chain can be checked).
      const N = 60;
      const quotes = await Promise.all(Array.from({ length: N }, async () => {
        const forger = await SimulatedTdxAuthority.generate({
          pck: { fmspc: crypto.getRandomValues(new Uint8Array(6)) },
        });
        return await forger.createQuote({ reportData: new Uint8Array(64) });
      }));
      const results = await Promise.allSettled(
        quotes.map((report) =>
          verifiers.verify(tdxManifest, { platform: "tdx", report }, {
            reportData: new Uint8Array(64),
            now: new Date(),
          })
        ),
      );
      assert.ok(results.every((r) => r.status === "rejected"), "every forged quote is refused");
      const tcbInfo = pcs.requests.filter((r) => r.includes("/tcb?fmspc=")).length;
      console.log(
        `${N} forged quotes at once -> ${tcbInfo} TCB info requests, ` +
          `${pcs.requests.length} PCS requests in all`,
      );
      assert.ok(pcs.requests.length <= 16, `${pcs.requests.length} PCS requests`);
      assert.ok(
        results.some((r) =>
          r.status === "rejected" && r.reason instanceof UnavailableError &&
          /in flight/.test(r.reason.message)
        ),
      );
    });
  } finally {
    await pcs.close();
  }
});

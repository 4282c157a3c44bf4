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
import { LookupBudgetExceededError, VendorLookupBudget } from "../../collateral/lookup_budget.ts";
import { manifestVerifiersWithCollateral } from "../../manifest/collateral_config.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { startKdsStandIn } from "../../testing/snp/kds_stand_in.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { startPcsStandIn } from "../../testing/tdx/pcs_stand_in.ts";
import { TEST_REFERENCE_VALUES } from "../policy/fixtures.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { listTree } from "../helpers/list_tree.ts";
import { sharedAuthority } from "../snp/simulated_fixture.ts";
import { simulatedTdxReference } from "../helpers/simulated_tdx_reference.ts";

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

Deno.test("forged SNP reports one after another: a client over its budget of uncached KDS lookups is refused without a request while another is served; a verified report refunds; cached VCEKs cost nothing", async () => {
  const kds = await startKdsStandIn(authority);
  try {
    await withTempDir(async (cacheDir) => {
      const verifiers = manifestVerifiersWithCollateral({ kdsBaseUrl: kds.base, cacheDir });
      const budget = new VendorLookupBudget({ burst: 3, perMinute: 1, clock: () => 0 });
      const verifyFrom = (client: string, report: Uint8Array) =>
        verifiers.verify(manifest, { platform: "snp", report }, {
          reportData: new Uint8Array(64),
          now: new Date(),
          vendorLookups: budget.allowanceFor(client),
        });
      const genuineOrMismatch = (e: unknown) => {
        // A ValidationError means the report verified as genuine and only the fixture's
        // reference values differ.
        if (!(e instanceof Error) || e.name !== "ValidationError") throw e;
      };

      // Warm the chain and CRL (fixed URLs, not charged) with a genuine report from a pod.
      await verifyFrom("10.0.0.7", genuine).catch(genuineOrMismatch);
      const warm = vcekRequests(kds.requests);
      assert.equal(warm, 1);
      assert.equal(budget.tokensOf("10.0.0.7"), 3, "the genuine pod's lookup was refunded");

      const N = 20;
      const outcomes: string[] = [];
      for (let i = 0; i < N; i++) {
        const chipId = crypto.getRandomValues(new Uint8Array(64));
        const e = await verifyFrom("10.0.0.66", forged({ chipId })).then(
          () => undefined,
          (e) => e,
        );
        outcomes.push(
          e instanceof LookupBudgetExceededError
            ? "budget"
            : e instanceof UnavailableError
            ? "kds-404"
            : String(e),
        );
      }
      const fetched = vcekRequests(kds.requests) - warm;
      console.log(
        `${N} forged reports one after another from one client -> ${fetched} VCEK requests`,
      );
      assert.deepEqual(outcomes, [
        ...Array(3).fill("kds-404"),
        ...Array(N - 3).fill("budget"),
      ]);
      assert.equal(fetched, 3, "only the burst reached KDS");
      assert.equal(budget.tokensOf("10.0.0.66"), 0, "failed lookups are not refunded");

      // Another client is served meanwhile: its forged TCB costs it one KDS request.
      await assert.rejects(verifyFrom("10.0.0.8", forged({ tcbSnp: 101 })), VerificationError);
      assert.equal(vcekRequests(kds.requests) - warm, 4);

      // The spent client sending a report whose VCEK is cached: no token needed, no request.
      await verifyFrom("10.0.0.66", genuine).catch(genuineOrMismatch);
      assert.equal(vcekRequests(kds.requests) - warm, 4);
      // A pod sending genuine reports again and again is never throttled (refunds and cache).
      for (let i = 0; i < 10; i++) await verifyFrom("10.0.0.7", genuine).catch(genuineOrMismatch);
      assert.equal(budget.tokensOf("10.0.0.7"), 3);
    });
  } finally {
    await kds.close();
  }
});

Deno.test("forged TDX quotes with their own PCK chains naming made-up FMSPCs: refused without any PCS request; a genuine quote still fetches and verifies", async () => {
  const tdx = await SimulatedTdxAuthority.generate();
  const pcs = await startPcsStandIn(tdx);
  try {
    await withTempDir(async (cacheDir) => {
      const verifiers = manifestVerifiersWithCollateral({ pcsBaseUrl: pcs.base, cacheDir });
      const tdxManifest = parseManifest(new TextEncoder().encode(JSON.stringify({
        Policies: { ["7e".repeat(32)]: { SANs: ["c"], WorkloadSecretID: "", Role: "coordinator" } },
        ReferenceValues: {
          snp: [],
          tdx: [await simulatedTdxReference(tdx)],
        },
        WorkloadOwnerPubKeys: [],
        SeedshareOwnerPubKeys: [],
      })));
      const options = { reportData: new Uint8Array(64), now: new Date() };
      // Each forger signs its own PCK chain (a root of its own) naming a random FMSPC. The chain
      // is checked against the manifest's root before any collateral is requested.
      const N = 60;
      const quotes = await Promise.all(Array.from({ length: N }, async () => {
        const forger = await SimulatedTdxAuthority.generate({
          pck: { fmspc: crypto.getRandomValues(new Uint8Array(6)) },
        });
        return await forger.createQuote({ reportData: new Uint8Array(64) });
      }));
      const results = await Promise.allSettled(
        quotes.map((report) => verifiers.verify(tdxManifest, { platform: "tdx", report }, options)),
      );
      console.log(`${N} forged quotes at once -> ${pcs.requests.length} PCS requests`);
      for (const r of results) {
        assert.equal(r.status, "rejected", "every forged quote is refused");
        assert.ok(r.reason instanceof VerificationError, String(r.reason));
        assert.match(r.reason.field, /^quote\.pckChain/);
        assert.match(r.reason.message, /not a pinned trust anchor/);
      }
      assert.equal(pcs.requests.length, 0, "no PCS request for a quote whose chain is not trusted");

      // The genuine platform's quote: its chain verifies, so its collateral is fetched and the
      // full check (CRLs included) accepts it.
      const mrConfigId = new Uint8Array(48);
      mrConfigId.fill(0x7e, 0, 32);
      const genuineQuote = await tdx.createQuote({ reportData: new Uint8Array(64), mrConfigId });
      const { claims } = await verifiers.verify(
        tdxManifest,
        { platform: "tdx", report: genuineQuote },
        options,
      );
      assert.equal(claims.platform, "tdx");
      assert.equal(claims.details?.pckRevocationChecked, "true");
      assert.ok(pcs.requests.some((r) => r.includes("/tcb?fmspc=")), "collateral was fetched");
    });
  } finally {
    await pcs.close();
  }
});

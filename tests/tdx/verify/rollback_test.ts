/**
 * Rollback protection of Intel collateral in TDX verification: whoever serves the collateral
 * replays an older genuine TCB info, QE identity, PCK CRL or root CA CRL, still inside its window
 * (one that rates a TCB UpToDate that the newer rates OutOfDate, or predates a revocation). Every
 * document is really signed by the simulated authority; the real Intel collateral under
 * ../shared/conformance is replayed across two of its vectors.
 */
import { strict as assert } from "node:assert";
import {
  REVOCATION_MARKS_FILE,
  RevocationMarks,
  RevocationRollbackError,
} from "../../../collateral/mod.ts";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { IssueList } from "../../../util/json/mod.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";
import { verifyTdxQuote } from "../../../tdx/verify/verify_quote.ts";
import { TdxVerificationCache } from "../../../tdx/verify/verification_cache.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../../tdx/verify/intel_root.ts";
import { readTdxReferenceValue } from "../../../tdx/reference_values.ts";
import { TdxEvidenceVerifier } from "../../../tdx/verifier.ts";
import type { TdxCollateral } from "../../../tdx/verify/collateral_bundle.ts";
import { readTdxCollateralDir } from "../../../tdx/pcs/collateral_dir.ts";
import { CachingFetcher, listCache } from "../../../collateral/mod.ts";
import {
  cachingFetcherTransport,
  IntelPcsClient,
  pcsServiceRootCaCrlUrl,
} from "../../../tdx/pcs/client.ts";
import { collateralRequestOf } from "../../../tdx/verifier.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { conformanceFile, conformanceTest, readConformance } from "../../conformance.ts";

const authority = await SimulatedTdxAuthority.generate();
const root = await authority.rootFingerprint();
const NOW = new Date();
const HOUR = 3_600_000;
const reportData = new Uint8Array(64).fill(0x42);
const mrTd = new Uint8Array(48).fill(0x77);
const quote = await authority.createQuote({ reportData, mrTd });

/** Collateral issued `hoursAgo` before NOW (its documents say an hour earlier still). */
const issued = (hoursAgo: number, o: Parameters<typeof authority.collateral>[0] = {}) =>
  authority.collateral({ now: new Date(NOW.getTime() - hoursAgo * HOUR), ...o });

const older = await issued(48, { tcbEvaluationDataNumber: 17 });
const newer = await issued(24, { tcbEvaluationDataNumber: 18, tcbStatus: "OutOfDate" });

function verifier(marks: RevocationMarks, cache?: TdxVerificationCache) {
  return (collateral: TdxCollateral) =>
    verifyTdxQuote(quote, {
      now: NOW,
      trustAnchors: [root],
      collateral,
      revocationMarks: marks,
      ...(cache ? { verificationCache: cache } : {}),
    });
}

const rollback = (field: string, reason: RegExp) => (e: unknown) =>
  e instanceof RevocationRollbackError && e.field === field && reason.test(e.reason);

Deno.test("an older TCB info (lower tcbEvaluationDataNumber) that rates the TCB UpToDate is refused after the newer rating it OutOfDate", async () => {
  const verify = verifier(new RevocationMarks());
  assert.equal((await verify(older)).tcb.status, "UpToDate");
  assert.equal((await verify(newer)).tcb.status, "OutOfDate");
  // Only the TCB info rolled back (the rest current), then all of it.
  await assert.rejects(
    verify({ ...newer, tcbInfo: older.tcbInfo }),
    rollback("tcbInfo.tcbEvaluationDataNumber", /^17 is older than the accepted 18/),
  );
  await assert.rejects(verify(older), RevocationRollbackError);
  // The same evaluation number issued earlier is older too.
  await assert.rejects(
    verify({ ...newer, tcbInfo: (await issued(36, { tcbEvaluationDataNumber: 18 })).tcbInfo }),
    rollback("tcbInfo.issueDate", /is older than the accepted/),
  );
  // An older QE identity with the newer TCB info.
  await assert.rejects(
    verify({ ...newer, qeIdentity: older.qeIdentity }),
    rollback("qeIdentity.tcbEvaluationDataNumber", /^17 is older than the accepted 18/),
  );
  // Equal (the same collateral again) and newer are accepted.
  assert.equal((await verify(newer)).tcb.status, "OutOfDate");
  const latest = await issued(12, { tcbEvaluationDataNumber: 19 });
  assert.ok(await verify(latest));
  await assert.rejects(
    verify({ ...latest, tcbInfo: newer.tcbInfo }),
    rollback("tcbInfo.tcbEvaluationDataNumber", /accepted 19/),
  );
});

Deno.test("a PCK CRL from before the PCK certificate's revocation is refused once the revoking CRL was seen, though that quote failed", async () => {
  const verify = verifier(new RevocationMarks());
  assert.ok(await verify(newer));
  const revoking = await issued(12, { tcbEvaluationDataNumber: 18, revokePck: true });
  await assert.rejects(verify(revoking), /revoked/);
  await assert.rejects(
    verify({ ...revoking, pckCrl: newer.pckCrl }),
    rollback("pckCrl.thisUpdate", /is older than the accepted/),
  );
});

Deno.test("an older root CA CRL is refused (thisUpdate)", async () => {
  const verify = verifier(new RevocationMarks());
  const latest = await issued(12, { tcbEvaluationDataNumber: 18 });
  assert.ok(await verify(latest));
  await assert.rejects(
    verify({ ...latest, rootCaCrl: newer.rootCaCrl }),
    rollback("rootCaCrl.thisUpdate", /is older than the accepted/),
  );
});

Deno.test("a root CA CRL from before the TCB signing certificate's revocation is refused once the revoking CRL was seen, though that verification failed", async () => {
  const verify = verifier(new RevocationMarks());
  assert.ok(await verify(newer));
  const revoking = await issued(12, { tcbEvaluationDataNumber: 18, revokeTcbSigning: true });
  await assert.rejects(verify(revoking), /revoked/);
  await assert.rejects(
    verify({ ...revoking, rootCaCrl: newer.rootCaCrl }),
    rollback("rootCaCrl.thisUpdate", /is older than the accepted/),
  );
});

Deno.test("collateral verified before (a verification cache hit) is refused once newer collateral raised the marks", async () => {
  const cache = new TdxVerificationCache();
  const verify = verifier(new RevocationMarks(), cache);
  assert.ok(await verify(older));
  assert.ok(await verify(older));
  const hits = cache.stats.hits;
  assert.ok(await verify(newer));
  await assert.rejects(verify(older), rollback("tcbInfo.tcbEvaluationDataNumber", /accepted 18/));
  assert.ok(cache.stats.hits > hits);
});

Deno.test("the TDX evidence verifier keeps marks of its own by default, and persisted marks survive a new verifier", async () => {
  const issues = new IssueList();
  const ref = readTdxReferenceValue(
    {
      Platform: "Simulated-TDX",
      MrTd: encodeHex(mrTd),
      SimulatedRootSHA256: root,
      AllowedTcbStatuses: ["UpToDate", "OutOfDate"],
    },
    "ReferenceValues.tdx[0]",
    issues,
  );
  issues.throwIfAny();
  let served = newer;
  const source = { collateralFor: () => Promise.resolve(served) };
  const evidence = { platform: "tdx" as const, report: quote };
  const at = { now: NOW, reportData };
  const tdx = (marks?: RevocationMarks) =>
    new TdxEvidenceVerifier({
      referenceValues: [ref!],
      collateral: source,
      ...(marks ? { revocationMarks: marks } : {}),
    });
  const own = tdx();
  assert.ok(await own.verify(evidence, at));
  served = older;
  await assert.rejects(own.verify(evidence, at), RevocationRollbackError);
  await withTempDir(async (dir) => {
    const file = `${dir}/${REVOCATION_MARKS_FILE}`;
    served = newer;
    assert.ok(
      await tdx(new RevocationMarks({ file, persistSimulated: true })).verify(evidence, at),
    );
    served = { ...newer, tcbInfo: older.tcbInfo };
    await assert.rejects(
      tdx(new RevocationMarks({ file, persistSimulated: true })).verify(evidence, at),
      rollback("tcbInfo.tcbEvaluationDataNumber", /accepted 18/),
    );
    const saved = JSON.parse(await Deno.readTextFile(file)).marks as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(saved).map((k) => k.split(" ")[0]).sort(),
      ["intel-crl", "intel-crl", "intel-qe-identity", "intel-tcb-info"],
    );
  });
});

conformanceTest(
  "real Intel collateral: after a 2025 vector, the 2023 vector's older QE identity and root CA CRL are refused with the same marks",
  async () => {
    const marks = new RevocationMarks();
    const real = async (dir: string, now: string) =>
      await verifyTdxQuote(await readConformance(`tdx/${dir}/quote.bin`), {
        now: new Date(now),
        trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
        collateral: await readTdxCollateralDir(conformanceFile(`tdx/${dir}`).pathname),
        revocationMarks: marks,
      });
    // In time order each is accepted and raises the marks; replayed after the newer, the older is not.
    assert.ok(await real("v4-gotdx-spr-50806f", "2023-07-01T01:00:00Z"));
    const fresh = await real("v4-phala-b0c06f-uptodate", "2025-06-19T11:32:27Z");
    assert.equal(fresh.tcb.status, "UpToDate");
    await assert.rejects(
      real("v4-gotdx-spr-50806f", "2023-07-01T01:00:00Z"),
      (e: unknown) =>
        e instanceof RevocationRollbackError && /^(qeIdentity|rootCaCrl)\./.test(e.field),
    );
  },
);

Deno.test("an older PCS response from the network is refused before it is cached, so a newer one is fetched next time", async () => {
  const marks = new RevocationMarks();
  let served = newer;
  const BASE = "http://pcs.invalid";
  const respond = (bytes: Uint8Array, headers: Record<string, string> = {}) =>
    Promise.resolve(new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
  const chain = (name: string, pem: string) => ({ [name]: encodeURIComponent(pem) });
  // Intel PCS answered in-process: no request leaves the machine.
  const pcs: typeof fetch = (input) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    switch (url.pathname) {
      case "/tdx/certification/v4/tcb":
        return respond(
          served.tcbInfo,
          chain("TCB-Info-Issuer-Chain", served.tcbInfoIssuerChain),
        );
      case "/tdx/certification/v4/qe/identity":
        return respond(
          served.qeIdentity,
          chain("SGX-Enclave-Identity-Issuer-Chain", served.qeIdentityIssuerChain),
        );
      case "/sgx/certification/v4/pckcrl":
        return respond(
          served.pckCrl!,
          chain("SGX-PCK-CRL-Issuer-Chain", served.pckCrlIssuerChain!),
        );
      case "/sgx/certification/v4/rootcacrl":
        return respond(served.rootCaCrl!);
    }
    return Promise.resolve(new Response("not found", { status: 404 }));
  };
  const request = { ...collateralRequestOf(parseTdxQuote(quote)), now: NOW };
  const client = (cacheDir: string) =>
    new IntelPcsClient({
      transport: cachingFetcherTransport(
        new CachingFetcher({ cacheDir, fetch: pcs, retries: 0, clock: () => NOW }),
        { trustAnchors: [root], revocationMarks: marks, clock: () => NOW },
      ),
      baseUrl: BASE,
      rootCaCrlUrl: pcsServiceRootCaCrlUrl(BASE),
    });
  const verify = verifier(marks);
  await withTempDir(async (dir) => {
    assert.equal(
      (await verify(await client(`${dir}/a`).collateralFor(request))).tcb.status,
      "OutOfDate",
    );
    // A new cache (cleared, or another replica's) and PCS serving the older collateral.
    served = older;
    await assert.rejects(
      client(`${dir}/b`).collateralFor(request),
      (e: unknown) =>
        e instanceof RevocationRollbackError &&
        /^(tcbInfo|qeIdentity|pckCrl|rootCaCrl)\./.test(e.field),
    );
    assert.deepEqual(await listCache(`${dir}/b`), []);
    served = newer;
    assert.ok(await verify(await client(`${dir}/b`).collateralFor(request)));
    assert.equal((await listCache(`${dir}/b`)).length, 4);
  });
});

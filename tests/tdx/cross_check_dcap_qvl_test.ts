/**
 * Cross-check with an independent DCAP verifier from npm (@phala/dcap-qvl, a JavaScript port of
 * Phala's Rust dcap-qvl) on the same quotes and collateral: same verdict and TCB status.
 *
 * Known differences, by design of the two libraries:
 * - dcap-qvl throws "No matching TCB level found" where contrast returns the status
 *   `TcbNotSupported` (and then refuses it under default reference values): same verdict.
 * - dcap-qvl always takes a PCK CRL. For v4-trustee-00a06d-outofdate (no PCK CRL was published
 *   with it) the root CA CRL is passed in its place, so neither verifier checks PCK revocation
 *   there; contrast does so only with `requirePckCrl: false`, which it reports.
 */
import { strict as assert } from "node:assert";
import { Buffer } from "node:buffer";
import { QuoteVerifier, verify as qvlVerify } from "@phala/dcap-qvl";
import { readTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { toQvlCollateral } from "./qvl_collateral.ts";
import { verifyTdxQuote } from "../../tdx/verify/verify_quote.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import type { TdxCollateral } from "../../tdx/verify/collateral_bundle.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { conformanceFile, conformanceTest, readConformanceManifest } from "../conformance.ts";

type Verdict = { ok: true; status: string; advisories: string[] } | { ok: false };

function qvl(quote: Uint8Array, c: TdxCollateral, now: Date, rootDer?: Uint8Array): Verdict {
  try {
    const collateral = toQvlCollateral(c);
    const secs = Math.floor(now.getTime() / 1000);
    // deno-lint-ignore no-explicit-any
    const r: any = rootDer
      ? QuoteVerifier.newWithRootCa(Buffer.from(rootDer)).verify(quote, collateral, secs)
      : qvlVerify(quote, collateral, secs);
    return { ok: true, status: r.status, advisories: [...r.advisory_ids] };
  } catch (e) {
    if (/No matching TCB level/.test(String((e as Error).message))) {
      return { ok: true, status: "TcbNotSupported", advisories: [] };
    }
    return { ok: false };
  }
}

async function ours(
  quote: Uint8Array,
  c: TdxCollateral,
  now: Date,
  anchor = INTEL_SGX_ROOT_CA_SHA256,
): Promise<Verdict> {
  try {
    const r = await verifyTdxQuote(quote, {
      now,
      trustAnchors: [anchor],
      collateral: c,
      requirePckCrl: c.pckCrl !== undefined,
    });
    return { ok: true, status: r.tcb.status, advisories: [...r.tcb.advisoryIds] };
  } catch {
    return { ok: false };
  }
}

conformanceTest("dcap-qvl and contrast agree on every real vector with collateral", async () => {
  const manifest = await readConformanceManifest();
  let n = 0;
  // deno-lint-ignore no-explicit-any
  for (const v of manifest.tdx as any[]) {
    if (!v.tcb_evaluation) continue;
    const dir = conformanceFile(v.dir).pathname;
    const quote = await Deno.readFile(`${dir}/quote.bin`);
    const c = await readTdxCollateralDir(dir);
    const now = new Date(v.validity.suggested_fixed_now);
    const a = await ours(quote, c, now);
    const b = qvl(quote, c, now);
    assert.deepEqual(a, b, v.name);
    assert.ok(a.ok && a.status === v.tcb_evaluation.status, v.name);
    n++;
  }
  assert.equal(n, 4);
});

conformanceTest("dcap-qvl and contrast both reject mutated real quotes", async () => {
  const dir = conformanceFile("tdx/v4-phala-b0c06f-uptodate").pathname;
  const original = await Deno.readFile(`${dir}/quote.bin`);
  const c = await readTdxCollateralDir(dir);
  const now = new Date("2025-06-19T11:32:27Z");
  for (const at of [100, 600, 640, 700, 800, 1200, 1280]) {
    const q = original.slice();
    q[at]! ^= 1;
    assert.deepEqual(await ours(q, c, now), { ok: false }, `contrast, byte ${at}`);
    assert.deepEqual(qvl(q, c, now), { ok: false }, `dcap-qvl, byte ${at}`);
  }
  const late = new Date("2025-08-01T00:00:00Z");
  assert.deepEqual(await ours(original, c, late), { ok: false });
  assert.deepEqual(qvl(original, c, late), { ok: false });
});

Deno.test("dcap-qvl and contrast agree on simulated quotes under the simulated root", async () => {
  const authority = await SimulatedTdxAuthority.generate();
  const now = new Date();
  const quote = await authority.createQuote({ reportData: new Uint8Array(64).fill(1) });
  const root = authority.rootCertificateDer;
  const anchor = await authority.rootFingerprint();
  for (const status of ["UpToDate", "SWHardeningNeeded", "OutOfDate"] as const) {
    const c = await authority.collateral({
      now,
      tcbStatus: status,
      advisoryIds: ["INTEL-SA-00001"],
    });
    const a = await ours(quote, c, now, anchor);
    assert.deepEqual(a, qvl(quote, c, now, root), status);
    assert.ok(a.ok && a.status === status);
  }
  const revoked = await authority.collateral({ now, revokePck: true });
  assert.deepEqual(await ours(quote, revoked, now, anchor), { ok: false });
  assert.deepEqual(qvl(quote, revoked, now, root), { ok: false });
});

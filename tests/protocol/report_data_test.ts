import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import {
  type CoordinatorBinding,
  coordinatorReportData,
  meshReportData,
} from "../../protocol/report_data.ts";

const base: CoordinatorBinding = {
  nonce: new Uint8Array(32).fill(1),
  tlsSpki: new Uint8Array([1, 2, 3]),
  hpkePublicKey: new Uint8Array(32).fill(2),
  latestTransition: new Uint8Array(32).fill(3),
  caPems: ["root", "mesh"],
};

Deno.test("coordinator report data is 64 bytes and deterministic", async () => {
  const a = await coordinatorReportData(base);
  assert.equal(a.length, 64);
  assert.deepEqual(a, await coordinatorReportData({ ...base }));
});

Deno.test("coordinator report data changes with every bound input", async () => {
  const a = await coordinatorReportData(base);
  const variants: CoordinatorBinding[] = [
    { ...base, nonce: new Uint8Array(32).fill(9) },
    { ...base, tlsSpki: new Uint8Array([1, 2, 4]) },
    { ...base, hpkePublicKey: new Uint8Array(32).fill(7) },
    { ...base, latestTransition: new Uint8Array(32).fill(4) },
    { ...base, latestTransition: undefined },
    { ...base, caPems: ["root", "mesh2"] },
    { ...base, caPems: ["mesh", "root"] },
    { ...base, caPems: ["root"] },
  ];
  for (const v of variants) assert.notDeepEqual(await coordinatorReportData(v), a);
});

Deno.test("rejects a nonce that is not 32 bytes", async () => {
  await assert.rejects(
    coordinatorReportData({ ...base, nonce: new Uint8Array(31) }),
    (e: unknown) => e instanceof ParseError && e.field === "nonce",
  );
  await assert.rejects(
    meshReportData({
      nonce: new Uint8Array(33),
      leafSpki: new Uint8Array(1),
      hpkePublicKey: base.hpkePublicKey,
    }),
    ParseError,
  );
});

Deno.test("mesh report data binds nonce, leaf key and HPKE key, and differs from the coordinator's", async () => {
  const m = { nonce: base.nonce, leafSpki: base.tlsSpki, hpkePublicKey: base.hpkePublicKey };
  const a = await meshReportData(m);
  assert.notDeepEqual(await meshReportData({ ...m, nonce: new Uint8Array(32) }), a);
  assert.notDeepEqual(await meshReportData({ ...m, leafSpki: new Uint8Array([9]) }), a);
  assert.notDeepEqual(await meshReportData({ ...m, hpkePublicKey: new Uint8Array(32) }), a);
  assert.notDeepEqual(
    await coordinatorReportData({ ...base, caPems: [], latestTransition: undefined }),
    a,
  );
});

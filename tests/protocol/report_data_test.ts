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

Deno.test("coordinator report data rejects a nonce that is not 32 bytes", async () => {
  await assert.rejects(
    coordinatorReportData({ ...base, nonce: new Uint8Array(31) }),
    (e: unknown) => e instanceof ParseError && e.field === "nonce",
  );
});

Deno.test("mesh report data refuses a channel binding that is not 32 bytes", async () => {
  for (const length of [0, 31, 33, 48]) {
    await assert.rejects(
      meshReportData({ channelBinding: new Uint8Array(length), leafSpki: new Uint8Array(1) }),
      (e: unknown) => e instanceof ParseError && e.field === "channelBinding",
    );
  }
});

Deno.test("mesh report data binds channel binding and leaf key, and differs from the coordinator's", async () => {
  const m = { channelBinding: base.nonce, leafSpki: base.tlsSpki };
  const a = await meshReportData(m);
  assert.equal(a.length, 64);
  assert.deepEqual(await meshReportData({ ...m }), a);
  assert.notDeepEqual(await meshReportData({ ...m, channelBinding: new Uint8Array(32) }), a);
  assert.notDeepEqual(await meshReportData({ ...m, leafSpki: new Uint8Array([9]) }), a);
  assert.notDeepEqual(
    await coordinatorReportData({ ...base, caPems: [], latestTransition: undefined }),
    a,
  );
});

import { strict as assert } from "node:assert";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { ConfigfsTsm } from "../../evidence/configfs_tsm.ts";
import { emulatedTsmFileSystem, TsmEmulator } from "../../testing/tsm_emulator.ts";
import { getTdxQuote } from "../../tdx/guest.ts";
import { simulatedTdxTsmProvider } from "../../testing/tdx/tsm_provider.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import { verifyTdxQuote } from "../../tdx/verify/verify_quote.ts";

async function withEmulator(
  provider: ConstructorParameters<typeof TsmEmulator>[0]["provider"],
  fn: (tsm: ConfigfsTsm) => Promise<void>,
) {
  const root = await Deno.makeTempDir();
  const emulator = new TsmEmulator({ root, provider });
  await emulator.start();
  try {
    await fn(new ConfigfsTsm({ root, fs: emulatedTsmFileSystem }));
  } finally {
    await emulator.stop();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a guest quote through (emulated) configfs-tsm binds the report data and verifies", async () => {
  const authority = await SimulatedTdxAuthority.generate();
  const mrTd = new Uint8Array(48).fill(0x3c);
  await withEmulator(simulatedTdxTsmProvider(authority, { mrTd }), async (tsm) => {
    const reportData = crypto.getRandomValues(new Uint8Array(64));
    const q = await getTdxQuote(reportData, tsm);
    assert.deepEqual(q.parsed.body.reportData, reportData);
    assert.deepEqual(q.parsed.body.mrTd, mrTd);
    const now = new Date();
    const v = await verifyTdxQuote(q.quote, {
      now,
      trustAnchors: [await authority.rootFingerprint()],
      collateral: await authority.collateral({ now }),
    });
    assert.equal(v.tcb.status, "UpToDate");
  });
});

Deno.test("a non-TDX configfs-tsm provider is refused", async () => {
  await withEmulator({
    name: "sev_guest",
    produce: () => Promise.resolve({ outblob: new Uint8Array(1184) }),
  }, async (tsm) => {
    await assert.rejects(
      getTdxQuote(new Uint8Array(64), tsm),
      (e: unknown) => e instanceof UnavailableError && e.field === "configfs-tsm.provider",
    );
  });
});

Deno.test("a quote that does not carry the written report data is refused", async () => {
  const authority = await SimulatedTdxAuthority.generate();
  await withEmulator({
    name: "tdx_guest",
    produce: () =>
      authority.createQuote({ reportData: new Uint8Array(64).fill(9) }).then((outblob) => ({
        outblob,
      })),
  }, async (tsm) => {
    await assert.rejects(
      getTdxQuote(new Uint8Array(64).fill(1), tsm),
      (e: unknown) => e instanceof VerificationError && e.field === "quote.body.reportData",
    );
  });
});

import assert from "node:assert/strict";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { ConfigfsTsm } from "../../evidence/mod.ts";
import {
  emulatedTsmFileSystem,
  TsmEmulator,
  type TsmProvider,
} from "../../testing/tsm_emulator.ts";
import { SnpGuest } from "../../snp/guest.ts";
import { simulatedSnpTsmProvider } from "../../testing/snp/mod.ts";
import { SnpEvidenceVerifier } from "../../snp/verifier.ts";
import { sharedAuthority } from "./simulated_fixture.ts";

async function withGuest(provider: TsmProvider, fn: (guest: SnpGuest) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "contrast-snp-guest-" });
  const root = `${dir}/tsm/report`;
  const emulator = new TsmEmulator({ root, provider });
  await emulator.start();
  try {
    await fn(new SnpGuest({ tsm: new ConfigfsTsm({ root, fs: emulatedTsmFileSystem }) }));
    assert.deepEqual(emulator.errors, []);
  } finally {
    await emulator.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a guest obtains verifiable SNP evidence through configfs-tsm", async () => {
  const authority = await sharedAuthority("Milan");
  const hostData = new Uint8Array(32).fill(0x5a);
  await withGuest(simulatedSnpTsmProvider(authority, { hostData }), async (guest) => {
    const reportData = Uint8Array.from({ length: 64 }, (_, i) => i);
    const got = await guest.getEvidence(reportData, { vmpl: 1 });
    assert.equal(got.report.vmpl, 1);
    assert.deepEqual(got.certificates.map((c) => c.kind), ["VCEK", "ASK", "ARK"]);
    const verifier = new SnpEvidenceVerifier({
      // The report was asked for at VMPL 1, so the reference value names VMPL 1.
      referenceValues: [{ ...authority.referenceValue(), VMPL: 1 }],
      hostData,
    });
    const claims = await verifier.verify(got.evidence, { reportData, now: new Date() });
    assert.deepEqual(claims.hostData, hostData);
  });
});

Deno.test("a guest rejects a provider that is not sev_guest", async () => {
  const authority = await sharedAuthority("Milan");
  const provider = { ...simulatedSnpTsmProvider(authority), name: "tdx_guest" };
  await withGuest(provider, async (guest) => {
    await assert.rejects(
      guest.getEvidence(new Uint8Array(64)),
      (e: unknown) => e instanceof UnavailableError && e.field === "provider",
    );
  });
});

Deno.test("a guest rejects a report that does not carry the requested report data", async () => {
  const authority = await sharedAuthority("Milan");
  const inner = simulatedSnpTsmProvider(authority);
  const provider: TsmProvider = {
    name: inner.name,
    produce: (inblob, o) => inner.produce(inblob.map((b) => b ^ 1), o),
  };
  await withGuest(provider, async (guest) => {
    await assert.rejects(
      guest.getEvidence(new Uint8Array(64)),
      (e: unknown) => e instanceof VerificationError && e.field === "report.report_data",
    );
  });
});

Deno.test("without configfs-tsm the guest says what is unavailable", async () => {
  const guest = new SnpGuest({ root: "/nonexistent/contrast/tsm/report" });
  await assert.rejects(guest.getEvidence(new Uint8Array(64)), UnavailableError);
});

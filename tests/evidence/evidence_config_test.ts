import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { evidenceSourceFrom } from "../../evidence/evidence_config.ts";
import { simulatedEvidenceSource } from "../../testing/simulated_evidence.ts";
import { snpAuthority } from "../coordinator/fixture.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

Deno.test("refuses the simulated TEE unless explicitly allowed", async () => {
  await assert.rejects(
    evidenceSourceFrom({ kind: "simulated-snp", allowSimulated: false }),
    (e: unknown) => e instanceof ParseError && /--allow-simulated/.test(e.message),
  );
});

Deno.test("the simulated TEE needs its authority and HOST_DATA", async () => {
  await assert.rejects(
    evidenceSourceFrom({ kind: "simulated-snp", allowSimulated: true }),
    (e: unknown) => e instanceof ParseError && e.field === "simulated-authority",
  );
  await assert.rejects(
    evidenceSourceFrom({
      kind: "simulated-snp",
      allowSimulated: true,
      simulatedAuthorityDir: "/x",
    }),
    (e: unknown) => e instanceof ParseError && e.field === "simulated-host-data",
  );
});

Deno.test("a simulated source produces evidence with its HOST_DATA", () =>
  withTempDir(async (dir) => {
    await (await snpAuthority()).save(dir);
    const source = await evidenceSourceFrom({
      kind: "simulated-snp",
      allowSimulated: true,
      simulatedAuthorityDir: dir,
      simulatedHostData: "ab".repeat(32),
    }, simulatedEvidenceSource);
    const evidence = await source.getEvidence(new Uint8Array(64).fill(1));
    assert.equal(evidence.platform, "snp");
    assert.equal(encodeHex(evidence.report.subarray(0xc0, 0xe0)), "ab".repeat(32));
    await assert.rejects(
      evidenceSourceFrom({
        kind: "simulated-snp",
        allowSimulated: true,
        simulatedAuthorityDir: dir,
        simulatedHostData: "ab",
      }, simulatedEvidenceSource),
      ParseError,
    );
  }));

Deno.test("configfs-tsm is unavailable outside a confidential VM; unknown kinds are refused", async () => {
  await assert.rejects(
    evidenceSourceFrom({
      kind: "configfs-tsm",
      allowSimulated: false,
      configfsTsmDir: "/nonexistent/tsm",
    }),
    UnavailableError,
  );
  await assert.rejects(evidenceSourceFrom({ kind: "sgx", allowSimulated: true }), ParseError);
});

Deno.test("a program without a simulated TEE refuses --evidence simulated-* even when allowed", async () => {
  await assert.rejects(
    evidenceSourceFrom({
      kind: "simulated-tdx",
      allowSimulated: true,
      simulatedAuthorityDir: "/x",
      simulatedHostData: "ab".repeat(32),
    }),
    (e: unknown) => e instanceof ParseError && /offers no simulated TEE/.test(e.message),
  );
});

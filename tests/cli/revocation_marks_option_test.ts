/**
 * Where `contrast evidence verify` keeps its revocation marks: in the collateral cache it uses
 * (`--cache-dir D` → `D/collateral/revocation-marks.json`), read-only when asked, and in memory
 * only with `--now` (a mark from a later run says nothing about an earlier time).
 */
import assert from "node:assert/strict";
import { revocationMarksFor } from "../../cli/options.ts";
import { CRL_MARK_NAMES, RevocationRollbackError } from "../../collateral/mod.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const candidate = (number: bigint) => ({
  key: "amd-crl Milan VCEK ark=test",
  field: "crl",
  names: CRL_MARK_NAMES,
  mark: { number, issued: new Date("2026-12-01T00:00:00Z") },
});

Deno.test("evidence verify keeps its marks in <cache-dir>/collateral, none with --now, unwritten when read-only", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/collateral/revocation-marks.json`;
    const marks = revocationMarksFor({ cacheDir: dir });
    assert.equal(marks.file, file);
    await marks.accept([candidate(7n)]);
    await assert.rejects(
      revocationMarksFor({ cacheDir: dir }).accept([candidate(6n)]),
      RevocationRollbackError,
    );
    // --now: memory only, the file neither read nor written.
    const replay = revocationMarksFor({ cacheDir: dir, now: "2026-06-01T00:00:00Z" });
    assert.equal(replay.file, undefined);
    await replay.accept([candidate(6n)]);
    const readOnly = revocationMarksFor({ cacheDir: dir }, { readOnly: true });
    await readOnly.accept([candidate(8n)]);
    assert.deepEqual(
      Object.values(JSON.parse(await Deno.readTextFile(file)).marks),
      [{ number: "7", issued: "2026-12-01T00:00:00.000Z" }],
    );
  });
});

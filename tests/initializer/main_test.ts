import assert from "node:assert/strict";
import { initializerMain } from "../../initializer/main.ts";
import { runDenoScript } from "../../testing/simulation/processes.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

async function isEmpty(dir: string): Promise<boolean> {
  for await (const _ of Deno.readDir(dir)) return false;
  return true;
}

Deno.test("exits 1 without a trust document, before contacting anyone or writing anything", () =>
  withTempDir(async (out) => {
    // Port 9 (discard): nothing listens, and nothing must be attempted anyway.
    const r = await runDenoScript("initializer/main.ts", [
      "--coordinator",
      "127.0.0.1:9",
      "--tls-config-dir",
      `${out}/tls`,
      "--secrets-dir",
      `${out}/secrets`,
      "--deadline-seconds",
      "1",
    ], out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CONTRAST_COORDINATOR_TRUST: required/);
    assert.match(r.stderr, /refusing to trust an unattested Coordinator/);
    assert.ok(await isEmpty(out), "nothing written");
  }));

Deno.test("exits 1 with a malformed trust document, naming the field", async () => {
  const out = await Deno.makeTempDir();
  const errors: string[] = [];
  const original = console.error;
  try {
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    const code = await initializerMain([
      "--coordinator",
      "127.0.0.1:9",
      "--tls-config-dir",
      `${out}/tls`,
      "--coordinator-trust",
      `{"CoordinatorPolicyHash":"00","ReferenceValues":{"snp":[],"tdx":[]}}`,
    ]);
    assert.equal(code, 1);
    assert.match(errors.join("\n"), /CONTRAST_COORDINATOR_TRUST\.CoordinatorPolicyHash/);
    assert.ok(await isEmpty(out), "nothing written");
  } finally {
    console.error = original;
    await Deno.remove(out, { recursive: true });
  }
});

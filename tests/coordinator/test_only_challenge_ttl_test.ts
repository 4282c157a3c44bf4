import assert from "node:assert/strict";
import { ContrastError } from "../../util/errors/mod.ts";
import {
  TEST_ONLY_CHALLENGE_TTL_FLAG,
  testOnlyChallengeTtlMs,
} from "../../coordinator/test_only_challenge_ttl.ts";
import { startOnRealEvidence } from "../helpers/coordinator_process.ts";

Deno.test("test-only challenge lifetime: unset means the normal 60 s", () => {
  assert.equal(testOnlyChallengeTtlMs(undefined, "configfs-tsm"), undefined);
  assert.equal(testOnlyChallengeTtlMs("", "simulated-snp"), undefined);
});

Deno.test("test-only challenge lifetime: accepted on the simulated TEE, in ms", () => {
  assert.equal(testOnlyChallengeTtlMs("600", "simulated-snp"), 600_000);
  assert.equal(testOnlyChallengeTtlMs("1", "simulated-tdx"), 1_000);
  assert.equal(testOnlyChallengeTtlMs("3600", "simulated-snp"), 3_600_000);
});

Deno.test("test-only challenge lifetime: refused outside the simulated TEE", () => {
  for (const kind of ["configfs-tsm", "", "snp"]) {
    assert.throws(
      () => testOnlyChallengeTtlMs("600", kind),
      (e: unknown) =>
        e instanceof ContrastError && e.field === TEST_ONLY_CHALLENGE_TTL_FLAG &&
        /simulated TEE/.test(e.message),
      kind,
    );
  }
});

Deno.test("test-only challenge lifetime: malformed or out-of-range values are refused", () => {
  for (const raw of ["0", "-5", "1.5", "1e3", " 20", "20s", "abc", "3601"]) {
    assert.throws(
      () => testOnlyChallengeTtlMs(raw, "simulated-snp"),
      (e: unknown) =>
        e instanceof ContrastError && e.field === TEST_ONLY_CHALLENGE_TTL_FLAG &&
        /whole number of seconds/.test(e.message),
      raw,
    );
  }
});

Deno.test({
  name: "coordinator: the test-only challenge lifetime with real evidence stops the start (exit 1)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { code, stderr } = await startOnRealEvidence(`--${TEST_ONLY_CHALLENGE_TTL_FLAG}`, "600");
    assert.equal(code, 1, stderr);
    assert.match(stderr, /test-only-challenge-ttl-seconds.*simulated TEE/);
  },
});

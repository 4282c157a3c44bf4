import assert from "node:assert/strict";
import { ContrastError } from "../../../util/errors/mod.ts";
import {
  TEST_ONLY_VALIDITY_FLAG,
  testOnlyMeshCertificateValidityMs,
} from "../../../coordinator/ca/test_only_validity.ts";
import { LEAF_VALIDITY_MS } from "../../../coordinator/ca/certificate_authority.ts";
import { startOnRealEvidence } from "../../helpers/coordinator_process.ts";

Deno.test("test-only mesh certificate validity: unset means the normal validity", () => {
  assert.equal(testOnlyMeshCertificateValidityMs(undefined, "configfs-tsm"), undefined);
  assert.equal(testOnlyMeshCertificateValidityMs("", "configfs-tsm"), undefined);
});

Deno.test("test-only mesh certificate validity: accepted on the simulated TEE, in ms", () => {
  assert.equal(testOnlyMeshCertificateValidityMs("20", "simulated-snp"), 20_000);
  assert.equal(testOnlyMeshCertificateValidityMs("1", "simulated-tdx"), 1_000);
  assert.equal(
    testOnlyMeshCertificateValidityMs(String(LEAF_VALIDITY_MS / 1000), "simulated-snp"),
    LEAF_VALIDITY_MS,
  );
});

Deno.test("test-only mesh certificate validity: refused outside the simulated TEE", () => {
  for (const kind of ["configfs-tsm", "", "snp"]) {
    assert.throws(
      () => testOnlyMeshCertificateValidityMs("20", kind),
      (e: unknown) =>
        e instanceof ContrastError && e.field === TEST_ONLY_VALIDITY_FLAG &&
        /simulated TEE/.test(e.message),
      kind,
    );
  }
});

Deno.test("test-only mesh certificate validity: malformed or out-of-range values are refused", () => {
  const tooLong = String(LEAF_VALIDITY_MS / 1000 + 1);
  for (const raw of ["0", "-5", "1.5", "1e3", " 20", "20s", "abc", tooLong]) {
    assert.throws(
      () => testOnlyMeshCertificateValidityMs(raw, "simulated-snp"),
      (e: unknown) =>
        e instanceof ContrastError && e.field === TEST_ONLY_VALIDITY_FLAG &&
        /whole number of seconds/.test(e.message),
      raw,
    );
  }
});

Deno.test({
  name: "coordinator: the test-only validity with real evidence stops the start (exit 1)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { code, stderr } = await startOnRealEvidence(`--${TEST_ONLY_VALIDITY_FLAG}`, "5");
    assert.equal(code, 1, stderr);
    assert.match(stderr, /test-only-mesh-certificate-validity-seconds.*simulated TEE/);
  },
});

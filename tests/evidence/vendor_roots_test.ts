/**
 * The vendors' pinned roots and the refusal of a vendor root where a simulated root is asked for:
 * the fingerprints are those of the real certificates (computed here from the conformance copies),
 * and every one of them is recognised, whatever its spelling.
 */
import assert from "node:assert/strict";
import {
  AMD_ARK_SHA256,
  INTEL_SGX_ROOT_CA_SHA256,
  simulatedRootRefusal,
  vendorRootNamed,
} from "../../evidence/vendor_roots.ts";
import { conformanceTest } from "../conformance.ts";
import { conformanceCert } from "../x509/vectors.ts";

conformanceTest(
  "the pinned fingerprints are the real vendor roots' (conformance copies)",
  async () => {
    const intel = await conformanceCert("intel/Intel_SGX_Root_CA.pem", "intel");
    assert.equal(await intel.fingerprint(), INTEL_SGX_ROOT_CA_SHA256);
    assert.equal(vendorRootNamed(await intel.fingerprint()), "Intel SGX Root CA");
    for (const product of ["Milan", "Genoa", "Turin"] as const) {
      const ark = await conformanceCert(`amd/${product.toLowerCase()}/ark.pem`, "ark");
      assert.equal(await ark.fingerprint(), AMD_ARK_SHA256[product]);
      assert.equal(vendorRootNamed(await ark.fingerprint()), `AMD ARK-${product}`);
    }
  },
);

Deno.test("a vendor root is recognised in upper case and with colons; anything else is not", () => {
  const colons = AMD_ARK_SHA256.Genoa.toUpperCase().match(/../g)!.join(":");
  assert.equal(vendorRootNamed(colons), "AMD ARK-Genoa");
  assert.equal(vendorRootNamed(INTEL_SGX_ROOT_CA_SHA256.toUpperCase()), "Intel SGX Root CA");
  assert.equal(vendorRootNamed("ab".repeat(32)), undefined);
  assert.equal(simulatedRootRefusal("ab".repeat(32)), undefined);
  assert.match(simulatedRootRefusal(AMD_ARK_SHA256.Milan)!, /^is the fingerprint of AMD ARK-Milan/);
});

import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import {
  canonicalJson,
  COORDINATOR_TRUST_ENV,
  encodeCoordinatorTrust,
  parseCoordinatorTrust,
} from "../../atls/coordinator_trust.ts";
import { coordinatorPolicyDigest } from "../../manifest/manifest.ts";
import { baselineSnpReferenceValue } from "../../snp/reference_values.ts";

const HASH = "ab".repeat(32);
const OWNER_KEY = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
  "sign",
  "verify",
]);
const OWNER = encodeHex(new Uint8Array(await crypto.subtle.exportKey("spki", OWNER_KEY.publicKey)));
const SNP = {
  ...baselineSnpReferenceValue("Metal-QEMU-SNP", "Genoa"),
  TrustedMeasurement: "cd".repeat(48),
};

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidDocumentError) {
      return error.issues.map((i) => `${i.path}: ${i.reason}`);
    }
    throw error;
  }
  assert.fail("expected an InvalidDocumentError");
}

Deno.test("canonical JSON sorts keys at every level and has no whitespace", () => {
  assert.equal(
    canonicalJson({ b: [{ z: 1, a: "x" }], a: { d: null, c: true } }),
    '{"a":{"c":true,"d":null},"b":[{"a":"x","z":1}]}',
  );
});

Deno.test("encodes a trust document that reads back as a one-policy coordinator manifest", () => {
  const text = encodeCoordinatorTrust(HASH, { snp: [SNP], tdx: [] }, [OWNER]);
  assert.ok(text.startsWith(`{"CoordinatorPolicyHash":"${HASH}","ReferenceValues":{"snp":[{`));
  assert.doesNotMatch(text, /\s/);
  const trust = parseCoordinatorTrust(text);
  assert.equal(trust.policyHash, HASH);
  assert.equal(trust.referenceValues.snp.length, 1);
  assert.equal(trust.referenceValues.snp[0]!.TrustedMeasurement, "cd".repeat(48));
  assert.equal(coordinatorPolicyDigest(trust.manifest), HASH);
  assert.deepEqual(Object.keys(trust.manifest.Policies), [HASH]);
  assert.equal(new TextDecoder().decode(trust.manifest.bytes), text);
  assert.deepEqual(trust.workloadOwnerKeys, [OWNER]);
  assert.ok(text.endsWith(`"WorkloadOwnerPubKeys":["${OWNER}"]}`));
});

Deno.test("a trust document pins at least one valid workload owner key", () => {
  const rv = { snp: [SNP], tdx: [] };
  const doc = (keys: unknown) =>
    JSON.stringify({
      CoordinatorPolicyHash: HASH,
      ReferenceValues: rv,
      WorkloadOwnerPubKeys: keys,
    });
  assert.match(
    issuesOf(() =>
      parseCoordinatorTrust(JSON.stringify({ CoordinatorPolicyHash: HASH, ReferenceValues: rv }))
    ).join("\n"),
    /CONTRAST_COORDINATOR_TRUST\.WorkloadOwnerPubKeys: required/,
  );
  assert.match(
    issuesOf(() => parseCoordinatorTrust(doc([]))).join("\n"),
    /WorkloadOwnerPubKeys: at least one workload owner key is required/,
  );
  assert.match(
    issuesOf(() => parseCoordinatorTrust(doc(["zz"]))).join("\n"),
    /WorkloadOwnerPubKeys\[0\]: expected a PKIX DER public key/,
  );
  assert.match(
    issuesOf(() => parseCoordinatorTrust(doc(["3000"]))).join("\n"),
    /WorkloadOwnerPubKeys\[0\]: not a workload owner key/,
  );
});

Deno.test("encoding is deterministic whatever the key order of the input", () => {
  const reordered = Object.fromEntries(Object.entries(SNP).reverse());
  assert.equal(
    encodeCoordinatorTrust(HASH, { snp: [reordered], tdx: [] }, [OWNER]),
    encodeCoordinatorTrust(HASH, { snp: [SNP], tdx: [] }, [OWNER]),
  );
});

Deno.test("rejects a document that is not JSON or not an object, naming the source", () => {
  assert.deepEqual(issuesOf(() => parseCoordinatorTrust("{nope")).map((i) => i.split(":")[0]), [
    COORDINATOR_TRUST_ENV,
  ]);
  assert.match(issuesOf(() => parseCoordinatorTrust("[]"))[0]!, /expected an object, got array/);
  assert.match(
    issuesOf(() => parseCoordinatorTrust("{}", "--coordinator-trust")).join("\n"),
    /--coordinator-trust\.CoordinatorPolicyHash: required/,
  );
});

Deno.test("rejects a malformed policy hash, empty reference values and unknown fields", () => {
  const doc = (o: Record<string, unknown>) => JSON.stringify(o);
  const rv = { snp: [SNP], tdx: [] };
  assert.match(
    issuesOf(() =>
      parseCoordinatorTrust(
        doc({
          CoordinatorPolicyHash: "AB".repeat(32),
          ReferenceValues: rv,
          WorkloadOwnerPubKeys: [OWNER],
        }),
      )
    )[0]!,
    /CONTRAST_COORDINATOR_TRUST\.CoordinatorPolicyHash: expected a SHA-256 digest/,
  );
  assert.match(
    issuesOf(() =>
      parseCoordinatorTrust(doc({ CoordinatorPolicyHash: "ab", ReferenceValues: rv }))
    )[0]!,
    /CoordinatorPolicyHash/,
  );
  assert.match(
    issuesOf(() =>
      parseCoordinatorTrust(
        doc({ CoordinatorPolicyHash: HASH, ReferenceValues: { snp: [], tdx: [] } }),
      )
    )[0]!,
    /ReferenceValues: at least one snp or tdx reference value is required/,
  );
  assert.match(
    issuesOf(() =>
      parseCoordinatorTrust(
        doc({
          CoordinatorPolicyHash: HASH,
          ReferenceValues: rv,
          WorkloadOwnerPubKeys: [OWNER],
          Extra: 1,
        }),
      )
    )[0]!,
    /CONTRAST_COORDINATOR_TRUST\.Extra: unknown field/,
  );
});

Deno.test("rejects invalid reference values with their path, and a simulated entry without its root", () => {
  const bad = { ...SNP, TrustedMeasurement: "zz" };
  assert.match(
    issuesOf(() => encodeCoordinatorTrust(HASH, { snp: [bad], tdx: [] }, [OWNER])).join("\n"),
    /ReferenceValues\.snp\[0\]\.TrustedMeasurement/,
  );
  const simulated = {
    ...baselineSnpReferenceValue("Simulated-SNP", "Milan"),
    TrustedMeasurement: "cd".repeat(48),
  };
  assert.match(
    issuesOf(() => encodeCoordinatorTrust(HASH, { snp: [simulated], tdx: [] }, [OWNER])).join("\n"),
    /ReferenceValues\.snp\[0\]/,
  );
});

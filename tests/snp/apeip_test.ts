/**
 * Contrast's `APEIP` in SNP reference values: read with Contrast's type (a 4-byte HexString, `""`
 * meaning unset) and enforced with its meaning: the report's MEASUREMENT must be the 1-vCPU
 * `TrustedMeasurement` extended to some vCPU count from 1 to 220 with that AP reset EIP.
 * Simulated reports carry chosen measurements; the verification is the real one.
 */
import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { ValidationError } from "../../util/errors/mod.ts";
import { IssueList } from "../../util/json/mod.ts";
import { readSnpReferenceValue, type SnpReferenceValue } from "../../snp/reference_values.ts";
import { snpLaunchDigestsByVcpus, snpVcpuSignature } from "../../snp/abi/vcpu_launch_digest.ts";
import { SnpEvidenceVerifier } from "../../snp/verifier.ts";
import { snpApEipMeasurements } from "../../snp/validate/validate.ts";
import { TEST_REFERENCE_VALUES } from "../policy/fixtures.ts";
import { sharedAuthority } from "./simulated_fixture.ts";

const PATH = "ReferenceValues.snp[0]";
const ONE_VCPU = "5c".repeat(48);
const AP_EIP = "0080b004";
const NOW = new Date("2026-06-01T00:00:00Z");

function read(value: unknown) {
  const issues = new IssueList();
  const result = readSnpReferenceValue(value, PATH, issues);
  return { result, issues: issues.issues.map((i) => `${i.path}: ${i.reason}`) };
}

Deno.test('APEIP is read as Contrast writes it: 4 bytes of hex; "" or null is unset', () => {
  const base = TEST_REFERENCE_VALUES.snp[0]!;
  assert.equal(read({ ...base, APEIP: "0080B004" }).result?.APEIP, AP_EIP);
  for (const unset of ["", null]) {
    const { result, issues } = read({ ...base, APEIP: unset });
    assert.deepEqual(issues, []);
    assert.equal(result?.APEIP, undefined);
  }
});

Deno.test("APEIP refusals name the field: wrong size, not hex, not a string, Turin", () => {
  const base = TEST_REFERENCE_VALUES.snp[0]!;
  assert.deepEqual(read({ ...base, APEIP: "80b004" }).issues, [
    `${PATH}.APEIP: expected 4 bytes (8 hex digits), got 3 bytes`,
  ]);
  assert.deepEqual(read({ ...base, APEIP: "0080b0zz" }).issues, [
    `${PATH}.APEIP: expected a hex string`,
  ]);
  assert.deepEqual(read({ ...base, APEIP: 8433668 }).issues, [
    `${PATH}.APEIP: expected a string, got number`,
  ]);
  const turin = {
    ...base,
    ProductName: "Turin",
    MinimumTCB: { ...base.MinimumTCB, FMCVersion: 0 },
    APEIP: AP_EIP,
  };
  assert.deepEqual(read(turin).issues, [
    `${PATH}.APEIP: no vCPU model is known for Turin to derive launch digests with (Milan, Genoa)`,
  ]);
});

/** The launch digest of `vcpus` vCPUs derived from ONE_VCPU with `apEip` on Genoa. */
function digestFor(vcpus: number, apEip = AP_EIP): Uint8Array {
  const eip = Number.parseInt(apEip, 16);
  const all = [
    ...snpLaunchDigestsByVcpus(decodeHex(ONE_VCPU), eip, snpVcpuSignature("Genoa")!, vcpus),
  ];
  return all[vcpus - 1]!;
}

async function verify(measurement: Uint8Array, ref: Partial<SnpReferenceValue>) {
  const authority = await sharedAuthority("Genoa");
  const reportData = new Uint8Array(64).fill(3);
  const { report, aux } = await authority.createReport({ reportData, measurement });
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [authority.referenceValue({ TrustedMeasurement: ONE_VCPU, ...ref })],
    requireRevocationCheck: false,
  });
  return await verifier.verify({ platform: "snp", report, aux }, { reportData, now: NOW });
}

Deno.test("with APEIP a report launched with 1, 4 or 220 vCPUs of the trusted image is accepted", async () => {
  for (const vcpus of [1, 4, 220]) {
    const claims = await verify(digestFor(vcpus), { APEIP: AP_EIP });
    assert.equal(encodeHex(claims.measurement), encodeHex(digestFor(vcpus)), `${vcpus} vCPUs`);
  }
});

Deno.test("with APEIP: another AP reset EIP, more than 220 vCPUs or another image are refused at report.measurement", async () => {
  const refused = [
    digestFor(4, "0080b014"), // the same image measured with another firmware's AP reset EIP
    digestFor(221), // beyond Contrast's bound
    new Uint8Array(48).fill(0x77), // another image
  ];
  for (const measurement of refused) {
    await assert.rejects(
      verify(measurement, { APEIP: AP_EIP }),
      (e: unknown) =>
        e instanceof ValidationError && e.field === "report.measurement" &&
        /any vCPU count from 1 to 220 with APEIP 0080b004/.test(e.message),
    );
  }
});

Deno.test("without APEIP only the exact TrustedMeasurement is accepted (no vCPU extension)", async () => {
  await verify(decodeHex(ONE_VCPU), {});
  await assert.rejects(
    verify(digestFor(2), {}),
    (e: unknown) => e instanceof ValidationError && e.field === "report.measurement",
  );
});

Deno.test("a hand-built APEIP entry without TrustedMeasurement refuses every report", async () => {
  const authority = await sharedAuthority("Genoa");
  const reportData = new Uint8Array(64);
  const { report, aux } = await authority.createReport({ reportData });
  const ref = { ...authority.referenceValue({ APEIP: AP_EIP }) };
  delete (ref as { TrustedMeasurement?: string }).TrustedMeasurement;
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [ref],
    requireRevocationCheck: false,
  });
  await assert.rejects(
    verifier.verify({ platform: "snp", report, aux }, { reportData, now: NOW }),
    (e: unknown) => e instanceof ValidationError && e.field === "referenceValue.APEIP",
  );
});

Deno.test("one verifier derives an APEIP value's measurements once and decides as before for every report", async () => {
  const authority = await sharedAuthority("Genoa");
  const reportData = new Uint8Array(64).fill(3);
  const other = "0080b014";
  const verifier = new SnpEvidenceVerifier({
    referenceValues: [
      authority.referenceValue({ TrustedMeasurement: ONE_VCPU, APEIP: AP_EIP }),
      authority.referenceValue({ TrustedMeasurement: "6d".repeat(48), APEIP: other }),
    ],
    requireRevocationCheck: false,
  });
  const check = async (measurement: Uint8Array) => {
    const { report, aux } = await authority.createReport({ reportData, measurement });
    return await verifier.verify({ platform: "snp", report, aux }, { reportData, now: NOW });
  };
  for (const vcpus of [1, 4, 220, 2]) {
    const claims = await check(digestFor(vcpus));
    assert.equal(claims.referenceValueIndex, 0, `${vcpus} vCPUs`);
  }
  // The second value's own measurements (its image, its EIP), from the same verifier.
  const second = [
    ...snpLaunchDigestsByVcpus(
      decodeHex("6d".repeat(48)),
      0x0080b014,
      snpVcpuSignature("Genoa")!,
      3,
    ),
  ][2]!;
  assert.equal((await check(second)).referenceValueIndex, 1);
  for (const measurement of [digestFor(4, other), digestFor(221), new Uint8Array(48).fill(0x77)]) {
    await assert.rejects(
      check(measurement),
      (e: unknown) => e instanceof ValidationError && /report\.measurement/.test(e.message),
    );
  }
});

Deno.test("snpApEipMeasurements: the generator's 220 digests, or none for a value that cannot have them", async () => {
  const ref = (await sharedAuthority("Genoa")).referenceValue();
  const set = snpApEipMeasurements({ ...ref, TrustedMeasurement: ONE_VCPU, APEIP: AP_EIP })!;
  assert.equal(set.size, 220);
  for (const vcpus of [1, 2, 220]) assert.ok(set.has(encodeHex(digestFor(vcpus))));
  assert.ok(!set.has(encodeHex(digestFor(221))));
  assert.equal(snpApEipMeasurements({ ...ref, TrustedMeasurement: ONE_VCPU }), undefined);
  const noMeasurement: SnpReferenceValue = { ...ref, APEIP: AP_EIP };
  delete (noMeasurement as { TrustedMeasurement?: string }).TrustedMeasurement;
  assert.equal(snpApEipMeasurements(noMeasurement), undefined);
  assert.equal(
    snpApEipMeasurements({
      ...ref,
      ProductName: "Turin",
      TrustedMeasurement: ONE_VCPU,
      APEIP: AP_EIP,
    }),
    undefined,
  );
  assert.equal(
    snpApEipMeasurements({ ...ref, TrustedMeasurement: ONE_VCPU, APEIP: "zz" }),
    undefined,
  );
});

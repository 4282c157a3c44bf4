import assert from "node:assert/strict";
import { ValidationError } from "../../../util/errors/mod.ts";
import {
  assembleSnpReport,
  encodeSnpReportBody,
  type SnpReportFields,
} from "../../../snp/abi/encode.ts";
import { encodeGuestPolicy, type SnpGuestPolicyParts } from "../../../snp/abi/policy.ts";
import { parseSnpReport } from "../../../snp/abi/report.ts";
import { encodeTcb } from "../../../snp/abi/tcb.ts";
import {
  defaultSnpReferenceValues,
  type SnpReferenceValue,
} from "../../../snp/reference_values.ts";
import { validateSnpReport } from "../../../snp/validate/validate.ts";

// Validation runs on reports whose signature was already checked; these tests build unsigned
// reports with chosen fields, because validation never looks at the signature.
function report(fields: SnpReportFields & { policyParts?: SnpGuestPolicyParts } = {}) {
  const body = encodeSnpReportBody({
    version: 3,
    cpuid: { family: 0x19, model: 0x11, stepping: 1 },
    policy: encodeGuestPolicy(fields.policyParts ?? { smt: true }),
    ...fields,
  });
  return parseSnpReport(assembleSnpReport(body, new Uint8Array(48), new Uint8Array(48)));
}

function genoa(overrides: Partial<SnpReferenceValue> = {}): SnpReferenceValue {
  return { ...defaultSnpReferenceValues().find((r) => r.ProductName === "Genoa")!, ...overrides };
}

function policy(overrides: Partial<SnpReferenceValue["GuestPolicy"]>) {
  return genoa({ GuestPolicy: { ...genoa().GuestPolicy, ...overrides } });
}

function fails(run: () => void, field: string) {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.equal(e.field, field, e.message);
    return true;
  });
}

/** Asserts that `r`, as a Genoa report, fails `reference` on `field`. */
function failsGenoa(r: ReturnType<typeof report>, reference: SnpReferenceValue, field: string) {
  fails(() => validateSnpReport(r, "Genoa", reference), field);
}

/** Platform info with every feature off (so neither allowed nor required). */
const NO_PLATFORM_FEATURES: NonNullable<SnpReferenceValue["PlatformInfo"]> = {
  SMTEnabled: false,
  TSMEEnabled: false,
  ECCEnabled: false,
  RAPLDisabled: false,
  CiphertextHidingDRAMEnabled: false,
  AliasCheckComplete: false,
  TIOEnabled: false,
};

/** Genoa reference values with PlatformInfo: every feature off except those in `features`. */
function platform(features: Partial<typeof NO_PLATFORM_FEATURES>): SnpReferenceValue {
  return genoa({ PlatformInfo: { ...NO_PLATFORM_FEATURES, ...features } });
}

Deno.test("accepts a report that meets the default reference values", () => {
  validateSnpReport(report(), "Genoa", genoa());
});

Deno.test("rejects a product other than the reference value's", () => {
  fails(() => validateSnpReport(report(), "Milan", genoa()), "product");
});

Deno.test("rejects a migration agent unless allowed", () => {
  const r = report({ policyParts: { smt: true, migrateMa: true } });
  fails(() => validateSnpReport(r, "Genoa", genoa()), "report.policy.migrate_ma");
  validateSnpReport(r, "Genoa", policy({ MigrateMA: true }));
});

Deno.test("rejects SMT when the reference values forbid it", () => {
  fails(() => validateSnpReport(report(), "Genoa", policy({ SMT: false })), "report.policy.smt");
  validateSnpReport(report({ policyParts: {} }), "Genoa", policy({ SMT: false }));
});

Deno.test("rejects CXL unless allowed", () => {
  const r = report({ policyParts: { smt: true, cxlAllowed: true } });
  fails(() => validateSnpReport(r, "Genoa", genoa()), "report.policy.cxl_allow");
});

Deno.test("requires single socket, AES-256-XTS, RAPL off, ciphertext hiding, no page swap when asked", () => {
  const cases: [Partial<SnpReferenceValue["GuestPolicy"]>, SnpGuestPolicyParts, string][] = [
    [{ SingleSocket: true }, { singleSocket: true }, "report.policy.single_socket"],
    [{ MemAES256XTS: true }, { memAes256Xts: true }, "report.policy.mem_aes_256_xts"],
    [{ RAPLDis: true }, { raplDis: true }, "report.policy.rapl_dis"],
    [
      { CipherTextHidingDRAM: true },
      { ciphertextHidingDram: true },
      "report.policy.ciphertext_hiding_dram",
    ],
    [{ PageSwapDisable: true }, { pageSwapDisable: true }, "report.policy.page_swap_disable"],
  ];
  for (const [required, bits, field] of cases) {
    fails(() => validateSnpReport(report(), "Genoa", policy(required)), field);
    validateSnpReport(report({ policyParts: { smt: true, ...bits } }), "Genoa", policy(required));
  }
});

Deno.test("rejects a guest policy ABI below the minimum", () => {
  const r = report({ policyParts: { smt: true, abiMajor: 1, abiMinor: 51 } });
  validateSnpReport(r, "Genoa", policy({ ABIMajor: 1, ABIMinor: 51 }));
  fails(
    () => validateSnpReport(r, "Genoa", policy({ ABIMajor: 1, ABIMinor: 52 })),
    "report.policy.abi",
  );
  fails(
    () => validateSnpReport(r, "Genoa", policy({ ABIMajor: 2, ABIMinor: 0 })),
    "report.policy.abi",
  );
});

Deno.test("checks platform info allowances and requirements when given", () => {
  const smtPlatform = report({ platformInfo: 0x1n });
  validateSnpReport(smtPlatform, "Genoa", genoa()); // absent PlatformInfo: not checked
  failsGenoa(smtPlatform, platform({}), "report.platform_info.smt_enabled");
  validateSnpReport(smtPlatform, "Genoa", platform({ SMTEnabled: true }));
  failsGenoa(report({ platformInfo: 0x2n }), platform({}), "report.platform_info.tsme_enabled");
  failsGenoa(report(), platform({ ECCEnabled: true }), "report.platform_info.ecc_enabled");
  failsGenoa(
    report(),
    platform({ AliasCheckComplete: true }),
    "report.platform_info.alias_check_complete",
  );
  validateSnpReport(
    report({ platformInfo: 0x24n }),
    "Genoa",
    platform({ ECCEnabled: true, AliasCheckComplete: true }),
  );
});

Deno.test("rejects wrong host data and accepts the exact one", () => {
  const hostData = new Uint8Array(32).fill(9);
  const r = report({ hostData });
  validateSnpReport(r, "Genoa", genoa(), { hostData });
  fails(
    () => validateSnpReport(r, "Genoa", genoa(), { hostData: new Uint8Array(32) }),
    "report.host_data",
  );
});

Deno.test("a masked chip ID is rejected when chip IDs are restricted", () => {
  const r = report({ signerInfo: 2 });
  fails(
    () => validateSnpReport(r, "Genoa", genoa({ AllowedChipIDs: ["11".repeat(64)] })),
    "report.chip_id",
  );
});

Deno.test("rejects a platform with SEV-TIO unless allowed, and one missing RAPL_DIS or ciphertext hiding when required", () => {
  const smt = { SMTEnabled: true };
  const tio = report({ platformInfo: 0x80n });
  failsGenoa(tio, platform(smt), "report.platform_info.tio_enabled");
  validateSnpReport(tio, "Genoa", platform({ ...smt, TIOEnabled: true }));
  const rapl = platform({ ...smt, RAPLDisabled: true });
  failsGenoa(report(), rapl, "report.platform_info.rapl_disabled");
  validateSnpReport(report({ platformInfo: 0x8n }), "Genoa", rapl);
  const hiding = platform({ ...smt, CiphertextHidingDRAMEnabled: true });
  failsGenoa(report(), hiding, "report.platform_info.ciphertext_hiding_dram_enabled");
  validateSnpReport(report({ platformInfo: 0x10n }), "Genoa", hiding);
});

Deno.test("MinimumMitigationVector (Contrast): its bits must be set in the launch and current vectors", () => {
  const v5 = (launch: bigint, current: bigint) =>
    report({ version: 5, launchMitVector: launch, currentMitVector: current });
  const required = genoa({ MinimumMitigationVector: 0b101 });
  validateSnpReport(v5(0b111n, 0b101n), "Genoa", required);
  failsGenoa(v5(0b001n, 0b101n), required, "report.launch_mit_vector");
  failsGenoa(v5(0b101n, 0b100n), required, "report.current_mit_vector");
  // Reports before version 5 have no mitigation vector (0x1F8..0x207 are reserved there, as
  // go-sev-guest reads them): a non-zero requirement fails, zero checks nothing.
  failsGenoa(report(), required, "report.launch_mit_vector");
  failsGenoa(report({ version: 4 }), required, "report.launch_mit_vector");
  validateSnpReport(report({ version: 4 }), "Genoa", genoa({ MinimumMitigationVector: 0 }));
  validateSnpReport(report(), "Genoa", genoa({ MinimumMitigationVector: 0 }));
  validateSnpReport(v5(0n, 0n), "Genoa", genoa());
});

Deno.test("rejects a CURRENT_TCB below the minimum even when the other TCBs meet it", () => {
  // The TCB the firmware actually runs is CURRENT_TCB; REPORTED_TCB is what the host chose to
  // report (and the VCEK is derived from). go-sev-guest requires minimum <= reported <= current.
  const tcb = (snp: number) =>
    encodeTcb({ bootloader: 0, tee: 0, snp, microcode: 0 }, "milan-genoa").raw;
  const reference = genoa({
    MinimumTCB: { BootloaderVersion: 0, TEEVersion: 0, SNPVersion: 10, MicrocodeVersion: 0 },
  });
  const at = (current: number) =>
    report({
      currentTcb: tcb(current),
      reportedTcb: tcb(10),
      committedTcb: tcb(10),
      launchTcb: tcb(10),
    });
  validateSnpReport(at(10), "Genoa", reference);
  failsGenoa(at(9), reference, "report.current_tcb.snp");
});

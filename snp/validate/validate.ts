/**
 * Validation of a genuine (already signature- and chain-checked) report against one SNP
 * reference-value entry. Every mismatch is a {@link ValidationError} naming the field with the
 * expected and the actual value.
 *
 * @module
 */
import { constantTimeEqual, decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { ValidationError } from "../../util/errors/mod.ts";
import type { SnpProductName } from "../abi/product.ts";
import type { SnpReport } from "../abi/report.ts";
import {
  MAX_SNP_VCPUS,
  snpLaunchDigestsByVcpus,
  snpVcpuSignature,
} from "../abi/vcpu_launch_digest.ts";
import { firstComponentBelow, type SnpTcb, type SnpTcbParts } from "../abi/tcb.ts";
import type { SnpReferenceValue } from "../reference_values.ts";

/**
 * Values of one verification that are not part of the reference values.
 *
 * @example Also pin the host data the deployment launched with
 * ```ts
 * import type { SnpValidationOptions } from "../mod.ts";
 *
 * const options: SnpValidationOptions = {
 *   reportData: new Uint8Array(64),
 *   hostData: new Uint8Array(32),
 * };
 * ```
 */
export interface SnpValidationOptions {
  /** The `REPORT_DATA` the report must carry (all 64 bytes). */
  readonly reportData?: Uint8Array;
  /** The `HOST_DATA` the report must carry (all 32 bytes). */
  readonly hostData?: Uint8Array;
  /**
   * For a reference value with `APEIP`: every MEASUREMENT it allows, as
   * {@link snpApEipMeasurements} computes them once for it (a verifier keeps them per reference
   * value); without it they are derived again for this check.
   */
  readonly apEipMeasurements?: ReadonlySet<string>;
}

/**
 * Every MEASUREMENT an `APEIP` reference value allows, lower-case hex: its 1-vCPU
 * `TrustedMeasurement` extended to 1 … {@link MAX_SNP_VCPUS} vCPUs with its AP reset EIP (what
 * {@link validateSnpReport} accepts). Undefined when the value has no `APEIP` or cannot have such
 * measurements (no TrustedMeasurement, no vCPU model for its product, malformed hex): the check
 * itself then refuses as it always did.
 *
 * @example Derive once, check many reports
 * ```ts
 * import { snpApEipMeasurements } from "./validate.ts";
 * import type { SnpReferenceValue } from "../reference_values.ts";
 *
 * function allowed(ref: SnpReferenceValue, measurementHex: string): boolean | undefined {
 *   return snpApEipMeasurements(ref)?.has(measurementHex);
 * }
 * ```
 */
export function snpApEipMeasurements(ref: SnpReferenceValue): ReadonlySet<string> | undefined {
  if (ref.APEIP === undefined || ref.TrustedMeasurement === undefined) return undefined;
  const signature = snpVcpuSignature(ref.ProductName);
  if (signature === undefined) return undefined;
  try {
    const eip = new DataView(decodeHex(ref.APEIP, "APEIP", 4).buffer).getUint32(0, false);
    const out = new Set<string>();
    for (
      const digest of snpLaunchDigestsByVcpus(decodeHex(ref.TrustedMeasurement), eip, signature)
    ) {
      out.add(encodeHex(digest));
    }
    return out;
  } catch {
    return undefined;
  }
}

const TCB_FIELD_NAMES: Record<keyof SnpTcbParts, string> = {
  bootloader: "BootloaderVersion",
  tee: "TEEVersion",
  snp: "SNPVersion",
  microcode: "MicrocodeVersion",
  fmc: "FMCVersion",
};

function minimumTcbParts(ref: SnpReferenceValue): SnpTcbParts {
  const m = ref.MinimumTCB;
  return {
    bootloader: m.BootloaderVersion,
    tee: m.TEEVersion,
    snp: m.SNPVersion,
    microcode: m.MicrocodeVersion,
    ...(m.FMCVersion !== undefined ? { fmc: m.FMCVersion } : {}),
  };
}

function checkTcb(name: string, tcb: SnpTcb, minimum: SnpTcbParts): void {
  const below = firstComponentBelow(tcb, minimum);
  if (below !== undefined) {
    throw new ValidationError(
      `report.${name}.${below}`,
      `${name} is below MinimumTCB.${TCB_FIELD_NAMES[below]}`,
      { expected: `>= ${minimum[below] ?? 0}`, actual: String(tcb[below] ?? 0) },
    );
  }
}

function checkBytes(field: string, what: string, expected: Uint8Array, actual: Uint8Array): void {
  if (!constantTimeEqual(expected, actual)) {
    throw new ValidationError(field, `${what} does not match`, {
      expected: encodeHex(expected),
      actual: encodeHex(actual),
    });
  }
}

function inList(field: string, what: string, allowed: readonly string[], actual: Uint8Array) {
  if (allowed.length === 0) return;
  if (!allowed.some((hex) => constantTimeEqual(decodeHex(hex), actual))) {
    throw new ValidationError(field, `${what} is not allowed`, {
      expected: `one of ${allowed.join(", ")}`,
      actual: encodeHex(actual),
    });
  }
}

function permission(field: string, allowed: boolean, actual: boolean, what: string): void {
  if (actual && !allowed) {
    throw new ValidationError(field, `${what} is set but not allowed by the reference values`, {
      expected: "false",
      actual: "true",
    });
  }
}

function requirement(field: string, required: boolean, actual: boolean, what: string): void {
  if (required && !actual) {
    throw new ValidationError(field, `${what} is required by the reference values`, {
      expected: "true",
      actual: "false",
    });
  }
}

/**
 * Every bit of `minimum` must be set in the report's launch and current mitigation vectors.
 *
 * @throws {ValidationError} naming the vector that lacks a bit, or the report version without one
 */
function checkMitigationVector(report: SnpReport, required: number | undefined): void {
  if (!required) return;
  const minimum = BigInt(required);
  const hex = (v: bigint) => `0x${v.toString(16)}`;
  for (
    const [field, vector] of [
      ["report.launch_mit_vector", report.launchMitVector],
      ["report.current_mit_vector", report.currentMitVector],
    ] as const
  ) {
    if (vector === undefined) {
      throw new ValidationError(field, "the report (before version 5) has no mitigation vector", {
        expected: `bits ${hex(minimum)} set`,
        actual: `version ${report.version}`,
      });
    }
    if ((vector & minimum) !== minimum) {
      throw new ValidationError(field, "required mitigation bits are not set", {
        expected: `bits ${hex(minimum)} set`,
        actual: hex(vector),
      });
    }
  }
}

/**
 * Checks `report` (whose product is `product`, known from its verified VCEK/VLEK) against
 * `ref` and the per-verification `options`.
 *
 * @throws {ValidationError} at the first mismatch, with expected and actual values
 *
 * @example Check a (signature-verified) report against the defaults and the expected report data
 * ```ts
 * import { defaultSnpReferenceValues, parseSnpReport, validateSnpReport } from "../mod.ts";
 *
 * function check(bytes: Uint8Array, nonce: Uint8Array): void {
 *   const report = parseSnpReport(bytes, { product: "Genoa" });
 *   const ref = defaultSnpReferenceValues().find((r) => r.ProductName === "Genoa")!;
 *   validateSnpReport(report, "Genoa", ref, { reportData: nonce }); // throws ValidationError
 * }
 * ```
 */
export function validateSnpReport(
  report: SnpReport,
  product: SnpProductName,
  ref: SnpReferenceValue,
  options: SnpValidationOptions = {},
): void {
  if (product !== ref.ProductName) {
    throw new ValidationError("product", "the report comes from another product line", {
      expected: ref.ProductName,
      actual: product,
    });
  }
  checkBoundValues(report, ref, options);
  const minimum = minimumTcbParts(ref);
  checkTcb("reported_tcb", report.reportedTcb, minimum);
  checkTcb("committed_tcb", report.committedTcb, minimum);
  checkTcb("launch_tcb", report.launchTcb, minimum);
  // The TCB the firmware runs: firmware keeps it >= COMMITTED_TCB, and go-sev-guest requires it
  // >= REPORTED_TCB; checked here too so the minimum never rests on those firmware invariants.
  checkTcb("current_tcb", report.currentTcb, minimum);
  checkGuestPolicy(report, ref);
  checkPlatformInfo(report, ref);
  if (report.vmpl !== ref.VMPL) {
    throw new ValidationError("report.vmpl", "VMPL does not match", {
      expected: String(ref.VMPL),
      actual: String(report.vmpl),
    });
  }
  checkMitigationVector(report, ref.MinimumMitigationVector);
  inList("report.chip_id", "CHIP_ID", ref.AllowedChipIDs, report.chipId);
  inList("report.id_key_digest", "ID_KEY_DIGEST", ref.TrustedIDKeyDigests, report.idKeyDigest);
}

/** The launch measurement the reference value trusts, and the report and host data expected. */
function checkBoundValues(
  report: SnpReport,
  ref: SnpReferenceValue,
  options: SnpValidationOptions,
): void {
  if (ref.APEIP !== undefined) {
    if (ref.TrustedMeasurement === undefined) {
      // Never from a manifest (the reader requires it); a hand-built value must not pass.
      throw new ValidationError("referenceValue.APEIP", "needs a TrustedMeasurement");
    }
    checkMeasurementAtAnyVcpuCount(
      report,
      ref.TrustedMeasurement,
      ref.APEIP,
      ref.ProductName,
      options.apEipMeasurements,
    );
  } else if (ref.TrustedMeasurement !== undefined) {
    checkBytes(
      "report.measurement",
      "MEASUREMENT",
      decodeHex(ref.TrustedMeasurement),
      report.measurement,
    );
  }
  if (options.reportData !== undefined) {
    checkBytes("report.report_data", "REPORT_DATA", options.reportData, report.reportData);
  }
  if (options.hostData !== undefined) {
    checkBytes("report.host_data", "HOST_DATA", options.hostData, report.hostData);
  }
}

/**
 * With `APEIP`: the report's MEASUREMENT must be the 1-vCPU `TrustedMeasurement` extended by the
 * AP VMSA pages of some vCPU count from 1 to {@link MAX_SNP_VCPUS} (as Contrast's iterative
 * validator accepts it).
 */
function checkMeasurementAtAnyVcpuCount(
  report: SnpReport,
  oneVcpu: string,
  apEip: string,
  product: SnpProductName,
  derived: ReadonlySet<string> | undefined,
): void {
  const signature = snpVcpuSignature(product);
  if (signature === undefined) {
    // The reader refuses APEIP for such products; a hand-built value must not pass either.
    throw new ValidationError("referenceValue.APEIP", `no vCPU model is known for ${product}`);
  }
  if (derived !== undefined) {
    // The same digests, derived once for this reference value (the measurement is public).
    if (derived.has(encodeHex(report.measurement))) return;
  } else {
    const eip = new DataView(decodeHex(apEip, "APEIP", 4).buffer).getUint32(0, false);
    for (const digest of snpLaunchDigestsByVcpus(decodeHex(oneVcpu), eip, signature)) {
      if (constantTimeEqual(digest, report.measurement)) return;
    }
  }
  throw new ValidationError(
    "report.measurement",
    `MEASUREMENT is not the trusted 1-vCPU measurement extended to any vCPU count from 1 to ${MAX_SNP_VCPUS} with APEIP ${apEip}`,
    { expected: `${oneVcpu} (1 vCPU) extended`, actual: encodeHex(report.measurement) },
  );
}

/**
 * The guest policy: ABI at least the reference's, nothing permitted that the reference forbids
 * (debug, migration agent, SMT, CXL), everything required that it requires.
 */
function checkGuestPolicy(report: SnpReport, ref: SnpReferenceValue): void {
  const p = report.policy;
  const gp = ref.GuestPolicy;
  const abi = p.abiMajor * 256 + p.abiMinor;
  const minAbi = gp.ABIMajor * 256 + gp.ABIMinor;
  if (abi < minAbi) {
    throw new ValidationError("report.policy.abi", "the guest policy's ABI minimum is too low", {
      expected: `>= ${gp.ABIMajor}.${gp.ABIMinor}`,
      actual: `${p.abiMajor}.${p.abiMinor}`,
    });
  }
  permission("report.policy.debug", gp.Debug, p.debug, "DEBUG");
  permission("report.policy.migrate_ma", gp.MigrateMA, p.migrateMa, "MIGRATE_MA");
  permission("report.policy.smt", gp.SMT, p.smt, "SMT");
  permission("report.policy.cxl_allow", gp.CXLAllowed, p.cxlAllowed, "CXL_ALLOW");
  requirement("report.policy.single_socket", gp.SingleSocket, p.singleSocket, "SINGLE_SOCKET");
  requirement("report.policy.mem_aes_256_xts", gp.MemAES256XTS, p.memAes256Xts, "MEM_AES_256_XTS");
  requirement("report.policy.rapl_dis", gp.RAPLDis, p.raplDis, "RAPL_DIS");
  requirement(
    "report.policy.ciphertext_hiding_dram",
    gp.CipherTextHidingDRAM,
    p.ciphertextHidingDram,
    "CIPHERTEXT_HIDING_DRAM",
  );
  requirement(
    "report.policy.page_swap_disable",
    gp.PageSwapDisable,
    p.pageSwapDisable,
    "PAGE_SWAP_DISABLE",
  );
}

/** The host's platform info, when the reference value names it. */
function checkPlatformInfo(report: SnpReport, ref: SnpReferenceValue): void {
  const pi = report.platformInfo;
  const rpi = ref.PlatformInfo;
  if (rpi !== undefined) {
    permission("report.platform_info.smt_enabled", rpi.SMTEnabled, pi.smtEnabled, "SMT_EN");
    permission("report.platform_info.tsme_enabled", rpi.TSMEEnabled, pi.tsmeEnabled, "TSME_EN");
    permission("report.platform_info.tio_enabled", rpi.TIOEnabled, pi.tioEnabled, "TIO_EN");
    requirement("report.platform_info.ecc_enabled", rpi.ECCEnabled, pi.eccEnabled, "ECC_EN");
    requirement(
      "report.platform_info.rapl_disabled",
      rpi.RAPLDisabled,
      pi.raplDisabled,
      "RAPL_DIS",
    );
    requirement(
      "report.platform_info.ciphertext_hiding_dram_enabled",
      rpi.CiphertextHidingDRAMEnabled,
      pi.ciphertextHidingDramEnabled,
      "CIPHERTEXT_HIDING_DRAM_EN",
    );
    requirement(
      "report.platform_info.alias_check_complete",
      rpi.AliasCheckComplete,
      pi.aliasCheckComplete,
      "ALIAS_CHECK_COMPLETE",
    );
  }
}

/**
 * The SEV-SNP `ATTESTATION_REPORT` structure (AMD SEV-SNP ABI specification 56860, table
 * "ATTESTATION_REPORT Structure"), versions 2 to 5: 1184 bytes, integers little-endian,
 * signed over bytes 0x000–0x29F by the VCEK or VLEK with ECDSA P-384/SHA-384.
 *
 * {@link parseSnpReport} decodes every field into a typed value and rejects anything the
 * specification does not allow: wrong length, unknown version, unknown signature algorithm,
 * reserved bytes or bits that are not zero.
 *
 * @module
 */
import { ByteReader } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { decodeGuestPolicy, type SnpGuestPolicy } from "./policy.ts";
import { decodePlatformInfo, type SnpPlatformInfo } from "./platform_info.ts";
import { productFromCpuid, type SnpProductName, tcbLayoutOf } from "./product.ts";
import { decodeSignerInfo, type SnpSignerInfo } from "./signer_info.ts";
import { decodeTcb, type SnpTcb, type SnpTcbLayout } from "./tcb.ts";

/**
 * Size of every attestation report, in bytes (0x4A0).
 *
 * @example Reject input of the wrong size early
 * ```ts
 * import { SNP_REPORT_SIZE } from "../mod.ts";
 *
 * function looksLikeReport(bytes: Uint8Array): boolean {
 *   return bytes.length === SNP_REPORT_SIZE; // 1184
 * }
 * ```
 */
export const SNP_REPORT_SIZE = 0x4a0;
/** The signed part of a report is bytes [0, SNP_SIGNED_LENGTH). */
export const SNP_SIGNED_LENGTH = 0x2a0;
/** Offset of the signature structure. */
export const SNP_SIGNATURE_OFFSET = 0x2a0;
/** Size of each of the signature's R and S fields (little-endian, zero-padded). */
export const SNP_SIGNATURE_COMPONENT_SIZE = 72;
/** `SIGNATURE_ALGO` value of ECDSA P-384 with SHA-384, the only algorithm defined. */
export const SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384 = 1;
/** Report versions this parser understands. */
const SNP_REPORT_VERSIONS: readonly number[] = [2, 3, 4, 5];

/**
 * A firmware version triple (`CURRENT_*` / `COMMITTED_*`).
 *
 * @example Print the firmware version
 * ```ts
 * import type { SnpReport } from "../mod.ts";
 *
 * function firmware(report: SnpReport): string {
 *   const v = report.currentVersion;
 *   return `${v.major}.${v.minor}.${v.build}`;
 * }
 * ```
 */
export interface SnpFirmwareVersion {
  /** Major ABI version. */
  readonly major: number;
  /** Minor ABI version. */
  readonly minor: number;
  /** Build number. */
  readonly build: number;
}

/**
 * The CPUID identification of a v3+ report.
 *
 * @example Print the CPU family of a v3+ report
 * ```ts
 * import type { SnpReport } from "../mod.ts";
 *
 * function family(report: SnpReport): string {
 *   return report.cpuid ? `family ${report.cpuid.family.toString(16)}h` : "unknown (v2 report)";
 * }
 * ```
 */
export interface SnpCpuid {
  /** Combined family (`CPUID_FAM_ID`, 0x188). */
  readonly family: number;
  /** Combined model (`CPUID_MOD_ID`, 0x189). */
  readonly model: number;
  /** Stepping (`CPUID_STEP`, 0x18A). */
  readonly stepping: number;
}

/**
 * The report signature as stored: R and S, 72 bytes each, little-endian.
 *
 * @example The signature's components, little-endian as the firmware writes them
 * ```ts
 * import type { SnpReport } from "../mod.ts";
 *
 * function signatureLength(report: SnpReport): number {
 *   return report.signature.r.length + report.signature.s.length; // 144
 * }
 * ```
 */
export interface SnpReportSignature {
  /** R, 72 bytes little-endian. */
  readonly r: Uint8Array;
  /** S, 72 bytes little-endian. */
  readonly s: Uint8Array;
}

/**
 * A decoded SEV-SNP attestation report; field names follow the ABI specification.
 *
 * @example Read the launch measurement and the guest's report data
 * ```ts
 * import { parseSnpReport, type SnpReport } from "../mod.ts";
 *
 * function summary(bytes: Uint8Array): { measurement: Uint8Array; reportData: Uint8Array } {
 *   const report: SnpReport = parseSnpReport(bytes);
 *   return { measurement: report.measurement, reportData: report.reportData };
 * }
 * ```
 */
export interface SnpReport {
  /** `VERSION` (0x000). */
  readonly version: number;
  /** `GUEST_SVN` (0x004). */
  readonly guestSvn: number;
  /** `POLICY` (0x008). */
  readonly policy: SnpGuestPolicy;
  /** `FAMILY_ID` (0x010, 16 bytes). */
  readonly familyId: Uint8Array;
  /** `IMAGE_ID` (0x020, 16 bytes). */
  readonly imageId: Uint8Array;
  /** `VMPL` (0x030): the privilege level the report was requested at. */
  readonly vmpl: number;
  /** `SIGNATURE_ALGO` (0x034), always 1 (ECDSA P-384/SHA-384). */
  readonly signatureAlgo: number;
  /** `CURRENT_TCB` (0x038). */
  readonly currentTcb: SnpTcb;
  /** `PLATFORM_INFO` (0x040). */
  readonly platformInfo: SnpPlatformInfo;
  /** Signer info (0x048): `AUTHOR_KEY_EN`, `MASK_CHIP_KEY`, `SIGNING_KEY`. */
  readonly signerInfo: SnpSignerInfo;
  /** `REPORT_DATA` (0x050, 64 bytes), chosen by the guest. */
  readonly reportData: Uint8Array;
  /** `MEASUREMENT` (0x090, 48 bytes): the launch digest. */
  readonly measurement: Uint8Array;
  /** `HOST_DATA` (0x0C0, 32 bytes), chosen by the host at launch. */
  readonly hostData: Uint8Array;
  /** `ID_KEY_DIGEST` (0x0E0, 48 bytes). */
  readonly idKeyDigest: Uint8Array;
  /** `AUTHOR_KEY_DIGEST` (0x110, 48 bytes). */
  readonly authorKeyDigest: Uint8Array;
  /** `REPORT_ID` (0x140, 32 bytes). */
  readonly reportId: Uint8Array;
  /** `REPORT_ID_MA` (0x160, 32 bytes). */
  readonly reportIdMa: Uint8Array;
  /** `REPORTED_TCB` (0x180): the TCB the VCEK is derived from. */
  readonly reportedTcb: SnpTcb;
  /** `CPUID_FAM_ID`/`CPUID_MOD_ID`/`CPUID_STEP` (0x188–0x18A), reports v3 and later. */
  readonly cpuid?: SnpCpuid;
  /** The product, when the report says (v3+ CPUID); v2 reports leave it to the VCEK. */
  readonly product?: SnpProductName;
  /** The TCB layout the TCB fields were decoded with. */
  readonly tcbLayout: SnpTcbLayout;
  /** `CHIP_ID` (0x1A0, 64 bytes); all zero when `MASK_CHIP_KEY` is set. */
  readonly chipId: Uint8Array;
  /** `COMMITTED_TCB` (0x1E0). */
  readonly committedTcb: SnpTcb;
  /** `CURRENT_BUILD`/`_MINOR`/`_MAJOR` (0x1E8–0x1EA). */
  readonly currentVersion: SnpFirmwareVersion;
  /** `COMMITTED_BUILD`/`_MINOR`/`_MAJOR` (0x1EC–0x1EE). */
  readonly committedVersion: SnpFirmwareVersion;
  /** `LAUNCH_TCB` (0x1F0). */
  readonly launchTcb: SnpTcb;
  /** `LAUNCH_MIT_VECTOR` (0x1F8), reports v5 and later (AMD SEV-SNP ABI: "only available in report version 5 or later"). */
  readonly launchMitVector?: bigint;
  /** `CURRENT_MIT_VECTOR` (0x200), reports v5 and later (AMD SEV-SNP ABI: "only available in report version 5 or later"). */
  readonly currentMitVector?: bigint;
  /** `SIGNATURE` (0x2A0). */
  readonly signature: SnpReportSignature;
  /**
   * The exact 1184 bytes the report was parsed from: a copy the report owns. The byte fields
   * above (`reportData`, `hostData`, `signature.r`, …) are views into it.
   */
  readonly raw: Uint8Array;
}

/**
 * Options of {@link parseSnpReport}.
 *
 * @example Parse a v2 report whose product the caller knows
 * ```ts
 * import { parseSnpReport, type ParseSnpReportOptions } from "../mod.ts";
 *
 * const options: ParseSnpReportOptions = { product: "Milan" };
 * function parseMilan(bytes: Uint8Array) {
 *   return parseSnpReport(bytes, options);
 * }
 * ```
 */
export interface ParseSnpReportOptions {
  /**
   * The product, when known from elsewhere (the VCEK): needed to pick the TCB layout of v2
   * reports, which carry no CPUID. Must agree with the report's CPUID when it has one.
   */
  readonly product?: SnpProductName;
}

/**
 * Decodes an attestation report. Decoding is not verification.
 *
 * @example
 * ```ts
 * import { parseSnpReport } from "../mod.ts";
 *
 * function describe(bytes: Uint8Array): string {
 *   const report = parseSnpReport(bytes);
 *   return `v${report.version}, VMPL ${report.vmpl}, debug ${report.policy.debug}`;
 * }
 * ```
 *
 * @throws {ParseError} naming the field (`report.version`, `report.reserved_0x1f8`, …) when the
 *   bytes are not a well-formed report of a known version
 */
export function parseSnpReport(
  bytes: Uint8Array,
  options: ParseSnpReportOptions = {},
): SnpReport {
  if (bytes.length !== SNP_REPORT_SIZE) {
    throw new ParseError(
      "report",
      `expected ${SNP_REPORT_SIZE} bytes, got ${bytes.length}`,
    );
  }
  // One copy the report owns; its byte fields are views into it (not one copy each), so they
  // always say what `raw`, the signed bytes, says.
  const raw = bytes.slice();
  const r = new ByteReader(raw, "report");
  const version = r.u32("version");
  if (!SNP_REPORT_VERSIONS.includes(version)) {
    throw new ParseError(
      "report.version",
      `unknown report version ${version} (known: ${SNP_REPORT_VERSIONS.join(", ")})`,
    );
  }
  const guestSvn = r.u32("guest_svn");
  const policy = decodeGuestPolicy(r.u64("policy"), "report.policy");
  const familyId = r.view("family_id", 16);
  const imageId = r.view("image_id", 16);
  const vmpl = r.u32("vmpl");
  const signatureAlgo = r.u32("signature_algo");
  if (signatureAlgo !== SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384) {
    throw new ParseError(
      "report.signature_algo",
      `unknown signature algorithm ${signatureAlgo} (only 1, ECDSA P-384 with SHA-384, is defined)`,
    );
  }
  const currentTcbRaw = r.u64("current_tcb");
  const platformInfo = decodePlatformInfo(r.u64("platform_info"));
  const signerInfo = decodeSignerInfo(r.u32("signer_info"), "report.signer_info");
  r.reserved("reserved_0x04c", 4);
  const reportData = r.view("report_data", 64);
  const measurement = r.view("measurement", 48);
  const hostData = r.view("host_data", 32);
  const idKeyDigest = r.view("id_key_digest", 48);
  const authorKeyDigest = r.view("author_key_digest", 48);
  const reportId = r.view("report_id", 32);
  const reportIdMa = r.view("report_id_ma", 32);
  const reportedTcbRaw = r.u64("reported_tcb");
  let cpuid: SnpCpuid | undefined;
  if (version >= 3) {
    cpuid = { family: r.u8("cpuid_fam_id"), model: r.u8("cpuid_mod_id"), stepping: 0 };
    cpuid = { ...cpuid, stepping: r.u8("cpuid_step") };
    r.reserved("reserved_0x18b", 0x1a0 - 0x18b);
  } else {
    r.reserved("reserved_0x188", 0x1a0 - 0x188);
  }
  let product: SnpProductName | undefined;
  if (cpuid) {
    product = productFromCpuid(cpuid.family, cpuid.model);
    if (product === undefined) {
      throw new ParseError(
        "report.cpuid_mod_id",
        `unknown SEV-SNP processor (family 0x${cpuid.family.toString(16)}, model 0x${
          cpuid.model.toString(16)
        })`,
      );
    }
    if (options.product !== undefined && options.product !== product) {
      throw new ParseError(
        "report.cpuid_mod_id",
        `report is from a ${product} processor, expected ${options.product}`,
      );
    }
  } else {
    product = options.product;
  }
  const tcbLayout: SnpTcbLayout = tcbLayoutOf(product ?? "Milan");
  const chipId = r.view("chip_id", 64);
  const committedTcbRaw = r.u64("committed_tcb");
  const currentVersion = readVersion(r, "current");
  const committedVersion = readVersion(r, "committed");
  const launchTcbRaw = r.u64("launch_tcb");
  let launchMitVector: bigint | undefined;
  let currentMitVector: bigint | undefined;
  if (version >= 5) {
    launchMitVector = r.u64("launch_mit_vector");
    currentMitVector = r.u64("current_mit_vector");
    r.reserved("reserved_0x208", SNP_SIGNATURE_OFFSET - 0x208);
  } else {
    r.reserved("reserved_0x1f8", SNP_SIGNATURE_OFFSET - 0x1f8);
  }
  const sigR = r.view("signature.r", SNP_SIGNATURE_COMPONENT_SIZE);
  const sigS = r.view("signature.s", SNP_SIGNATURE_COMPONENT_SIZE);
  r.reserved("signature.reserved", SNP_REPORT_SIZE - r.offset);
  checkComponentPadding(sigR, "report.signature.r");
  checkComponentPadding(sigS, "report.signature.s");
  return {
    version,
    guestSvn,
    policy,
    familyId,
    imageId,
    vmpl,
    signatureAlgo,
    currentTcb: decodeTcb(currentTcbRaw, tcbLayout, "report.current_tcb"),
    platformInfo,
    signerInfo,
    reportData,
    measurement,
    hostData,
    idKeyDigest,
    authorKeyDigest,
    reportId,
    reportIdMa,
    reportedTcb: decodeTcb(reportedTcbRaw, tcbLayout, "report.reported_tcb"),
    cpuid,
    product,
    tcbLayout,
    chipId,
    committedTcb: decodeTcb(committedTcbRaw, tcbLayout, "report.committed_tcb"),
    currentVersion,
    committedVersion,
    launchTcb: decodeTcb(launchTcbRaw, tcbLayout, "report.launch_tcb"),
    launchMitVector,
    currentMitVector,
    signature: { r: sigR, s: sigS },
    raw,
  };
}

function readVersion(r: ByteReader, prefix: string): SnpFirmwareVersion {
  const build = r.u8(`${prefix}_build`);
  const minor = r.u8(`${prefix}_minor`);
  const major = r.u8(`${prefix}_major`);
  r.reserved(`${prefix}_reserved`, 1);
  return { major, minor, build };
}

/** A P-384 scalar is 48 bytes: bytes 48–71 of the 72-byte little-endian field must be zero. */
function checkComponentPadding(component: Uint8Array, field: string): void {
  for (let i = 48; i < component.length; i++) {
    if (component[i] !== 0) {
      throw new ParseError(field, `byte ${i} is not zero (a P-384 scalar has 48 bytes)`);
    }
  }
}

/**
 * A JSON-ready view of a decoded report: byte fields as lower-case hex in report order,
 * integers as numbers, 64-bit values as `0x…` hex, TCBs with their components.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import type { SnpReport } from "./report.ts";
import { describeTcb } from "./tcb.ts";

const hex64 = (v: bigint) => `0x${v.toString(16)}`;

/**
 * Every field of `report` as plain JSON values.
 *
 * @example Print a report as readable JSON
 * ```ts
 * import { describeSnpReport, parseSnpReport } from "../mod.ts";
 *
 * function show(bytes: Uint8Array): void {
 *   console.log(JSON.stringify(describeSnpReport(parseSnpReport(bytes)), null, 2));
 * }
 * ```
 */
export function describeSnpReport(report: SnpReport): Record<string, unknown> {
  const p = report.policy;
  const pi = report.platformInfo;
  return {
    version: report.version,
    guest_svn: report.guestSvn,
    policy: {
      raw: hex64(p.raw),
      abi_minor: p.abiMinor,
      abi_major: p.abiMajor,
      smt: p.smt,
      migrate_ma: p.migrateMa,
      debug: p.debug,
      single_socket: p.singleSocket,
      cxl_allow: p.cxlAllowed,
      mem_aes_256_xts: p.memAes256Xts,
      rapl_dis: p.raplDis,
      ciphertext_hiding_dram: p.ciphertextHidingDram,
      page_swap_disable: p.pageSwapDisable,
    },
    family_id: encodeHex(report.familyId),
    image_id: encodeHex(report.imageId),
    vmpl: report.vmpl,
    signature_algo: report.signatureAlgo,
    current_tcb: describeTcb(report.currentTcb),
    platform_info: {
      raw: hex64(pi.raw),
      smt_enabled: pi.smtEnabled,
      tsme_enabled: pi.tsmeEnabled,
      ecc_enabled: pi.eccEnabled,
      rapl_disabled: pi.raplDisabled,
      ciphertext_hiding_dram_enabled: pi.ciphertextHidingDramEnabled,
      alias_check_complete: pi.aliasCheckComplete,
      tio_enabled: pi.tioEnabled,
    },
    signer_info: {
      raw: hex64(BigInt(report.signerInfo.raw)),
      author_key_en: report.signerInfo.authorKeyEn,
      mask_chip_key: report.signerInfo.maskChipKey,
      signing_key: report.signerInfo.signingKey,
    },
    report_data: encodeHex(report.reportData),
    measurement: encodeHex(report.measurement),
    host_data: encodeHex(report.hostData),
    id_key_digest: encodeHex(report.idKeyDigest),
    author_key_digest: encodeHex(report.authorKeyDigest),
    report_id: encodeHex(report.reportId),
    report_id_ma: encodeHex(report.reportIdMa),
    reported_tcb: describeTcb(report.reportedTcb),
    cpuid: report.cpuid
      ? {
        family: hex64(BigInt(report.cpuid.family)),
        model: hex64(BigInt(report.cpuid.model)),
        stepping: hex64(BigInt(report.cpuid.stepping)),
      }
      : null,
    product: report.product ?? null,
    chip_id: encodeHex(report.chipId),
    committed_tcb: describeTcb(report.committedTcb),
    current_version: report.currentVersion,
    committed_version: report.committedVersion,
    launch_tcb: describeTcb(report.launchTcb),
    launch_mit_vector: report.launchMitVector === undefined ? null : hex64(report.launchMitVector),
    current_mit_vector: report.currentMitVector === undefined
      ? null
      : hex64(report.currentMitVector),
    signature: { r: encodeHex(report.signature.r), s: encodeHex(report.signature.s) },
  };
}

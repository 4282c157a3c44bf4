/**
 * Builds the bytes of an attestation report from field values: the inverse of
 * {@link import("./report.ts").parseSnpReport}. Used by the simulated SNP authority and by tests
 * that need well-formed reports with chosen fields.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import {
  SNP_REPORT_SIZE,
  SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384,
  SNP_SIGNATURE_COMPONENT_SIZE,
  SNP_SIGNATURE_OFFSET,
  SNP_SIGNED_LENGTH,
} from "./report.ts";

/** Field values of a report body (bytes 0x000–0x29F). Omitted fields are zero. */
export interface SnpReportFields {
  /** `VERSION`: 2, 3, 4 or 5 (default 5). */
  readonly version?: number;
  /** `GUEST_SVN`. */
  readonly guestSvn?: number;
  /** `POLICY` (see `encodeGuestPolicy`); default 0x30000 (SMT allowed, bit 17). */
  readonly policy?: bigint;
  /** `FAMILY_ID`, 16 bytes. */
  readonly familyId?: Uint8Array;
  /** `IMAGE_ID`, 16 bytes. */
  readonly imageId?: Uint8Array;
  /** `VMPL`. */
  readonly vmpl?: number;
  /** `CURRENT_TCB` raw value. */
  readonly currentTcb?: bigint;
  /** `PLATFORM_INFO` raw value. */
  readonly platformInfo?: bigint;
  /** Signer info raw value (see `encodeSignerInfo`). */
  readonly signerInfo?: number;
  /** `REPORT_DATA`, 64 bytes. */
  readonly reportData?: Uint8Array;
  /** `MEASUREMENT`, 48 bytes. */
  readonly measurement?: Uint8Array;
  /** `HOST_DATA`, 32 bytes. */
  readonly hostData?: Uint8Array;
  /** `ID_KEY_DIGEST`, 48 bytes. */
  readonly idKeyDigest?: Uint8Array;
  /** `AUTHOR_KEY_DIGEST`, 48 bytes. */
  readonly authorKeyDigest?: Uint8Array;
  /** `REPORT_ID`, 32 bytes. */
  readonly reportId?: Uint8Array;
  /** `REPORT_ID_MA`, 32 bytes. */
  readonly reportIdMa?: Uint8Array;
  /** `REPORTED_TCB` raw value. */
  readonly reportedTcb?: bigint;
  /** CPUID family/model/stepping (v3+ only). */
  readonly cpuid?: { readonly family: number; readonly model: number; readonly stepping: number };
  /** `CHIP_ID`, 64 bytes. */
  readonly chipId?: Uint8Array;
  /** `COMMITTED_TCB` raw value. */
  readonly committedTcb?: bigint;
  /** `CURRENT_*` firmware version. */
  readonly currentVersion?: { major: number; minor: number; build: number };
  /** `COMMITTED_*` firmware version. */
  readonly committedVersion?: { major: number; minor: number; build: number };
  /** `LAUNCH_TCB` raw value. */
  readonly launchTcb?: bigint;
  /** `LAUNCH_MIT_VECTOR` (v5+). */
  readonly launchMitVector?: bigint;
  /** `CURRENT_MIT_VECTOR` (v5+). */
  readonly currentMitVector?: bigint;
}

/**
 * The signed part (0x2A0 bytes) of a report with `fields`.
 *
 * @throws {ParseError} naming the field when a byte field has the wrong length
 */
export function encodeSnpReportBody(fields: SnpReportFields): Uint8Array {
  const out = new Uint8Array(SNP_SIGNED_LENGTH);
  const view = new DataView(out.buffer);
  const version = fields.version ?? 5;
  const put = (offset: number, value: Uint8Array | undefined, length: number, name: string) => {
    if (value === undefined) return;
    if (value.length !== length) {
      throw new ParseError(name, `expected ${length} bytes, got ${value.length}`);
    }
    out.set(value, offset);
  };
  view.setUint32(0x000, version, true);
  view.setUint32(0x004, fields.guestSvn ?? 0, true);
  view.setBigUint64(0x008, fields.policy ?? 0x30000n, true);
  put(0x010, fields.familyId, 16, "familyId");
  put(0x020, fields.imageId, 16, "imageId");
  view.setUint32(0x030, fields.vmpl ?? 0, true);
  view.setUint32(0x034, SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384, true);
  view.setBigUint64(0x038, fields.currentTcb ?? 0n, true);
  view.setBigUint64(0x040, fields.platformInfo ?? 0n, true);
  view.setUint32(0x048, fields.signerInfo ?? 0, true);
  put(0x050, fields.reportData, 64, "reportData");
  put(0x090, fields.measurement, 48, "measurement");
  put(0x0c0, fields.hostData, 32, "hostData");
  put(0x0e0, fields.idKeyDigest, 48, "idKeyDigest");
  put(0x110, fields.authorKeyDigest, 48, "authorKeyDigest");
  put(0x140, fields.reportId, 32, "reportId");
  put(0x160, fields.reportIdMa, 32, "reportIdMa");
  view.setBigUint64(0x180, fields.reportedTcb ?? 0n, true);
  if (fields.cpuid !== undefined) {
    if (version < 3) throw new ParseError("cpuid", "reports before version 3 carry no CPUID");
    out[0x188] = fields.cpuid.family;
    out[0x189] = fields.cpuid.model;
    out[0x18a] = fields.cpuid.stepping;
  }
  put(0x1a0, fields.chipId, 64, "chipId");
  view.setBigUint64(0x1e0, fields.committedTcb ?? 0n, true);
  const cur = fields.currentVersion ?? { major: 1, minor: 55, build: 0 };
  out[0x1e8] = cur.build;
  out[0x1e9] = cur.minor;
  out[0x1ea] = cur.major;
  const com = fields.committedVersion ?? cur;
  out[0x1ec] = com.build;
  out[0x1ed] = com.minor;
  out[0x1ee] = com.major;
  view.setBigUint64(0x1f0, fields.launchTcb ?? 0n, true);
  if (version >= 5) {
    view.setBigUint64(0x1f8, fields.launchMitVector ?? 0n, true);
    view.setBigUint64(0x200, fields.currentMitVector ?? 0n, true);
  }
  return out;
}

/**
 * A complete 1184-byte report: `body` (0x2A0 bytes) followed by the signature structure with
 * `r` and `s` given big-endian (as WebCrypto produces them, 48 bytes each) and stored
 * little-endian, zero-padded to 72 bytes.
 */
export function assembleSnpReport(
  body: Uint8Array,
  rBigEndian: Uint8Array,
  sBigEndian: Uint8Array,
): Uint8Array {
  if (body.length !== SNP_SIGNED_LENGTH) {
    throw new ParseError("body", `expected ${SNP_SIGNED_LENGTH} bytes, got ${body.length}`);
  }
  const out = new Uint8Array(SNP_REPORT_SIZE);
  out.set(body, 0);
  out.set(rBigEndian.slice().reverse(), SNP_SIGNATURE_OFFSET);
  out.set(sBigEndian.slice().reverse(), SNP_SIGNATURE_OFFSET + SNP_SIGNATURE_COMPONENT_SIZE);
  return out;
}

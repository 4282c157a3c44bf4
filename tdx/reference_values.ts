/**
 * TDX reference values as they appear in the manifest (`ReferenceValues.tdx[i]`), with
 * Contrast's field names. Read strictly: unknown fields, wrong types and wrong lengths are
 * reported with their JSON path.
 *
 * @module
 */
import { decodeHex } from "../bytes/mod.ts";
import { childPath, type IssueList, ObjectReader } from "../json/mod.ts";
import { isTcbStatus, type TcbStatus } from "./collateral/tcb_status.ts";

/** The platform name of simulated TDX (a locally generated vendor-like chain). */
export const SIMULATED_TDX_PLATFORM = "Simulated-TDX";

/** One TDX reference value entry. */
export interface TdxReferenceValue {
  /** Platform name, e.g. `Metal-QEMU-TDX`, or {@link SIMULATED_TDX_PLATFORM}. */
  readonly Platform: string;
  /** Expected MRTD (48 bytes). */
  readonly MrTd: Uint8Array;
  /** Expected MRSEAM (48 bytes); any when absent. */
  readonly MrSeam?: Uint8Array;
  /** Expected RTMR0..3 (4 × 48 bytes); any when absent. */
  readonly Rtmrs?: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** Expected XFAM (8 bytes, quote byte order); any when absent. */
  readonly Xfam?: Uint8Array;
  /**
   * Expected TD attributes (8 bytes, quote byte order). When absent, any attributes are accepted
   * except DEBUG, which must be off.
   */
  readonly TdAttributes?: Uint8Array;
  /** Lowest acceptable `tcbEvaluationDataNumber` of TCB info and QE identity (default 0). */
  readonly MinTCBEvaluationDataNumber: number;
  /** TCB statuses accepted (default `["UpToDate"]`). */
  readonly AllowedTcbStatuses: readonly TcbStatus[];
  /** SHA-256 of the simulated root CA (DER); required for, and only for, simulated platforms. */
  readonly SimulatedRootSHA256?: string;
}

function bytesField(r: ObjectReader, key: string, length: number, required: boolean) {
  const h = r.hex(key, length, required);
  return h === undefined ? undefined : decodeHex(h);
}

/**
 * Reads one TDX reference value at `path`, recording every problem in `issues`.
 *
 * @returns the value, or undefined when it had problems
 */
export function readTdxReferenceValue(
  value: unknown,
  path: string,
  issues: IssueList,
): TdxReferenceValue | undefined {
  const before = issues.issues.length;
  const r = new ObjectReader(value, path, issues);
  if (!r.ok) return undefined;
  const Platform = r.string("Platform");
  if (Platform !== undefined && Platform.trim() === "") {
    issues.add(childPath(path, "Platform"), "must not be empty");
  }
  const MrTd = bytesField(r, "MrTd", 48, true);
  const MrSeam = bytesField(r, "MrSeam", 48, false);
  const rtmrs = r.array("Rtmrs", (v, p) => {
    if (typeof v !== "string" || !/^[0-9a-fA-F]{96}$/.test(v)) {
      issues.add(p, "expected 48 bytes of hex (96 hex digits)");
      return undefined;
    }
    return decodeHex(v);
  }, false);
  if (
    r.has("Rtmrs") && Array.isArray(r.raw("Rtmrs", false)) &&
    (r.raw("Rtmrs", false) as unknown[]).length !== 4
  ) {
    issues.add(childPath(path, "Rtmrs"), "expected exactly 4 RTMRs");
  }
  const Xfam = bytesField(r, "Xfam", 8, false);
  const TdAttributes = bytesField(r, "TdAttributes", 8, false);
  const MinTCBEvaluationDataNumber = r.integer("MinTCBEvaluationDataNumber", { min: 0 }, false) ??
    0;
  const statuses = r.array("AllowedTcbStatuses", (v, p) => {
    if (typeof v !== "string" || !isTcbStatus(v)) {
      issues.add(p, `unknown TCB status ${JSON.stringify(v)}`);
      return undefined;
    }
    if (v === "Revoked" || v === "TcbNotSupported") {
      issues.add(p, `a ${v} TCB can never be allowed`);
      return undefined;
    }
    return v;
  }, false);
  if (statuses && statuses.length === 0 && r.has("AllowedTcbStatuses")) {
    issues.add(childPath(path, "AllowedTcbStatuses"), "must allow at least one status");
  }
  const simulated = Platform === SIMULATED_TDX_PLATFORM;
  const root = r.hex("SimulatedRootSHA256", 32, false);
  if (simulated && !r.has("SimulatedRootSHA256")) {
    issues.add(
      childPath(path, "SimulatedRootSHA256"),
      "required for Simulated-TDX: name the simulated root CA's SHA-256 fingerprint",
    );
  }
  if (!simulated && r.has("SimulatedRootSHA256")) {
    issues.add(
      childPath(path, "SimulatedRootSHA256"),
      "only allowed with Platform Simulated-TDX (real platforms chain to the pinned Intel root)",
    );
  }
  if (Platform !== undefined && !simulated && /simulat/i.test(Platform)) {
    issues.add(
      childPath(path, "Platform"),
      `the simulated platform is spelled "${SIMULATED_TDX_PLATFORM}"`,
    );
  }
  r.finish();
  if (issues.issues.length !== before || Platform === undefined || MrTd === undefined) {
    return undefined;
  }
  return {
    Platform,
    MrTd,
    MrSeam,
    Rtmrs: rtmrs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array] | undefined,
    Xfam,
    TdAttributes,
    MinTCBEvaluationDataNumber,
    AllowedTcbStatuses: statuses && statuses.length > 0 ? statuses : ["UpToDate"],
    SimulatedRootSHA256: simulated ? root : undefined,
  };
}

/**
 * TDX reference values as they appear in the manifest (`ReferenceValues.tdx[i]`), with
 * Contrast's field names. Read strictly: unknown fields, wrong types and wrong lengths are
 * reported with their JSON path.
 *
 * @module
 */
import { decodeHex } from "../util/bytes/mod.ts";
import { childPath, type IssueList, ObjectReader, readPlatformList } from "../util/json/mod.ts";
import { isTcbStatus, type TcbStatus } from "./collateral/tcb_status.ts";
import { simulatedRootRefusal } from "../evidence/vendor_roots.ts";

/** The platform name of simulated TDX (a locally generated vendor-like chain). */
export const SIMULATED_TDX_PLATFORM = "Simulated-TDX";

/**
 * One TDX reference value entry.
 *
 * @example Pin MRTD on top of the defaults
 * ```ts
 * import { defaultTdxReferenceValues, type TdxReferenceValue } from "./mod.ts";
 *
 * const ref: TdxReferenceValue = { ...defaultTdxReferenceValues()[0], MrTd: new Uint8Array(48) };
 * ```
 */
export interface TdxReferenceValue {
  /** Platform name, e.g. `Metal-QEMU-TDX`, or {@link SIMULATED_TDX_PLATFORM}. */
  readonly Platform: string;
  /**
   * Expected MRTD (48 bytes). Required in a manifest and in a reference-values file (the reader
   * refuses an entry without it); only the built-in {@link defaultTdxReferenceValues} leave it
   * out, accepting any MRTD.
   */
  readonly MrTd?: Uint8Array;
  /** Expected MRSEAM (48 bytes); any when absent. */
  readonly MrSeam?: Uint8Array;
  /**
   * Expected RTMR0..3 (4 × 48 bytes). Required on real platforms: without them the entry would
   * accept any kernel, initrd and kernel command line. Only a simulated entry may leave them out
   * (the simulated authority measures no real boot chain); it then accepts any RTMRs.
   */
  readonly Rtmrs?: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** Expected XFAM (8 bytes, quote byte order); any when absent. */
  readonly Xfam?: Uint8Array;
  /**
   * Expected TD attributes (8 bytes, quote byte order), compared exactly. When absent, the
   * default of `validate/td_attributes.ts` applies: SEPT_VE_DISABLE set, DEBUG, the other
   * TD-under-debug bits, MIGRATABLE and unknown bits off.
   */
  readonly TdAttributes?: Uint8Array;
  /** Lowest acceptable `tcbEvaluationDataNumber` of TCB info and QE identity (default 0). */
  readonly MinTCBEvaluationDataNumber: number;
  /** TCB statuses accepted (default `["UpToDate"]`). */
  readonly AllowedTcbStatuses: readonly TcbStatus[];
  /** SHA-256 of the simulated root CA (DER); required for, and only for, simulated platforms. */
  readonly SimulatedRootSHA256?: string;
  /**
   * Contrast's `AllowedPIIDs`: platform instance IDs (16 bytes) of the PCK certificate's SGX
   * extension; when non-empty the quote's PCK must carry one of them.
   */
  readonly AllowedPIIDs?: readonly Uint8Array[];
  /** Contrast's `MemoryIntegrity`: the PCK's SGX type must be 2 (scalable with integrity). */
  readonly MemoryIntegrity?: boolean;
  /** Contrast's `SMTDisabled`: the PCK's platform configuration must say SMT is off. */
  readonly SMTDisabled?: boolean;
  /** Contrast's `StaticPlatform`: the PCK's platform configuration must say not dynamic. */
  readonly StaticPlatform?: boolean;
  /** Contrast's `CPUs`: the number of vCPUs, informative only (the measurements cover it). */
  readonly CPUs?: number;
}

function bytesField(r: ObjectReader, key: string, length: number, required: boolean) {
  const h = r.hex(key, length, required);
  return h === undefined ? undefined : decodeHex(h);
}

type Rtmrs = readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];

function readRtmrs(
  r: ObjectReader,
  path: string,
  issues: IssueList,
  required: boolean,
): Rtmrs | undefined {
  const at = childPath(path, "Rtmrs");
  const raw = r.raw("Rtmrs", false);
  if (raw === undefined || raw === null) {
    if (required || raw === null) {
      issues.add(
        at,
        required
          ? "required on a real TDX platform: RTMR0..3 (4 × 96 hex digits) measure the kernel, " +
            "initrd and command line; without them any would be accepted"
          : "expected an array of 4 RTMRs, got null",
      );
    }
    return undefined;
  }
  if (!Array.isArray(raw)) {
    issues.add(at, "expected an array of 4 RTMRs (96 hex digits each)");
    return undefined;
  }
  if (raw.length !== 4) issues.add(at, `expected exactly 4 RTMRs, got ${raw.length}`);
  const out: Uint8Array[] = [];
  raw.forEach((v, i) => {
    if (typeof v !== "string" || !/^[0-9a-fA-F]{96}$/.test(v)) {
      issues.add(childPath(at, i), "expected 48 bytes of hex (96 hex digits)");
    } else out.push(decodeHex(v));
  });
  return out.length === 4 && raw.length === 4 ? [out[0]!, out[1]!, out[2]!, out[3]!] : undefined;
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
  const simulated = Platform === SIMULATED_TDX_PLATFORM;
  const rtmrs = readRtmrs(r, path, issues, !simulated);
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
  const AllowedPIIDs = r.array("AllowedPIIDs", (v, p) => {
    if (typeof v !== "string" || !/^[0-9a-fA-F]{32}$/.test(v)) {
      issues.add(p, "expected a platform instance ID: 16 bytes of hex (32 hex digits)");
      return undefined;
    }
    return decodeHex(v);
  }, false) ?? [];
  const MemoryIntegrity = r.boolean("MemoryIntegrity", false) ?? false;
  const SMTDisabled = r.boolean("SMTDisabled", false) ?? false;
  const StaticPlatform = r.boolean("StaticPlatform", false) ?? false;
  const CPUs = r.integer("CPUs", { min: 0, max: Number.MAX_SAFE_INTEGER }, false);
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
  const vendorRoot = root === undefined ? undefined : simulatedRootRefusal(root);
  if (simulated && vendorRoot !== undefined) {
    issues.add(childPath(path, "SimulatedRootSHA256"), vendorRoot);
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
    Rtmrs: rtmrs,
    Xfam,
    TdAttributes,
    MinTCBEvaluationDataNumber,
    AllowedTcbStatuses: statuses && statuses.length > 0 ? statuses : ["UpToDate"],
    SimulatedRootSHA256: simulated ? root : undefined,
    AllowedPIIDs,
    MemoryIntegrity,
    SMTDisabled,
    StaticPlatform,
    ...(CPUs !== undefined ? { CPUs } : {}),
  };
}

/** The platform name of the built-in default entry (see {@link defaultTdxReferenceValues}). */
const DEFAULT_TDX_PLATFORM = "default";

/**
 * The built-in defaults used when no reference values are given (the CLI without
 * `--reference-values`), as SNP's defaults: any measurement, but the TD attributes must pass the
 * default check (SEPT_VE_DISABLE set; DEBUG, the other TD-under-debug bits, MIGRATABLE and unknown
 * bits off) and the TCB status must be one of `allowedTcbStatuses` (default UpToDate). The quote
 * must chain to the pinned Intel root.
 *
 * @example
 * ```ts
 * import { defaultTdxReferenceValues } from "./reference_values.ts";
 * const [entry] = defaultTdxReferenceValues();
 * console.log(entry!.AllowedTcbStatuses); // ["UpToDate"]
 * ```
 */
export function defaultTdxReferenceValues(
  allowedTcbStatuses: readonly TcbStatus[] = ["UpToDate"],
): TdxReferenceValue[] {
  return [{
    Platform: DEFAULT_TDX_PLATFORM,
    MinTCBEvaluationDataNumber: 0,
    AllowedTcbStatuses: [...allowedTcbStatuses],
  }];
}

/**
 * Reads a reference-values document: a manifest (`{"ReferenceValues": {"tdx": [...]}}`), a
 * `{"tdx": [...]}` object (as SNP accepts `{"snp": [...]}`), an array of entries, or one entry.
 *
 * @example
 * ```ts
 * import { IssueList } from "../util/json/mod.ts";
 * import { readTdxReferenceValuesDocument } from "./mod.ts";
 *
 * const values = readTdxReferenceValuesDocument(
 *   { tdx: [{ Platform: "Simulated-TDX", MrTd: "11".repeat(48), SimulatedRootSHA256: "00".repeat(32) }] },
 *   new IssueList(),
 * );
 * console.log(values.length); // 1
 * ```
 *
 * @throws {import("../util/errors/mod.ts").InvalidDocumentError} with every problem and its path
 */
export function readTdxReferenceValuesDocument(
  document: unknown,
  issues: IssueList,
): TdxReferenceValue[] {
  return readPlatformList(document, "tdx", "TDX reference values", readTdxReferenceValue, issues);
}

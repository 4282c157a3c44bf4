/**
 * SEV-SNP reference values: the manifest's `ReferenceValues.snp[i]` entry, with Contrast's field
 * names (see DESIGN.md), read strictly with every problem reported at its JSON path.
 *
 * Semantics of the entry (checked by `validate/validate.ts`):
 * - `ProductName`: the processor line; `TrustedMeasurement`: the launch `MEASUREMENT`.
 * - `MinimumTCB`: every component of `REPORTED_TCB`, `COMMITTED_TCB` and `LAUNCH_TCB` must be at
 *   least this (`FMCVersion` is for Turin only).
 * - `GuestPolicy` (go-sev-guest `abi.SnpPolicy` names): permissions (`SMT`, `MigrateMA`, `Debug`,
 *   `CXLAllowed`) may only be set in the report when set here; requirements (`SingleSocket`,
 *   `MemAES256XTS`, `RAPLDis`, `CipherTextHidingDRAM`, `PageSwapDisable`) set here must be set in
 *   the report; the report's ABI minimum must be at least `ABIMajor.ABIMinor`.
 * - `PlatformInfo` (go-sev-guest `abi.SnpPlatformInfo` names): `SMTEnabled`, `TSMEEnabled` and
 *   `TIOEnabled` are allowances (a platform with the feature is rejected unless set here);
 *   `ECCEnabled`, `RAPLDisabled`, `CiphertextHidingDRAMEnabled` and `AliasCheckComplete` are
 *   requirements. Absent: not checked.
 * - `AllowedChipIDs`, `TrustedIDKeyDigests`: when non-empty, the report's value must be listed.
 * - `APEIP` (Contrast): the SEV-ES AP reset EIP of the guest firmware (OVMF), 4 bytes as 8 hex
 *   digits (big-endian, as Contrast's `ap-eip` prints it; `""` or `null` = absent). With it, `TrustedMeasurement` is the
 *   1-vCPU launch digest and the report's `MEASUREMENT` must be that digest extended by the AP
 *   VMSA pages of some vCPU count from 1 to 220 (`abi/vcpu_launch_digest.ts`), with the vCPU
 *   model of `ProductName` (Milan, Genoa; Turin has none): so one entry admits a node image at
 *   any vCPU count and nothing else (`TrustedMeasurement` is required as always).
 * - `MinimumMitigationVector` (Contrast): every bit set here must be set in the report's
 *   `LAUNCH_MIT_VECTOR` and `CURRENT_MIT_VECTOR` (reports v5+; older reports carry none and fail
 *   a non-zero requirement). This is Contrast's check: it passes the value as go-sev-guest's
 *   `MinimumLaunchMitigationVector` and `MinimumCurrentMitigationVector`, whose
 *   `validateMitigationVectors` requires `vector & minimum == minimum` for each, and a report
 *   before version 5 has both vectors 0. `CPUs` (Contrast) is informative and not checked.
 * - `VMPL` (contrast extension): the report's VMPL must equal it. Absent means 0, never "any":
 *   contrast's guests (bare metal, AKS, simulated) run at VMPL 0, and DESIGN.md's entry format has
 *   no VMPL field, so entries written to it stay readable and still pin VMPL 0. A guest behind an
 *   SVSM or paravisor (reporting at VMPL 1–3) must be named explicitly.
 * - `Platform: "Simulated-SNP"` entries must name their root in `SimulatedRootSHA256` (SHA-256
 *   of the simulated ARK certificate); the field is rejected on every other platform, and so is
 *   a vendor's real root there (an AMD ARK or the Intel SGX Root CA: `evidence/vendor_roots.ts`).
 *
 * @module
 */
import { childPath, type IssueList, ObjectReader, readPlatformList } from "../util/json/mod.ts";
import { SNP_PRODUCTS, type SnpProductName } from "./abi/product.ts";
import { snpVcpuSignature } from "./abi/vcpu_launch_digest.ts";
import { simulatedRootRefusal } from "../evidence/vendor_roots.ts";

/** The VMPL an entry without `VMPL` requires: the level contrast's guests run at. */
const DEFAULT_SNP_VMPL = 0;

/** The platform name that marks simulated SNP evidence. */
export const SIMULATED_SNP_PLATFORM = "Simulated-SNP";

/**
 * `MinimumTCB`: minimum security patch levels.
 *
 * @example Require at least these TCB component versions
 * ```ts
 * import type { SnpMinimumTcb } from "./mod.ts";
 *
 * const min: SnpMinimumTcb = { BootloaderVersion: 9, TEEVersion: 0, SNPVersion: 23, MicrocodeVersion: 72 };
 * ```
 */
export interface SnpMinimumTcb {
  /** Boot loader SPL. */
  readonly BootloaderVersion: number;
  /** TEE (PSP OS) SPL. */
  readonly TEEVersion: number;
  /** SNP firmware SPL. */
  readonly SNPVersion: number;
  /** Microcode SPL. */
  readonly MicrocodeVersion: number;
  /** FMC SPL (Turin only). */
  readonly FMCVersion?: number;
}

/**
 * `GuestPolicy`: the go-sev-guest `abi.SnpPolicy` fields.
 *
 * @example The guest policy a reference value expects
 * ```ts
 * import { defaultSnpReferenceValues, type SnpGuestPolicyReference } from "./mod.ts";
 *
 * const policy: SnpGuestPolicyReference = defaultSnpReferenceValues()[0].GuestPolicy;
 * console.log(policy.Debug); // false
 * ```
 */
export interface SnpGuestPolicyReference {
  /** Minimum ABI minor the report's policy must request at least. */
  readonly ABIMinor: number;
  /** Minimum ABI major. */
  readonly ABIMajor: number;
  /** SMT allowed. */
  readonly SMT: boolean;
  /** Migration agent allowed. */
  readonly MigrateMA: boolean;
  /** Debugging allowed (never in production). */
  readonly Debug: boolean;
  /** Single socket required. */
  readonly SingleSocket: boolean;
  /** CXL allowed. */
  readonly CXLAllowed: boolean;
  /** AES-256-XTS required. */
  readonly MemAES256XTS: boolean;
  /** RAPL disable required. */
  readonly RAPLDis: boolean;
  /** Ciphertext hiding required. */
  readonly CipherTextHidingDRAM: boolean;
  /** Page swap disable required. */
  readonly PageSwapDisable: boolean;
}

/**
 * `PlatformInfo`: the go-sev-guest `abi.SnpPlatformInfo` fields.
 *
 * @example Require SMT off and TSME on
 * ```ts
 * import { baselineSnpReferenceValue, type SnpPlatformInfoReference } from "./mod.ts";
 *
 * const platformInfo: SnpPlatformInfoReference = {
 *   SMTEnabled: false,
 *   TSMEEnabled: true,
 *   ECCEnabled: false,
 *   RAPLDisabled: false,
 *   CiphertextHidingDRAMEnabled: false,
 *   AliasCheckComplete: false,
 *   TIOEnabled: false,
 * };
 * const ref = { ...baselineSnpReferenceValue("Metal-QEMU-SNP", "Genoa"), PlatformInfo: platformInfo };
 * ```
 */
export interface SnpPlatformInfoReference {
  /** SMT may be enabled on the platform. */
  readonly SMTEnabled: boolean;
  /** TSME may be enabled. */
  readonly TSMEEnabled: boolean;
  /** ECC memory required. */
  readonly ECCEnabled: boolean;
  /** RAPL must be disabled. */
  readonly RAPLDisabled: boolean;
  /** Ciphertext hiding for DRAM required. */
  readonly CiphertextHidingDRAMEnabled: boolean;
  /** Alias check completion required. */
  readonly AliasCheckComplete: boolean;
  /** SEV-TIO may be enabled. */
  readonly TIOEnabled: boolean;
}

/**
 * One SNP reference-value entry of the manifest.
 *
 * @example Allow one chip only
 * ```ts
 * import { baselineSnpReferenceValue, type SnpReferenceValue } from "./mod.ts";
 *
 * const ref: SnpReferenceValue = {
 *   ...baselineSnpReferenceValue("Metal-QEMU-SNP", "Milan"),
 *   AllowedChipIDs: ["00".repeat(64)],
 * };
 * ```
 */
export interface SnpReferenceValue {
  /** Platform name (e.g. `Metal-QEMU-SNP`, or `Simulated-SNP`). */
  readonly Platform?: string;
  /** Processor line. */
  readonly ProductName: SnpProductName;
  /** Expected `MEASUREMENT`, 96 lower-case hex digits; absent only in built-in defaults. */
  readonly TrustedMeasurement?: string;
  /** Minimum TCB. */
  readonly MinimumTCB: SnpMinimumTcb;
  /** Guest policy constraints. */
  readonly GuestPolicy: SnpGuestPolicyReference;
  /** Platform info constraints; absent: not checked. */
  readonly PlatformInfo?: SnpPlatformInfoReference;
  /** Allowed `CHIP_ID`s (128 lower-case hex digits); empty: any. */
  readonly AllowedChipIDs: readonly string[];
  /** Allowed `ID_KEY_DIGEST`s (96 lower-case hex digits); empty: any. */
  readonly TrustedIDKeyDigests: readonly string[];
  /** Required `VMPL` (0 when the entry leaves it out; see the module documentation). */
  readonly VMPL: number;
  /**
   * Contrast's `MinimumMitigationVector`: mitigation bits that must be set in both
   * `LAUNCH_MIT_VECTOR` and `CURRENT_MIT_VECTOR` (reports v5+); 0 or absent: not checked.
   */
  readonly MinimumMitigationVector?: number;
  /** Contrast's `CPUs`: the number of vCPUs, informative only (the measurement covers it). */
  readonly CPUs?: number;
  /**
   * Contrast's `APEIP`: the firmware's AP reset EIP (8 lower-case hex digits); with it
   * `TrustedMeasurement` is the 1-vCPU digest and 1–220 vCPUs are accepted.
   */
  readonly APEIP?: string;
  /** SHA-256 of the simulated ARK (64 lower-case hex digits); simulated platforms only. */
  readonly SimulatedRootSHA256?: string;
}

const SPL = { min: 0, max: 255 } as const;

function readHexList(
  r: ObjectReader,
  key: string,
  bytes: number,
): string[] {
  return r.array(key, (value, path) => {
    if (typeof value !== "string" || !/^[0-9a-fA-F]*$/.test(value) || value.length % 2 !== 0) {
      r.issues.add(path, "expected a hex string");
      return undefined;
    }
    if (value.length !== 2 * bytes) {
      r.issues.add(
        path,
        `expected ${bytes} bytes (${2 * bytes} hex digits), got ${value.length / 2} bytes`,
      );
      return undefined;
    }
    return value.toLowerCase();
  }, false) ?? [];
}

function readGuestPolicy(r: ObjectReader): SnpGuestPolicyReference {
  const b = (key: string) => r.boolean(key, false) ?? false;
  return {
    ABIMinor: r.integer("ABIMinor", SPL, false) ?? 0,
    ABIMajor: r.integer("ABIMajor", SPL, false) ?? 0,
    SMT: b("SMT"),
    MigrateMA: b("MigrateMA"),
    Debug: b("Debug"),
    SingleSocket: b("SingleSocket"),
    CXLAllowed: b("CXLAllowed"),
    MemAES256XTS: b("MemAES256XTS"),
    RAPLDis: b("RAPLDis"),
    CipherTextHidingDRAM: b("CipherTextHidingDRAM"),
    PageSwapDisable: b("PageSwapDisable"),
  };
}

function readPlatformInfo(r: ObjectReader): SnpPlatformInfoReference {
  const b = (key: string) => r.boolean(key, false) ?? false;
  return {
    SMTEnabled: b("SMTEnabled"),
    TSMEEnabled: b("TSMEEnabled"),
    ECCEnabled: b("ECCEnabled"),
    RAPLDisabled: b("RAPLDisabled"),
    CiphertextHidingDRAMEnabled: b("CiphertextHidingDRAMEnabled"),
    AliasCheckComplete: b("AliasCheckComplete"),
    TIOEnabled: b("TIOEnabled"),
  };
}

/**
 * Reads one SNP reference-value entry strictly. Every problem goes to `issues` with its JSON
 * path (`ReferenceValues.snp[0].MinimumTCB.SNPVersion: expected an integer 0–255, got 300`);
 * the result is undefined when there was any problem in this entry.
 */
export function readSnpReferenceValue(
  value: unknown,
  path: string,
  issues: IssueList,
): SnpReferenceValue | undefined {
  const before = issues.issues.length;
  const r = new ObjectReader(value, path, issues);
  if (!r.ok) return undefined;
  const platform = r.string("Platform", false);
  if (platform !== undefined && platform.trim() === "") {
    issues.add(childPath(path, "Platform"), "must not be empty");
  }
  const productName = r.string("ProductName");
  let product: SnpProductName | undefined;
  if (productName !== undefined) {
    product = SNP_PRODUCTS.find((p) => p === productName);
    if (product === undefined) {
      issues.add(
        childPath(path, "ProductName"),
        `expected one of ${SNP_PRODUCTS.join(", ")}, got "${productName}"`,
      );
    }
  }
  const measurement = r.hex("TrustedMeasurement", 48);
  const minimumTcb = r.object("MinimumTCB", (t) => {
    const tcb = {
      BootloaderVersion: t.integer("BootloaderVersion", SPL),
      TEEVersion: t.integer("TEEVersion", SPL),
      SNPVersion: t.integer("SNPVersion", SPL),
      MicrocodeVersion: t.integer("MicrocodeVersion", SPL),
      FMCVersion: undefined as number | undefined,
    };
    const fmcRaw = t.raw("FMCVersion", false);
    if (product === "Turin") {
      tcb.FMCVersion = t.integer("FMCVersion", SPL);
    } else if (fmcRaw !== undefined && fmcRaw !== null) {
      issues.add(
        childPath(t.path, "FMCVersion"),
        `only Turin has an FMC; must be absent or null for ${product ?? "this product"}`,
      );
    }
    return tcb;
  });
  const guestPolicy = r.object("GuestPolicy", readGuestPolicy, false);
  const platformInfo = r.object("PlatformInfo", readPlatformInfo, false);
  const chipIds = readHexList(r, "AllowedChipIDs", 64);
  const idKeyDigests = readHexList(r, "TrustedIDKeyDigests", 48);
  const vmpl = r.integer("VMPL", { min: 0, max: 3 }, false);
  // Contrast writes this uint64 as a JSON number: exact up to 2^53 − 1, which every defined
  // mitigation bit fits in.
  const mitigation = r.integer(
    "MinimumMitigationVector",
    { min: 0, max: Number.MAX_SAFE_INTEGER },
    false,
  );
  const cpus = r.integer("CPUs", { min: 0, max: Number.MAX_SAFE_INTEGER }, false);
  // Contrast marshals an unset APEIP (a HexString) as "": the same as absent.
  const apEipRaw = r.raw("APEIP", false);
  const apEip = apEipRaw === "" || apEipRaw === null ? undefined : r.hex("APEIP", 4, false);
  if (apEip !== undefined && product !== undefined && snpVcpuSignature(product) === undefined) {
    issues.add(
      childPath(path, "APEIP"),
      `no vCPU model is known for ${product} to derive launch digests with (Milan, Genoa)`,
    );
  }
  const simulatedRoot = r.hex("SimulatedRootSHA256", 32, false);
  const simulated = platform === SIMULATED_SNP_PLATFORM;
  if (simulated && simulatedRoot === undefined && !r.has("SimulatedRootSHA256")) {
    issues.add(
      childPath(path, "SimulatedRootSHA256"),
      `required for Platform "${SIMULATED_SNP_PLATFORM}": name the simulated root's SHA-256 fingerprint`,
    );
  }
  if (!simulated && r.has("SimulatedRootSHA256")) {
    issues.add(
      childPath(path, "SimulatedRootSHA256"),
      `only allowed for Platform "${SIMULATED_SNP_PLATFORM}"; real platforms use the pinned AMD roots`,
    );
  }
  const vendorRoot = simulatedRoot === undefined ? undefined : simulatedRootRefusal(simulatedRoot);
  if (simulated && vendorRoot !== undefined) {
    issues.add(childPath(path, "SimulatedRootSHA256"), vendorRoot);
  }
  r.finish();
  if (issues.issues.length !== before || product === undefined || minimumTcb === undefined) {
    return undefined;
  }
  return {
    ...(platform !== undefined ? { Platform: platform } : {}),
    ProductName: product,
    TrustedMeasurement: measurement,
    MinimumTCB: {
      BootloaderVersion: minimumTcb.BootloaderVersion!,
      TEEVersion: minimumTcb.TEEVersion!,
      SNPVersion: minimumTcb.SNPVersion!,
      MicrocodeVersion: minimumTcb.MicrocodeVersion!,
      ...(minimumTcb.FMCVersion !== undefined ? { FMCVersion: minimumTcb.FMCVersion } : {}),
    },
    GuestPolicy: guestPolicy ?? readGuestPolicy(new ObjectReader({}, path, issues)),
    ...(platformInfo !== undefined ? { PlatformInfo: platformInfo } : {}),
    AllowedChipIDs: chipIds,
    TrustedIDKeyDigests: idKeyDigests,
    VMPL: vmpl ?? DEFAULT_SNP_VMPL,
    ...(mitigation ? { MinimumMitigationVector: mitigation } : {}),
    ...(cpus !== undefined ? { CPUs: cpus } : {}),
    ...(apEip !== undefined ? { APEIP: apEip } : {}),
    ...(simulatedRoot !== undefined ? { SimulatedRootSHA256: simulatedRoot } : {}),
  };
}

/** Whether `value` is for simulated SNP (and so must name its root). */
export function isSimulated(value: SnpReferenceValue): boolean {
  return value.Platform === SIMULATED_SNP_PLATFORM;
}

/**
 * An entry for `product` on `platform` accepting any measurement and TCB, SMT allowed, debug
 * and migration agents forbidden, and VMPL 0: the built-in defaults, and the base simulated authorities
 * build their entries on.
 *
 * @example Accept one launch measurement on Genoa, with the defaults for everything else
 * ```ts
 * import { baselineSnpReferenceValue, type SnpReferenceValue } from "./mod.ts";
 *
 * const ref: SnpReferenceValue = {
 *   ...baselineSnpReferenceValue("Metal-QEMU-SNP", "Genoa"),
 *   TrustedMeasurement: "ab".repeat(48),
 * };
 * ```
 */
export function baselineSnpReferenceValue(
  platform: string,
  product: SnpProductName,
): SnpReferenceValue {
  return {
    Platform: platform,
    ProductName: product,
    MinimumTCB: {
      BootloaderVersion: 0,
      TEEVersion: 0,
      SNPVersion: 0,
      MicrocodeVersion: 0,
      ...(product === "Turin" ? { FMCVersion: 0 } : {}),
    },
    GuestPolicy: {
      ABIMinor: 0,
      ABIMajor: 0,
      SMT: true,
      MigrateMA: false,
      Debug: false,
      SingleSocket: false,
      CXLAllowed: false,
      MemAES256XTS: false,
      RAPLDis: false,
      CipherTextHidingDRAM: false,
      PageSwapDisable: false,
    },
    AllowedChipIDs: [],
    TrustedIDKeyDigests: [],
    VMPL: DEFAULT_SNP_VMPL,
  };
}

/**
 * The built-in defaults used when no reference values are given (the CLI without
 * `--reference-values`): one {@link baselineSnpReferenceValue} per product.
 *
 * @example
 * ```ts
 * import { defaultSnpReferenceValues } from "./mod.ts";
 *
 * for (const v of defaultSnpReferenceValues()) console.log(v.ProductName, v.GuestPolicy.Debug);
 * ```
 */
export function defaultSnpReferenceValues(): SnpReferenceValue[] {
  return SNP_PRODUCTS.map((product) => baselineSnpReferenceValue("default", product));
}

/**
 * Reads a reference-values file: a manifest (`{"ReferenceValues": {"snp": [...]}}`), a
 * `{"snp": [...]}` object, an array of entries, or one entry.
 *
 * @example
 * ```ts
 * import { IssueList } from "../util/json/mod.ts";
 * import { readSnpReferenceValuesDocument } from "./mod.ts";
 *
 * const values = readSnpReferenceValuesDocument(
 *   JSON.parse(await Deno.readTextFile("reference-values.json")),
 *   new IssueList(),
 * );
 * ```
 *
 * @throws {import("../util/errors/mod.ts").InvalidDocumentError} with every problem and its path
 */
export function readSnpReferenceValuesDocument(
  document: unknown,
  issues: IssueList,
): SnpReferenceValue[] {
  return readPlatformList(document, "snp", "SNP reference values", readSnpReferenceValue, issues);
}

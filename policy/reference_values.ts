/**
 * Reference values per `--reference-values` platform. What contrast knows (TCB minimums, guest
 * policy, accepted TCB statuses) ships in `policy/platforms/<Platform>.json`; what depends on the
 * user's node image (SNP launch measurement, TDX MRTD and, on real platforms, all four RTMRs) and
 * the fingerprint of a simulated root must come from the user. Nothing is filled in silently: a missing value is an error that
 * says which flag supplies it. The result is checked with the SNP/TDX manifest readers.
 *
 * @module
 */
import { decodeBase64, decodePem, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import { IssueList } from "../util/json/mod.ts";
import { readSnpReferenceValue } from "../snp/reference_values.ts";
import { readTdxReferenceValue } from "../tdx/reference_values.ts";
import { PUBLISHED_TDX_MODULES, resolveMrSeam } from "../tdx/published_modules.ts";
import { simulatedRootRefusal } from "../evidence/vendor_roots.ts";
import aksClhSnp from "./platforms/AKS-CLH-SNP.json" with { type: "json" };
import metalQemuSnp from "./platforms/Metal-QEMU-SNP.json" with { type: "json" };
import metalQemuTdx from "./platforms/Metal-QEMU-TDX.json" with { type: "json" };
import simulatedSnp from "./platforms/Simulated-SNP.json" with { type: "json" };
import simulatedTdx from "./platforms/Simulated-TDX.json" with { type: "json" };

/**
 * Platforms `--reference-values` accepts.
 *
 * @example List the platforms
 * ```ts
 * import { PLATFORMS } from "./mod.ts";
 *
 * console.log(PLATFORMS.join(", "));
 * ```
 */
export const PLATFORMS = [
  "AKS-CLH-SNP",
  "Metal-QEMU-SNP",
  "Metal-QEMU-TDX",
  "Simulated-SNP",
  "Simulated-TDX",
] as const;

/**
 * A platform name.
 *
 * @example Check a flag value
 * ```ts
 * import { type PlatformName, PLATFORMS } from "./mod.ts";
 *
 * function platformOf(flag: string): PlatformName {
 *   const found = PLATFORMS.find((p) => p === flag);
 *   if (!found) throw new Error(`unknown platform ${flag}`);
 *   return found;
 * }
 * console.log(platformOf("Metal-QEMU-SNP"));
 * ```
 */
export type PlatformName = typeof PLATFORMS[number];

/**
 * Values only the user can know.
 *
 * @example Values only the user knows
 * ```ts
 * import { type UserReferenceInputs } from "./mod.ts";
 *
 * const inputs: UserReferenceInputs = { trustedMeasurement: "00".repeat(48) };
 * console.log(inputs.trustedMeasurement?.length); // 96
 * ```
 */
export interface UserReferenceInputs {
  /** SNP launch measurement, 96 hex digits. */
  readonly trustedMeasurement?: string;
  /**
   * SNP firmware AP reset EIP, 8 hex digits (Contrast's `APEIP`): the measurement is then the
   * 1-vCPU one, and every vCPU count from 1 to 220 derived from it is accepted.
   */
  readonly apEip?: string;
  /** TDX MRTD, 96 hex digits. */
  readonly mrTd?: string;
  /** TDX RTMR0..3, 96 hex digits each (all four or none). */
  readonly rtmrs?: readonly string[];
  /**
   * TDX MRSEAM of the hosts' TDX module(s), 96 hex digits or a published module version
   * (`1.5.28`, see `tdx/published_modules.ts`) each: one TDX entry per value. Without any, real
   * TDX gets one entry per module whose MRSEAM Intel publishes.
   */
  readonly mrSeams?: readonly string[];
  /** TDX XFAM, 16 hex digits (default: the platform template's). */
  readonly xfam?: string;
  /** SHA-256 fingerprint of the simulated root (64 hex digits). */
  readonly simulatedRootSha256?: string;
}

/**
 * `ReferenceValues` as written into manifest.json.
 *
 * @example Count the entries per platform
 * ```ts
 * import { type ManifestReferenceValues, referenceValuesFor } from "./mod.ts";
 *
 * const values: ManifestReferenceValues = await referenceValuesFor("Simulated-SNP", {
 *   simulatedRootSha256: "00".repeat(32),
 * });
 * console.log(values.snp.length, values.tdx.length);
 * ```
 */
export interface ManifestReferenceValues {
  /** The SNP entries, as JSON values. */
  readonly snp: readonly Record<string, unknown>[];
  /** The TDX entries, as JSON values. */
  readonly tdx: readonly Record<string, unknown>[];
}

/** Whether `name` is a known platform. */
export function isPlatform(name: string): name is PlatformName {
  return (PLATFORMS as readonly string[]).includes(name);
}

// The shipped templates, embedded in the program (policy/platforms/<Platform>.json).
const TEMPLATES: Readonly<Record<PlatformName, unknown>> = {
  "AKS-CLH-SNP": aksClhSnp,
  "Metal-QEMU-SNP": metalQemuSnp,
  "Metal-QEMU-TDX": metalQemuTdx,
  "Simulated-SNP": simulatedSnp,
  "Simulated-TDX": simulatedTdx,
};

/** The shipped template of `platform` (a fresh copy). */
export function readPlatformTemplate(platform: PlatformName): Promise<ManifestReferenceValues> {
  const doc = structuredClone(TEMPLATES[platform]) as {
    snp: Record<string, unknown>[];
    tdx: Record<string, unknown>[];
  };
  return Promise.resolve({ snp: doc.snp, tdx: doc.tdx });
}

function hexFlag(value: string | undefined, flag: string, bytes: number): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(v)) {
    throw new ParseError(flag, `expected ${bytes} bytes as ${bytes * 2} hex digits`);
  }
  return v;
}

/**
 * The reference values for `platform`: the shipped template completed with the user's inputs,
 * validated with the manifest's SNP/TDX readers.
 *
 * @throws {ParseError} for a malformed flag value
 * @throws {InvalidDocumentError} naming each `ReferenceValues…` path still missing, and the flag
 *
 * @example Reference values for bare-metal SNP
 * ```ts
 * import { referenceValuesFor } from "./mod.ts";
 *
 * const values = await referenceValuesFor("Metal-QEMU-SNP", { trustedMeasurement: "00".repeat(48) });
 * console.log(JSON.stringify(values.snp[0]));
 * ```
 */
export async function referenceValuesFor(
  platform: PlatformName,
  inputs: UserReferenceInputs,
): Promise<ManifestReferenceValues> {
  const template = await readPlatformTemplate(platform);
  const measurement = hexFlag(inputs.trustedMeasurement, "--trusted-measurement", 48);
  const apEip = hexFlag(inputs.apEip, "--ap-eip", 4);
  if (apEip && template.snp.length === 0) {
    throw new ParseError("--ap-eip", `only for SNP platforms; ${platform} has no SNP entries`);
  }
  const mrTd = hexFlag(inputs.mrTd, "--mrtd", 48);
  const rtmrs = inputs.rtmrs?.map((r, i) => hexFlag(r, `--rtmr[${i}]`, 48)!);
  if (rtmrs && rtmrs.length !== 0 && rtmrs.length !== 4) {
    throw new ParseError("--rtmr", `give all four RTMRs (RTMR0..3), got ${rtmrs.length}`);
  }
  const root = hexFlag(inputs.simulatedRootSha256, "--simulated-root", 32);
  if (root) refuseVendorRoot(root, "--simulated-root");
  const given = inputs.mrSeams?.map((m, i) => resolveMrSeam(m, `--mrseam[${i}]`)) ?? [];
  // Without --mrseam, real TDX accepts the modules whose MRSEAM Intel publishes.
  const mrSeams = given.length > 0 || simulatedPlatform(platform)
    ? given
    : PUBLISHED_TDX_MODULES.map((m) => m.mrSeam);
  const xfam = hexFlag(inputs.xfam, "--xfam", 8);
  const simulated = simulatedPlatform(platform);
  const issues = new IssueList();
  const snp = template.snp.map((entry, i) => {
    const out: Record<string, unknown> = { ...entry };
    if (measurement) out.TrustedMeasurement = measurement;
    else {
      issues.add(
        `ReferenceValues.snp[${i}].TrustedMeasurement`,
        `contrast cannot know the launch measurement of your ${platform} node image; supply it with --trusted-measurement <96 hex digits>`,
      );
    }
    if (apEip) out.APEIP = apEip;
    if (simulated) {
      if (root) out.SimulatedRootSHA256 = root;
      else {
        issues.add(
          `ReferenceValues.snp[${i}].SimulatedRootSHA256`,
          "a simulated platform must name its root: pass --simulated-root <sha256 fingerprint | ARK PEM | authority dir>",
        );
      }
    }
    return out;
  });
  // Completed once per template entry (so a missing value is reported once), then repeated per
  // TDX module.
  const completed = template.tdx.map((entry, i) => {
    const out: Record<string, unknown> = { ...entry };
    if (xfam) out.Xfam = xfam;
    if (mrTd) out.MrTd = mrTd;
    else {
      issues.add(
        `ReferenceValues.tdx[${i}].MrTd`,
        `contrast cannot know the MRTD of your ${platform} node image; supply it with --mrtd <96 hex digits>`,
      );
    }
    if (rtmrs && rtmrs.length === 4) out.Rtmrs = rtmrs;
    else if (!simulated) {
      issues.add(
        `ReferenceValues.tdx[${i}].Rtmrs`,
        `contrast cannot know the RTMRs (kernel, initrd, command line) of your ${platform} node image, and without them any would be accepted; supply RTMR0..3 with --rtmr <96 hex digits>, four times in order`,
      );
    }
    if (simulated) {
      if (root) out.SimulatedRootSHA256 = root;
      else {
        issues.add(
          `ReferenceValues.tdx[${i}].SimulatedRootSHA256`,
          "a simulated platform must name its root: pass --simulated-root <sha256 fingerprint | root CA PEM | authority file>",
        );
      }
    }
    return out;
  });
  const tdx = tdxEntriesPerModule(template.tdx, completed, mrSeams);
  tdx.forEach((entry, i) => requireTdxModule(entry, `ReferenceValues.tdx[${i}]`, issues));
  issues.throwIfAny();
  checkReferenceValues({ snp, tdx });
  return { snp, tdx };
}

function simulatedPlatform(platform: PlatformName): boolean {
  return platform.startsWith("Simulated-");
}

/**
 * A real TDX entry must name the hosts' TDX module (`MrSeam`): Contrast refuses an entry without
 * it (`TDXReferenceValues.Validate`), and without it any TDX module would be accepted.
 */
function requireTdxModule(entry: Record<string, unknown>, path: string, issues: IssueList): void {
  if (entry.Platform === "Simulated-TDX" || entry.MrSeam !== undefined) return;
  issues.add(
    `${path}.MrSeam`,
    `contrast cannot know the TDX module (MRSEAM) of your ${
      String(entry.Platform)
    } hosts, and Contrast refuses a TDX entry without it; supply it with --mrseam <96 hex digits | published version> (once per module version; \`contrast evidence show --platform tdx --quote FILE\` on a host's quote shows it)`,
  );
}

/**
 * The completed TDX entries, once per MRSEAM (each with it, placed after the template's fields),
 * or unchanged without any.
 */
function tdxEntriesPerModule(
  template: readonly Record<string, unknown>[],
  completed: readonly Record<string, unknown>[],
  mrSeams: readonly string[],
): Record<string, unknown>[] {
  if (mrSeams.length === 0) return completed.map((e) => ({ ...e }));
  return completed.flatMap((e, i) =>
    [...new Set(mrSeams)].map((MrSeam) => ({ ...template[i], MrSeam, ...e }))
  );
}

/**
 * Checks reference values with the manifest's own SNP and TDX readers.
 *
 * @throws {InvalidDocumentError} with every problem and its `ReferenceValues…` path
 */
export function checkReferenceValues(values: ManifestReferenceValues): void {
  const issues = new IssueList();
  values.snp.forEach((v, i) => readSnpReferenceValue(v, `ReferenceValues.snp[${i}]`, issues));
  values.tdx.forEach((v, i) => {
    const path = `ReferenceValues.tdx[${i}]`;
    readTdxReferenceValue(v, path, issues);
    requireTdxModule(v, path, issues);
  });
  if (values.snp.length === 0 && values.tdx.length === 0) {
    issues.add("ReferenceValues", "no reference values");
  }
  issues.throwIfAny();
}

const FLAG_FOR_FIELD: readonly [RegExp, string][] = [
  [/\.Rtmrs(\[\d+\])?$/, "supply RTMR0..3 with --rtmr <96 hex digits>, four times in order"],
  [/\.MrTd$/, "supply it with --mrtd <96 hex digits>"],
  [/\.MrSeam$/, "supply it with --mrseam <96 hex digits | published version>"],
  [/\.TrustedMeasurement$/, "supply it with --trusted-measurement <96 hex digits>"],
  [/\.SimulatedRootSHA256$/, "supply it with --simulated-root"],
];

/**
 * The same error with, for each problem in a value the user supplies by flag, the flag that
 * supplies it (for reference values kept from an existing manifest).
 */
export function withFlagHints(error: InvalidDocumentError): InvalidDocumentError {
  return new InvalidDocumentError(
    error.issues.map((issue) => {
      const flag = FLAG_FOR_FIELD.find(([pattern]) => pattern.test(issue.path))?.[1];
      return flag ? { ...issue, reason: `${issue.reason}; ${flag}` } : issue;
    }),
    { cause: error },
  );
}

/**
 * Resolves `--simulated-root`: a 64-hex fingerprint as is; otherwise a path to a PEM certificate,
 * a directory holding `ark.pem` (simulated SNP authority) or a simulated TDX authority file (JSON
 * with `root.cert` as base64 DER or PEM), whose first certificate's DER is hashed.
 *
 * @throws {ParseError} when the value is neither, or names a vendor's real root (an AMD ARK or
 *   the Intel SGX Root CA)
 */
export async function simulatedRootFingerprint(value: string): Promise<string> {
  const fingerprint = await fingerprintNamedBy(value);
  refuseVendorRoot(fingerprint, "--simulated-root", value);
  return fingerprint;
}

/**
 * Refuses a vendor's real root (an AMD ARK, the Intel SGX Root CA) where a simulated root is
 * asked for: a simulated entry naming it would let genuine evidence pass with less checked.
 */
function refuseVendorRoot(fingerprint: string, flag: string, given?: string): void {
  const refusal = simulatedRootRefusal(fingerprint);
  if (refusal === undefined) return;
  const what = given !== undefined && given.toLowerCase() !== fingerprint ? `${given} ` : "";
  throw new ParseError(flag, `${what}${refusal}`);
}

async function fingerprintNamedBy(value: string): Promise<string> {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  let path = value;
  try {
    if ((await Deno.stat(path)).isDirectory) path = `${path}/ark.pem`;
  } catch {
    throw new ParseError(
      "--simulated-root",
      `neither a SHA-256 fingerprint nor a readable path: ${value}`,
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ParseError("--simulated-root", `cannot read ${path}: ${(error as Error).message}`);
  }
  if (text.trimStart().startsWith("{")) {
    let cert: unknown;
    try {
      cert = (JSON.parse(text) as { root?: { cert?: unknown } }).root?.cert;
    } catch {
      throw new ParseError("--simulated-root", `${path} is not valid JSON`);
    }
    if (typeof cert !== "string" || cert === "") {
      throw new ParseError("--simulated-root", `${path} has no root.cert`);
    }
    // A simulated TDX authority file holds the root certificate as base64 DER (or PEM).
    if (!cert.includes("-----BEGIN")) {
      return encodeHex(await sha256(decodeBase64(cert, "--simulated-root")));
    }
    text = cert;
  }
  const blocks = decodePem(text, "CERTIFICATE", "--simulated-root");
  if (blocks.length === 0) throw new ParseError("--simulated-root", `no certificate in ${path}`);
  return encodeHex(await sha256(blocks[0]!.der));
}

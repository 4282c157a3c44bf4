/**
 * MRSEAM values Intel publishes for its TDX module releases: the "Expected module hash (MRSEAM)"
 * section of `BUILD.md` in Intel's TDX module source repository (github.com/intel/tdx-module, also
 * published as intel/confidential-computing.tdx.tdx-module), together with the build date, build
 * number and update version that reproduce the binary. Each entry records where it was read: the
 * repository, the commit and the file, and the module version from `proj_defs.mk` at that commit.
 * Releases whose `BUILD.md` states no MRSEAM (e.g. 1.5.01, 1.5.05, 1.5.06) are not listed: a host
 * running one needs `--mrseam <hex>` (`contrast evidence show --platform tdx` shows a quote's).
 *
 * A listed MRSEAM says which module the host runs, not whether it is current: the quote's TEE TCB
 * SVN is judged against Intel's TCB info as for every quote (`AllowedTcbStatuses`).
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/**
 * One TDX module release with the MRSEAM Intel publishes for it.
 *
 * @example Print where each value comes from
 * ```ts
 * import { PUBLISHED_TDX_MODULES, type PublishedTdxModule } from "./mod.ts";
 *
 * const modules: readonly PublishedTdxModule[] = PUBLISHED_TDX_MODULES;
 * for (const m of modules) console.log(m.version, m.mrSeam, m.source);
 * ```
 */
export interface PublishedTdxModule {
  /** Module version, `<major>.<minor>.<update>` (e.g. `1.5.28`), as `--mrseam` names it. */
  readonly version: string;
  /** `TDX_MODULE_BUILD_DATE` (YYYYMMDD) and `TDX_MODULE_BUILD_NUM` of the published binary. */
  readonly build: { readonly date: string; readonly number: number };
  /** MRSEAM, 96 lower-case hex digits. */
  readonly mrSeam: string;
  /** Where the value was read. */
  readonly source: string;
}

const REPO = "https://github.com/intel/tdx-module";

/**
 * The published modules, oldest first.
 *
 * @example Reference values accepting every published module (one entry each)
 * ```ts
 * import { PUBLISHED_TDX_MODULES } from "./mod.ts";
 *
 * const entries = PUBLISHED_TDX_MODULES.map((m) => ({ Platform: "Metal-QEMU-TDX", MrSeam: m.mrSeam }));
 * console.log(entries.length);
 * ```
 */
export const PUBLISHED_TDX_MODULES: readonly PublishedTdxModule[] = [
  {
    version: "1.5.28",
    build: { date: "20251126", number: 989 },
    mrSeam:
      "346bc77a1846cac214dd2e8edeb9ee4349449d6c3f9ff2c52149a634c27b7fd1bd314c2ef6b973eeebd55742952531a1",
    source: `${REPO} commit 30d2218864368abb601d198a7a237e0db5595353, BUILD.md ` +
      `"Expected module hash (MRSEAM)"; version from proj_defs.mk at that commit`,
  },
  {
    version: "1.5.34",
    build: { date: "20260330", number: 1024 },
    mrSeam:
      "ab62561a173acbd18ee50ff37750db44184c6cf5e886df74247cc575e163b04c34b9e18374757c235affa614d4127f6b",
    source: `${REPO} commit 9fd3c8b1d52ba3092f7d99d9eb036644f9765a79, BUILD.md ` +
      `"Expected module hash (MRSEAM)"; version from proj_defs.mk at that commit`,
  },
  {
    version: "2.0.08",
    build: { date: "20250325", number: 882 },
    mrSeam:
      "476a2997c62bccc78370913d0a80b956e3721b24272bc66c4d6307ced4be2865c40e26afac75f12df3425b03eb59ea7c",
    source: `${REPO} commit 1666adc494dbea5db99895f37125a338c20bec5a, BUILD.md ` +
      `"Expected module hash (MRSEAM)"; version from proj_defs.mk at that commit`,
  },
];

/**
 * The MRSEAM `value` names: 96 hex digits as given, or the version of a published module
 * (`1.5.28`, also written `tdx-module-1.5.28`).
 *
 * @throws {ParseError} naming `field` for anything else, listing the published versions
 *
 * @example Resolve a module version
 * ```ts
 * import { resolveMrSeam } from "./mod.ts";
 *
 * console.log(resolveMrSeam("2.0.08", "--mrseam")); // 476a2997…
 * ```
 */
export function resolveMrSeam(value: string, field: string): string {
  const v = value.trim().toLowerCase();
  if (/^[0-9a-f]{96}$/.test(v)) return v;
  const version = v.replace(/^tdx-module-/, "");
  const found = PUBLISHED_TDX_MODULES.find((m) => m.version === version);
  if (found) return found.mrSeam;
  throw new ParseError(
    field,
    `expected 48 bytes as 96 hex digits or a published TDX module version (${
      PUBLISHED_TDX_MODULES.map((m) => m.version).join(", ")
    }), got "${value}"`,
  );
}

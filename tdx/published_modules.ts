/**
 * MRSEAM values Intel publishes for its TDX module releases: every row of the table "Intel TDX
 * Module Releases and Hashes" on the landing page (`README.md`) of Intel's TDX module source
 * repository (github.com/intel/tdx-module, also published as
 * intel/confidential-computing.tdx.tdx-module): 19 releases, 1.5.01 to 1.5.34 and 2.0.02 to
 * 2.0.18. Each entry records where it was read. Two stored versions of that page were read: the
 * one at commit 0218cf316921b7ba2eeb877778ed5e03fb14656e lists 17 of them (1.5.28 and 2.0.16 there
 * marked as not yet released as source), a later one (the search index's file 65968152114; its
 * commit is not recorded) lists all 19 with the same value for each of those 17 and adds 1.5.34
 * and 2.0.18. For 1.5.28, 1.5.34 and 2.0.08 the "Expected module hash (MRSEAM)" section of
 * `BUILD.md` at the release commit states the same value, with the build date and number that
 * reproduce the binary (`build`). A module Intel has not published (or a newer one) needs
 * `--mrseam <hex>` (`contrast evidence show --platform tdx` shows a quote's).
 *
 * A listed MRSEAM says which module the host runs, not whether it is current: the quote's TEE TCB
 * SVN is judged against Intel's TCB info as for every quote (`AllowedTcbStatuses`, default
 * `UpToDate` only, and `MinTCBEvaluationDataNumber`), so an old module listed here still fails
 * unless its TCB level is allowed.
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
  /**
   * `TDX_MODULE_BUILD_DATE` (YYYYMMDD) and `TDX_MODULE_BUILD_NUM` of the published binary, where
   * the release's `BUILD.md` was read.
   */
  readonly build?: { readonly date: string; readonly number: number };
  /** MRSEAM, 96 lower-case hex digits. */
  readonly mrSeam: string;
  /** Where the value was read. */
  readonly source: string;
}

const REPO = "https://github.com/intel/tdx-module";
const TABLE = `README.md "Intel TDX Module Releases and Hashes"`;
const README_0218 = `${REPO} commit 0218cf316921b7ba2eeb877778ed5e03fb14656e, ${TABLE}`;
const LATER_README = `${REPO} ${TABLE}, the version listing 1.5.01-1.5.34 and 2.0.02-2.0.18 ` +
  "(search index file 65968152114, commit not recorded)";
const buildMd = (commit: string) =>
  `${REPO} commit ${commit}, BUILD.md "Expected module hash (MRSEAM)"; version from proj_defs.mk ` +
  "at that commit";

/**
 * The published modules, by version.
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
    version: "1.5.01",
    mrSeam:
      "9790d89a10210ec6968a773cee2ca05b5aa97309f36727a968527be4606fc19e6f73acce350946c9d46a9bf7a63f8430",
    source: README_0218,
  },
  {
    version: "1.5.05",
    mrSeam:
      "1cc6a17ab799e9a693fac7536be61c12ee1e0fabada82d0c999e08ccee2aa86de77b0870f558c570e7ffe55d6d47fa04",
    source: README_0218,
  },
  {
    version: "1.5.06",
    mrSeam:
      "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1",
    source: README_0218,
  },
  {
    version: "1.5.08",
    mrSeam:
      "49b66faa451d19ebbdbe89371b8daf2b65aa3984ec90110343e9e2eec116af08850fa20e3b1aa9a874d77a65380ee7e6",
    source: README_0218,
  },
  {
    version: "1.5.09",
    mrSeam:
      "bfb360ac8e6233a1bca1433caf7382d95c165b4a77fb00bf1435e5a08f300cdfead5ee68461afd9b6c728dce7534602d",
    source: README_0218,
  },
  {
    version: "1.5.13",
    mrSeam:
      "27b67e0b20508f0acfb8a99df4283a7c86ae569d85d556a91d4eb20e56b5d42d5e65b31a3a6996e8e461f104f32fdeec",
    source: README_0218,
  },
  {
    version: "1.5.16",
    mrSeam:
      "7bf063280e94fb051f5dd7b1fc59ce9aac42bb961df8d44b709c9b0ff87a7b4df648657ba6d1189589feab1d5a3c9a9d",
    source: README_0218,
  },
  {
    version: "1.5.20",
    mrSeam:
      "d0d80c085166ba78ccc69af268e5753cf0f3394523cb4ff7c50b08d9265c82489c099c377be6a400e4d2b57da924012c",
    source: README_0218,
  },
  {
    version: "1.5.24",
    mrSeam:
      "489e585f1c54bc5a02066c8c6ec21619ff0334ec6f21e07e2a35202c59183789c8057e7d97dd591bb08314b185819e72",
    source: README_0218,
  },
  {
    version: "1.5.25",
    mrSeam:
      "fca4ff221293807e3d247416299ca39a236872df4eb414567ca96072d3fde7dead740f807eefe2f7d938499c03cc8aba",
    source: README_0218,
  },
  {
    version: "1.5.28",
    build: { date: "20251126", number: 989 },
    mrSeam:
      "346bc77a1846cac214dd2e8edeb9ee4349449d6c3f9ff2c52149a634c27b7fd1bd314c2ef6b973eeebd55742952531a1",
    source: `${README_0218}; ${buildMd("30d2218864368abb601d198a7a237e0db5595353")}`,
  },
  {
    version: "1.5.34",
    build: { date: "20260330", number: 1024 },
    mrSeam:
      "ab62561a173acbd18ee50ff37750db44184c6cf5e886df74247cc575e163b04c34b9e18374757c235affa614d4127f6b",
    source: `${LATER_README}; ${buildMd("9fd3c8b1d52ba3092f7d99d9eb036644f9765a79")}`,
  },
  {
    version: "2.0.02",
    mrSeam:
      "685f891ea5c20e8fa27b151bf34bf3b50fbaf7143cc53662727cbdb167c0ad8385f1f6f3571539a91e104a1c96d75e04",
    source: README_0218,
  },
  {
    version: "2.0.04",
    mrSeam:
      "64cae497e0c6221176fe8d3bc9d0cf25b4c97bb24cc16499f77102451f15bb24249f1aa3e5d3bf8897be74ad6c84e648",
    source: README_0218,
  },
  {
    version: "2.0.08",
    build: { date: "20250325", number: 882 },
    mrSeam:
      "476a2997c62bccc78370913d0a80b956e3721b24272bc66c4d6307ced4be2865c40e26afac75f12df3425b03eb59ea7c",
    source: `${README_0218}; ${buildMd("1666adc494dbea5db99895f37125a338c20bec5a")}`,
  },
  {
    version: "2.0.12",
    mrSeam:
      "87bdf50356b95e264a5d0807016b9b8ab7568d0857d27eddbe847f98184a786e0f3eecf2fabd3b6d23f71f2ae50300f4",
    source: README_0218,
  },
  {
    version: "2.0.14",
    mrSeam:
      "aef4ed3e686fe6cf44c9a8d1cc63105443b558ac4f40c282abf78271e9a4586c50408c8584c7b43fd21edb736700ba5f",
    source: README_0218,
  },
  {
    version: "2.0.16",
    mrSeam:
      "f40772d82608da5443887dd7247be3e0092927e62409a9bb8da98eaed9017704be075466a13d3ca30501000d69407495",
    source: README_0218,
  },
  {
    version: "2.0.18",
    mrSeam:
      "2d2de102461684f14c8d0984a09d895e3e9e15944ce020a03b977e1f114d5e1ed32ef666a47fd19a5851b3800eda3afa",
    source: LATER_README,
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

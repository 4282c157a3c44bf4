/**
 * Kata runtime policies as contrast writes them: the initdata document that carries a pod's
 * policy (TOML, its digest in SNP `HOST_DATA` / TDX `MRCONFIGID`, the gzip+base64 pod
 * annotation), the platform settings, and the manifest's reference values per platform.
 *
 * @example Encode a policy as initdata and compute the HOST_DATA an SNP guest would carry
 * ```ts
 * import { encodeInitdataToml, initdataDigest, POLICY_KEY, snpHostData } from "./mod.ts";
 *
 * const toml = encodeInitdataToml({ [POLICY_KEY]: "package agent_policy\n" });
 * const hostData = snpHostData(await initdataDigest(toml, "sha256"));
 * console.log(hostData.length); // 32
 * ```
 *
 * @module
 */
export {
  decodeInitdataAnnotation,
  encodeInitdataAnnotation,
  encodeInitdataToml,
  type Initdata,
  INITDATA_ANNOTATION,
  type InitdataAlgorithm,
  initdataDigest,
  parseInitdata,
  POLICY_KEY,
  snpHostData,
  tdxMrConfigId,
} from "./initdata.ts";
export {
  type EmptyDirMode,
  loadDefaultSettings,
  loadSettings,
  parseSettings,
  type Settings,
} from "./settings.ts";
export type { MountExpectation, StorageExpectation } from "./policy_data_types.ts";
export {
  type ManifestReferenceValues,
  type PlatformName,
  PLATFORMS,
  referenceValuesFor,
  type UserReferenceInputs,
} from "./reference_values.ts";

/**
 * `contrast generate [flags] PATH...`: makes Kubernetes YAML confidential and writes the
 * manifest. See `deploy/generate.ts` for what is generated.
 *
 * @module
 */
import { seedshareOwnerKeyHex } from "../../manifest/public_keys.ts";
import { workloadOwnerKeyDigest } from "../../manifest/workload_owners.ts";
import { decodeHex } from "../../util/bytes/mod.ts";
import {
  addTimeoutOption,
  addWorkspaceOption,
  collectRepeated,
  DEFAULT_TIMEOUT,
  parseDuration,
  workspaceDir,
} from "../options.ts";
import { addImageOptions, imageCacheDir, imageSizeLimits } from "../image_options.ts";
import type { Command } from "commander";
import { logLevelOf, progressOf, warningWriter } from "../output.ts";
import {
  InvalidDocumentError,
  ParseError,
  UnavailableError,
  VerificationError,
} from "../../util/errors/mod.ts";
import { readRecord, sameDigest, sha256Hex } from "../../rego/compiled_record.ts";
import { shippedRulesText } from "../../rego/shipped.ts";
import { createImageResolver } from "../../oci/resolver.ts";
import { imageCacheKeyPath, newImageCacheKey, readImageCacheKey } from "../../oci/cache_key.ts";
import {
  checkReferenceValues,
  isPlatform,
  type ManifestReferenceValues,
  PLATFORMS,
  referenceValuesFor,
  simulatedRootFingerprint,
  withFlagHints,
} from "../../policy/reference_values.ts";
import { loadSettings, type Settings } from "../../policy/settings.ts";
import { settingsNeedLock, settingsWithLockedImages } from "../../deploy/image_lock.ts";
import type { BuildInfo } from "../build_info.ts";
import { findImageLock } from "../image_lock_source.ts";
import { readInputs } from "../../deploy/documents.ts";
import { outputPaths } from "../../deploy/output_paths.ts";
import {
  DEFAULT_RUNTIME_PROFILE,
  HOST_PULL_WARNING,
  isHostPull,
  parseEmptyDirMode,
  parseRuntimeProfile,
  RUNTIME_PROFILES,
  settingsForEmptyDirMode,
  settingsForRuntime,
} from "../../policy/runtime_profiles.ts";
import { generate } from "../../deploy/generate.ts";
import { unchangedWorkloadWarning } from "../../deploy/unchanged_workloads.ts";
import { unmeshedPortWarning } from "../../deploy/unmeshed_ports.ts";
import { replacedSansWarnings } from "../../deploy/workload_sans.ts";
import { insecureTagWarning } from "../../deploy/insecure_tags.ts";
import type { ResolvedImage } from "../../oci/types.ts";
import { DEFAULT_NAMESPACE, parseNamespace } from "../../deploy/resources.ts";
import { DEFAULT_CLUSTER_DOMAIN, parseClusterDomain } from "../../policy/hostname.ts";
import {
  generateOwnerKey,
  type OwnerKey,
  readOwnerKey,
  readPublicKeyFile,
} from "../../deploy/keys.ts";
import { type PendingWrite, readIfExists, writeAll } from "../../deploy/workspace.ts";

/** Parsed flags of `contrast generate`. */
export interface GenerateFlags {
  readonly referenceValues: string;
  /** `-w, --workspace-dir` (or the older `--workspace`). */
  readonly workspaceDir?: string;
  readonly workspace?: string;
  /** Cache root (`--cache-dir`). */
  readonly cacheDir?: string;
  /** `--timeout` of each registry request. */
  readonly timeout?: string;
  readonly manifest?: string;
  readonly policy?: string;
  readonly settings?: string;
  readonly runtime?: string;
  /** `--emptydir-mode`: how the nodes' Kata runtime backs emptyDir volumes. */
  readonly emptydirMode?: string;
  /** `-n, --namespace`: where resources without `metadata.namespace` will be created. */
  readonly namespace?: string;
  /** `--cluster-domain`: the kubelet's cluster domain (hostnames of setHostnameAsFQDN pods). */
  readonly clusterDomain?: string;
  readonly addWorkloadOwnerKey: string[];
  readonly addSeedshareOwnerKey: string[];
  readonly disableUpdates?: boolean;
  /** `--workload-owner-key-digests`: also write `WorkloadOwnerKeyDigests`. */
  readonly workloadOwnerKeyDigests?: boolean;
  readonly skipInitializer?: boolean;
  readonly skipServiceMesh?: boolean;
  /** `--san-wildcard`: also give every manifest entry the SAN `*` (the old default). */
  readonly sanWildcard?: boolean;
  readonly output?: string;
  readonly imageCache?: string;
  readonly insecureRegistry: string[];
  /** `--max-layer-size`: bound on an image layer's size. */
  readonly maxLayerSize?: string;
  /** `--max-image-size`: bound on an image's size. */
  readonly maxImageSize?: string;
  readonly offline?: boolean;
  readonly trustedMeasurement?: string;
  /** `--ap-eip`: SNP firmware AP reset EIP (Contrast's `APEIP`). */
  readonly apEip?: string;
  readonly mrtd?: string;
  readonly rtmr: string[];
  /** `--mrseam` (repeatable): the hosts' TDX module measurements. */
  readonly mrseam?: string[];
  /** `--xfam`: TDX XFAM instead of the platform default. */
  readonly xfam?: string;
  readonly simulatedRoot?: string;
  readonly imageLock?: string;
  readonly imageRegistry?: string;
}

async function ownerKey(kind: "workload" | "seedshare", path: string): Promise<OwnerKey> {
  const pem = await readIfExists(path);
  return pem === undefined ? await generateOwnerKey(kind) : await readOwnerKey(kind, pem, path);
}

async function referenceValues(
  flags: GenerateFlags,
  existingManifest: string | undefined,
  manifestPath: string,
): Promise<ManifestReferenceValues> {
  if (!isPlatform(flags.referenceValues)) {
    throw new ParseError(
      "--reference-values",
      `unknown platform "${flags.referenceValues}"; one of ${PLATFORMS.join(", ")}`,
    );
  }
  const given = flags.trustedMeasurement !== undefined || flags.apEip !== undefined ||
    flags.mrtd !== undefined ||
    flags.rtmr.length > 0 || (flags.mrseam?.length ?? 0) > 0 || flags.xfam !== undefined ||
    flags.simulatedRoot !== undefined;
  if (!given && existingManifest !== undefined) {
    // Keep the values the user already completed for this platform.
    try {
      const previous = JSON.parse(existingManifest)?.ReferenceValues as
        | ManifestReferenceValues
        | undefined;
      const entries = [...(previous?.snp ?? []), ...(previous?.tdx ?? [])];
      if (
        previous && entries.length > 0 && entries.every((e) => e.Platform === flags.referenceValues)
      ) {
        const kept = { snp: previous.snp ?? [], tdx: previous.tdx ?? [] };
        try {
          checkReferenceValues(kept);
        } catch (error) {
          // E.g. a manifest written before real TDX entries required Rtmrs: say which flag fixes it.
          throw error instanceof InvalidDocumentError
            ? withFlagHints(error).inFile(manifestPath)
            : error;
        }
        return kept;
      }
    } catch (error) {
      if (error instanceof SyntaxError) {
        throw new ParseError(manifestPath, `not valid JSON: ${error.message}`);
      }
      throw error;
    }
  }
  return await referenceValuesFor(flags.referenceValues, {
    trustedMeasurement: flags.trustedMeasurement,
    apEip: flags.apEip,
    mrTd: flags.mrtd,
    rtmrs: flags.rtmr.length > 0 ? flags.rtmr : undefined,
    mrSeams: flags.mrseam ?? [],
    xfam: flags.xfam,
    simulatedRootSha256: flags.simulatedRoot === undefined
      ? undefined
      : await simulatedRootFingerprint(flags.simulatedRoot),
  });
}

/**
 * The shipped rules must be exactly the rules compiled into `rego/policy.wasm` (its record names
 * their SHA-256), so the policies generated are the ones `contrast policy check` evaluates.
 *
 * @throws {VerificationError} naming `rego/rules.rego` when they differ
 */
export async function assertShippedRulesCompiled(
  rules: string | Uint8Array,
  recordUrl?: URL,
): Promise<void> {
  const record = await readRecord(recordUrl);
  const bytes = typeof rules === "string" ? new TextEncoder().encode(rules) : rules;
  if (!sameDigest(await sha256Hex(bytes), record.rulesSha256, "rego/policy.wasm.json")) {
    throw new VerificationError(
      "rego/rules.rego",
      "differs from the rules compiled into rego/policy.wasm (rego/policy.wasm.json); " +
        "run `deno task build:rego`",
    );
  }
}

/**
 * `settings` with contrast's own images taken from the image lock where they name it, and the
 * lock's Coordinator image (the input's Coordinator must run it; undefined without a lock).
 */
async function settingsWithImages(
  settings: Settings,
  flags: GenerateFlags,
  build: BuildInfo,
): Promise<
  { settings: Settings; coordinatorImage: string | undefined; lockWarning?: string }
> {
  // Without a lock the placeholders stay: generate names them when a pod needs those images.
  const found = await findImageLock(flags, build);
  if (found === undefined) return { settings, coordinatorImage: undefined };
  return {
    settings: settingsNeedLock(settings)
      ? settingsWithLockedImages(settings, found.lock)
      : settings,
    coordinatorImage: found.lock.images.coordinator,
    ...(found.replacesEmbedded !== undefined ? { lockWarning: found.replacesEmbedded } : {}),
  };
}

/** What `contrast generate` has to say once it has written its files (both go to stderr). */
export interface GenerateReport {
  /** Warning lines (`warning: …`): printed unless `--log-level error`. */
  readonly warnings: readonly string[];
  /** Progress lines (policy digests, `wrote …`): printed from `--log-level info`. */
  readonly progress: readonly string[];
}

/** Runs `contrast generate` with parsed flags; returns the lines to print. */
export async function runGenerate(
  paths: readonly string[],
  flags: GenerateFlags,
  build: BuildInfo = {},
): Promise<GenerateReport> {
  if (paths.length === 0) throw new ParseError("PATH", "give at least one file, directory or -");
  const ws = workspaceDir(flags).replace(/\/+$/, "") || ".";
  const manifestPath = flags.manifest ?? `${ws}/manifest.json`;
  const profile = parseRuntimeProfile(flags.runtime);
  const locked = await settingsWithImages(await loadSettings(flags.settings), flags, build);
  const settings = settingsForEmptyDirMode(
    settingsForRuntime(locked.settings, profile),
    parseEmptyDirMode(flags.emptydirMode),
  );
  const namespace = parseNamespace(flags.namespace ?? DEFAULT_NAMESPACE, "--namespace");
  const clusterDomain = parseClusterDomain(
    flags.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    "--cluster-domain",
  );
  const rules = flags.policy === undefined ? shippedRulesText() : await readIfExists(flags.policy);
  if (rules === undefined) {
    throw new UnavailableError("--policy", `cannot read rules file ${flags.policy}`);
  }
  if (flags.policy === undefined) await assertShippedRulesCompiled(rules);
  const files = await readInputs(paths);
  const existingManifest = await readIfExists(manifestPath);
  const rv = await referenceValues(flags, existingManifest, manifestPath);

  const writes: PendingWrite[] = [];
  const workloadKeys: string[] = [];
  if (flags.disableUpdates) {
    throw new ParseError(
      "--disable-updates",
      "every manifest, the first included, is signed by a workload owner key that the pods " +
        "pin, so a manifest without one cannot be set (see the README's security section); " +
        "keep workload-owner.pem offline instead",
    );
  }
  {
    const path = `${ws}/workload-owner.pem`;
    const key = await ownerKey("workload", path);
    if (key.created) writes.push({ path, data: key.privatePem, mode: 0o600 });
    workloadKeys.push(key.publicHex);
    for (const file of flags.addWorkloadOwnerKey) {
      const text = await readIfExists(file);
      if (text === undefined) {
        throw new UnavailableError("--add-workload-owner-key", `cannot read ${file}`);
      }
      workloadKeys.push(await readPublicKeyFile("workload", text, file));
    }
  }
  const seedPath = `${ws}/seedshare-owner.pem`;
  const seedKey = await ownerKey("seedshare", seedPath);
  if (seedKey.created) writes.push({ path: seedPath, data: seedKey.privatePem, mode: 0o600 });
  const seedKeys = [seedKey.publicHex];
  for (const file of flags.addSeedshareOwnerKey) {
    const text = await readIfExists(file);
    if (text === undefined) {
      throw new UnavailableError("--add-seedshare-owner-key", `cannot read ${file}`);
    }
    seedKeys.push(await readPublicKeyFile("seedshare", text, file));
  }

  // Created like the owner keys: written with the other files only when the run succeeds.
  let cacheKey = await readImageCacheKey(ws);
  if (cacheKey === undefined) {
    const created = newImageCacheKey();
    cacheKey = created.key;
    writes.push({ path: imageCacheKeyPath(ws), data: created.text, mode: 0o600 });
  }
  const resolver = createImageResolver({
    cacheDir: flags.imageCache ?? imageCacheDir(flags),
    cacheKey,
    insecureRegistries: flags.insecureRegistry,
    offline: flags.offline === true,
    timeoutMs: parseDuration(flags.timeout ?? DEFAULT_TIMEOUT),
    sizeLimits: imageSizeLimits(flags),
  });
  // Every image resolved, for the warning about tags over plain HTTP.
  const resolved: ResolvedImage[] = [];
  const result = await generate(files, {
    settings,
    resolver: {
      resolve: async (reference) => {
        const image = await resolver.resolve(reference);
        resolved.push(image);
        return image;
      },
    },
    rules,
    referenceValues: rv,
    workloadOwnerKeys: workloadKeys,
    ...(flags.workloadOwnerKeyDigests || hasKeyDigestField(existingManifest)
      ? { workloadOwnerKeyDigests: await Promise.all(workloadKeys.map(keyDigestOfHex)) }
      : {}),
    // Written in Contrast's encoding (PKCS#1 DER), so Edgeless Contrast reads the manifest too.
    seedshareOwnerKeys: seedKeys.map((k, i) => seedshareOwnerKeyHex(k, `seedshare owner key ${i}`)),
    skipInitializer: flags.skipInitializer,
    skipServiceMesh: flags.skipServiceMesh,
    sanWildcard: flags.sanWildcard === true,
    namespace,
    clusterDomain,
    coordinatorImage: locked.coordinatorImage,
  });

  const warnings = generateWarnings(
    result,
    isHostPull(profile),
    settings.runtime_class_prefix,
    flags.sanWildcard === true,
  );
  if (locked.lockWarning !== undefined) warnings.push(`warning: ${locked.lockWarning}`);
  for (
    const w of replacedSansWarnings(
      existingManifest,
      manifestPath,
      result.policies.map((p) => ({
        digest: p.digest,
        workload: `${p.kind} ${p.namespace}/${p.name}`,
        sans: result.manifest.Policies[p.digest]!.SANs,
      })),
    )
  ) warnings.push(`warning: ${w}`);
  for (const image of resolved) {
    const warning = insecureTagWarning(image, flags.insecureRegistry);
    if (warning !== undefined) warnings.push(`warning: ${warning}`);
  }
  const lines: string[] = [];
  let stdout = "";
  const outPaths = flags.output
    ? outputPaths(result.files.map((f) => f.path), paths, flags.output)
    : undefined;
  result.files.forEach((file, i) => {
    if (outPaths) writes.push({ path: outPaths[i]!, data: file.pieces });
    else if (file.path === "-") stdout += file.text;
    else if (file.changed) writes.push({ path: file.path, data: file.pieces });
  });
  writes.push({ path: manifestPath, data: result.manifestText });
  await writeAll(writes);
  for (const p of result.policies) {
    lines.push(`${p.digest}  ${p.kind} ${p.namespace}/${p.name} (${p.location})`);
  }
  lines.push(
    `wrote ${manifestPath} with ${result.policies.length} ${
      result.policies.length === 1 ? "policy" : "policies"
    }`,
  );
  if (!Object.values(result.manifest.Policies).some((p) => p.Role === "coordinator")) {
    warnings.push(
      "warning: no workload has contrast.edgeless.systems/pod-role: coordinator; add the " +
        "Coordinator's YAML before `contrast set` (a manifest needs exactly one coordinator " +
        "policy, and initializers refuse to start until generate pins the Coordinator in " +
        "CONTRAST_COORDINATOR_TRUST)",
    );
  }
  if (stdout) await Deno.stdout.write(new TextEncoder().encode(stdout));
  return { warnings, progress: lines };
}

/** The warning `--san-wildcard` prints: what the wildcard gives up. */
export const SAN_WILDCARD_WARNING = "--san-wildcard gives every policy's manifest entry the SAN " +
  '"*": the certificate of any attested workload then passes every mesh egress check, so a ' +
  "compromised workload to which the host points a service's DNS name receives the traffic " +
  "meant for that service; without it each entry gets the names the input says the workload is " +
  "reached by (its name and the DNS names of the Services selecting it)";

/**
 * The warnings generate prints on stderr (each line starting with `warning: `): host pull,
 * `--san-wildcard`, every workload left unchanged, every UDP/SCTP port of a meshed pod, and what
 * the SAN derivation found (egress targets no workload answers to, shared names).
 */
export function generateWarnings(
  result: Pick<
    Awaited<ReturnType<typeof generate>>,
    "unchanged" | "unmeshedPorts" | "sanWarnings"
  >,
  hostPull: boolean,
  runtimeClassPrefix: string,
  sanWildcard = false,
): string[] {
  return [
    ...(hostPull ? [HOST_PULL_WARNING] : []),
    ...(sanWildcard ? [SAN_WILDCARD_WARNING] : []),
    ...result.unchanged.map((w) => unchangedWorkloadWarning(w, runtimeClassPrefix)),
    ...result.unmeshedPorts.map(unmeshedPortWarning),
    ...result.sanWarnings,
  ].map((w) => `warning: ${w}`);
}

/**
 * Whether an existing manifest names its owners by digest (older Contrast releases): then the
 * rewritten manifest keeps that field, so the Contrast that reads it still allows updates.
 */
function hasKeyDigestField(existingManifest: string | undefined): boolean {
  if (existingManifest === undefined) return false;
  try {
    const json = JSON.parse(existingManifest);
    return typeof json === "object" && json !== null && "WorkloadOwnerKeyDigests" in json;
  } catch {
    return false; // referenceValues() already reported a malformed manifest
  }
}

function keyDigestOfHex(hex: string): Promise<string> {
  return workloadOwnerKeyDigest(decodeHex(hex, "workload owner key"));
}

/** Registers `contrast generate`. */
export function registerGenerateCommand(program: Command, build: BuildInfo = {}): void {
  const command = program
    .command("generate")
    .description("Make Kubernetes YAML confidential: runtime policies, initdata, manifest.")
    .argument("<paths...>", "YAML files or directories (*.yml, *.yaml); - for stdin")
    .requiredOption("--reference-values <platform>", `platform: ${PLATFORMS.join(", ")}`)
    .option("-m, --manifest <file>", "manifest path (default: <workspace-dir>/manifest.json)")
    .option("-p, --policy <file>", "rules file (default: the rules contrast ships)")
    .option("-s, --settings <file>", "platform settings JSON (default: policy/settings.json)")
    .option(
      "--runtime <profile>",
      `the nodes' runtime: ${RUNTIME_PROFILES.join(", ")} (default: ${DEFAULT_RUNTIME_PROFILE})`,
    )
    .option(
      "--emptydir-mode <mode>",
      "how the nodes' Kata runtime backs emptyDir volumes (its emptydir_mode): guest-local, or " +
        "block-encrypted (a host block device under an ephemeral key) (default: guest-local)",
    )
    .option(
      "-n, --namespace <name>",
      `namespace the resources without metadata.namespace will be created in (as kubectl apply -n); their policies admit the pods only there (default: ${DEFAULT_NAMESPACE})`,
    )
    .option(
      "--cluster-domain <domain>",
      `the nodes' cluster domain (the kubelet's --cluster-domain), which ends the hostname of pods with setHostnameAsFQDN and a subdomain (default: ${DEFAULT_CLUSTER_DOMAIN})`,
    )
    .option(
      "--add-workload-owner-key <file>",
      "also allow this key to update the manifest",
      collectRepeated,
      [],
    )
    .option(
      "--add-seedshare-owner-key <file>",
      "also send seed shares to this key",
      collectRepeated,
      [],
    )
    .option(
      "--workload-owner-key-digests",
      "also write WorkloadOwnerKeyDigests (older Contrast releases; kept when the manifest has it)",
    )
    .option(
      "--disable-updates",
      "refused: every manifest is signed by a pinned workload owner key (see README)",
    )
    .option("--skip-initializer", "do not inject the initializer")
    .option("--skip-service-mesh", "do not inject the service-mesh sidecar")
    .option(
      "--san-wildcard",
      'also give every manifest entry the SAN "*" (the old default: any attested workload ' +
        "passes every mesh egress check; warned about)",
    )
    .option("-o, --output <dir>", "write YAML here instead of in place")
    .option("--image-lock <file>", "image lock of contrast's images (default: the embedded lock)")
    .option("--image-registry <host>", "registry (mirror) holding contrast's locked images")
    .option("--trusted-measurement <hex>", "SNP launch measurement of your node image (96 hex)")
    .option(
      "--ap-eip <hex>",
      "SNP: AP reset EIP of your node image's firmware (8 hex, Contrast's APEIP); the measurement " +
        "is then the 1-vCPU one and 1 to 220 vCPUs are accepted",
    )
    .option("--mrtd <hex>", "TDX MRTD of your node image (96 hex)")
    .option(
      "--rtmr <hex>",
      "TDX RTMR0..3 of your node image (96 hex; four times, in order; required on real TDX)",
      collectRepeated,
      [],
    )
    .option(
      "--mrseam <hex|version>",
      "TDX MRSEAM of your hosts' TDX module (96 hex or a published version such as 1.5.28; " +
        "repeat per module; default: every module whose MRSEAM Intel publishes)",
      collectRepeated,
      [],
    )
    .option("--xfam <hex>", "TDX XFAM of your guests (16 hex; default: the platform's)")
    .option(
      "--simulated-root <fingerprint|path>",
      "simulated platform root: SHA-256, PEM or authority",
    );
  addWorkspaceOption(command, "keys and manifest are read and written here");
  addImageOptions(command);
  addTimeoutOption(command);
  command.action(async (paths: string[], flags: GenerateFlags) => {
    const report = await runGenerate(paths, flags, build);
    const warn = warningWriter(logLevelOf(command), console.error);
    const progress = progressOf(command, console.error);
    for (const line of report.progress) progress(line);
    for (const line of report.warnings) warn(line);
  });
}

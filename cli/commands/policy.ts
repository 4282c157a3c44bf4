/**
 * `contrast policy check` and `contrast policy explain`: replay the exact Kata agent requests of
 * each pod against its generated policy (and attack them with tampered variants), or explain why
 * one request is allowed or denied.
 *
 * @module
 */
import {
  addTimeoutOption,
  addWorkspaceOption,
  DEFAULT_TIMEOUT,
  parseDuration,
  workspaceDir,
} from "../options.ts";
import { addImageOptions, imageCacheDir, imageSizeLimits } from "../image_options.ts";
import type { Command } from "commander";
import { Option } from "../commander.ts";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { createImageResolver } from "../../oci/resolver.ts";
import { ephemeralImageCacheKey, readImageCacheKey } from "../../oci/cache_key.ts";
import type { ImageResolver } from "../../oci/types.ts";
import { CompiledRules } from "../../rego/evaluator.ts";
import {
  explainRequests,
  parseLoggedRequests,
  renderExplanations,
} from "../../policy/check/explain.ts";
import { readCheckInputs, readStandalonePolicy } from "../../policy/check/inputs.ts";
import type { PolicyDocument } from "../../policy/check/inputs.ts";
import { type RandomSource, seededRandom, systemRandom } from "../../policy/check/random_ids.ts";
import { renderJson, renderText } from "../../policy/check/report.ts";
import { buildRequestSequence } from "../../policy/check/request_sequence.ts";
import { assertSameRules } from "../../policy/check/rules_identity.ts";
import { runPolicyCheck } from "../../policy/check/run.ts";
import type { AgentRequest } from "../../policy/check/agent_protocol.ts";
import { DEFAULT_NODE_RUNTIME, type NodeRuntime } from "../../policy/check/runtime_model.ts";
import { DEFAULT_CLUSTER_DOMAIN, parseClusterDomain } from "../../policy/hostname.ts";
import {
  parseEmptyDirMode,
  parseRuntimeProfile,
  RUNTIME_PROFILES,
} from "../../policy/runtime_profiles.ts";
import { DEFAULT_NAMESPACE, parseNamespace } from "../../deploy/resources.ts";

/** Options common to both subcommands (image access). */
interface ImageOptions {
  /** Image cache (default: `<cache root>/images`, shared with `contrast generate`). */
  readonly imageCache?: string;
  /** Cache root (`--cache-dir`). */
  readonly cacheDir?: string;
  readonly insecureRegistry: string[];
  /** `--max-layer-size`: bound on an image layer's size. */
  readonly maxLayerSize?: string;
  /** `--max-image-size`: bound on an image's size. */
  readonly maxImageSize?: string;
  readonly offline: boolean;
  /** `--timeout`. */
  readonly timeout?: string;
  /** `-w, --workspace-dir` (or the older `--workspace`): where the image-cache key is read. */
  readonly workspaceDir?: string;
  readonly workspace?: string;
}

/** Options of `contrast policy check`. */
export interface PolicyCheckOptions extends ImageOptions, NodeOptions {
  readonly json: boolean;
  readonly mutate: boolean;
  readonly seed?: string;
}

/** Options of `contrast policy explain`. */
export interface PolicyExplainOptions extends ImageOptions, NodeOptions {
  readonly json: boolean;
  readonly pod?: string;
}

/**
 * What the policies were generated for: `--runtime`, `--emptydir-mode`, `--namespace`,
 * `--cluster-domain`.
 */
export interface NodeOptions {
  readonly runtime?: string;
  readonly emptydirMode?: string;
  readonly namespace?: string;
  readonly clusterDomain?: string;
}

/** The node runtime and default namespace the options name (generate's defaults otherwise). */
function nodeOf(o: NodeOptions): { node: NodeRuntime; namespace: string } {
  return {
    node: {
      profile: parseRuntimeProfile(o.runtime),
      emptyDirMode: parseEmptyDirMode(o.emptydirMode) ?? DEFAULT_NODE_RUNTIME.emptyDirMode,
      clusterDomain: parseClusterDomain(
        o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
        "--cluster-domain",
      ),
    },
    namespace: parseNamespace(o.namespace ?? DEFAULT_NAMESPACE, "--namespace"),
  };
}

function nodeOptions(cmd: Command): Command {
  return cmd
    .option(
      "--runtime <profile>",
      `the runtime profile given to generate: ${
        RUNTIME_PROFILES.join(", ")
      } (default: ${DEFAULT_NODE_RUNTIME.profile})`,
    )
    .option(
      "--emptydir-mode <mode>",
      "the emptyDir mode given to generate: guest-local, block-encrypted (default: guest-local)",
    )
    .option(
      "-n, --namespace <name>",
      `the namespace given to generate (default: ${DEFAULT_NAMESPACE})`,
    )
    .option(
      "--cluster-domain <domain>",
      `the cluster domain given to generate (default: ${DEFAULT_CLUSTER_DOMAIN})`,
    );
}

/**
 * The resolver of the policy commands: the image cache authenticated with the workspace's key
 * (written by `contrast generate`); without one, cached account files and tags are not trusted.
 */
async function imageResolver(o: ImageOptions): Promise<ImageResolver> {
  return createImageResolver({
    cacheDir: o.imageCache ?? imageCacheDir(o),
    cacheKey: await readImageCacheKey(workspaceDir(o)) ?? ephemeralImageCacheKey(),
    insecureRegistries: o.insecureRegistry,
    offline: o.offline,
    timeoutMs: parseDuration(o.timeout ?? DEFAULT_TIMEOUT),
    sizeLimits: imageSizeLimits(o),
  });
}

function randomSource(seed: string | undefined): RandomSource {
  if (seed === undefined) return systemRandom;
  if (!/^\d+$/.test(seed)) throw new ParseError("--seed", "must be a non-negative integer");
  return seededRandom(Number(seed));
}

/**
 * Runs `contrast policy check`; prints the report and throws a {@link VerificationError} when a
 * legitimate request was denied, a tampered one allowed, or a pod could not be checked.
 */
export async function policyCheckCommand(
  paths: string[],
  o: PolicyCheckOptions,
  given?: ImageResolver,
): Promise<void> {
  const { node, namespace } = nodeOf(o);
  const inputs = await readCheckInputs(paths, namespace);
  if (inputs.workloads.length === 0 && inputs.standalone.length === 0) {
    throw new ParseError(
      paths.join(" "),
      "no confidential pod (runtimeClassName contrast-cc…) found",
    );
  }
  const images = given ?? await imageResolver(o);
  const rules = await CompiledRules.load();
  const { run } = await runPolicyCheck(inputs, {
    rules,
    images,
    mutate: o.mutate,
    rng: randomSource(o.seed),
    node,
  });
  console.log(o.json ? renderJson(run) : renderText(run));
  if (!run.ok) {
    const denied = run.pods.reduce((n, p) => n + p.denied.length, 0);
    const weak = run.pods.reduce((n, p) => n + p.weaknesses.length, 0);
    throw new VerificationError(
      "policy check",
      `${denied} legitimate request(s) denied, ${weak} tampered request(s) allowed, ` +
        `${run.aborted} evaluation(s) aborted, ${run.unchecked.length} pod(s) not checkable`,
    );
  }
}

async function loadPolicyAndReferences(
  path: string,
  o: PolicyExplainOptions,
  resolver: ImageResolver,
): Promise<{ policy: PolicyDocument; references: AgentRequest[] }> {
  if (/\.ya?ml$/.test(path)) {
    const { node, namespace } = nodeOf(o);
    const inputs = await readCheckInputs([path], namespace);
    const candidates = inputs.workloads.filter((w) =>
      o.pod === undefined || w.workload.name === o.pod
    );
    if (candidates.length !== 1) {
      throw new ParseError(
        o.pod ? "--pod" : path,
        candidates.length === 0
          ? "no confidential pod with that name"
          : `${candidates.length} confidential pods: choose one with --pod NAME`,
      );
    }
    const { workload, policy } = candidates[0];
    if (!policy) {
      throw new ParseError(`${workload.origin}: annotations`, "the pod has no policy annotation");
    }
    const refs = [...workload.spec.initContainers, ...workload.spec.containers].map((c) => c.image);
    const images = new Map(
      await Promise.all(refs.map(async (r) => [r, await resolver.resolve(r)] as const)),
    );
    const sequence = buildRequestSequence({
      workload,
      images,
      cluster: inputs.cluster,
      rng: systemRandom,
      node,
    });
    return { policy, references: sequence.steps.map((s) => s.request) };
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new ParseError(path, `cannot read: ${(error as Error).message}`);
  }
  return { policy: await readStandalonePolicy(bytes, path), references: [] };
}

/**
 * Runs `contrast policy explain`; prints the verdicts and throws a {@link VerificationError} when
 * a request is denied (so scripts can rely on the exit code).
 */
export async function policyExplainCommand(
  policyPath: string,
  requestPath: string,
  o: PolicyExplainOptions,
  given?: ImageResolver,
): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(requestPath);
  } catch (error) {
    throw new ParseError(requestPath, `cannot read: ${(error as Error).message}`);
  }
  const requests = parseLoggedRequests(text, requestPath);
  const images = given ?? await imageResolver(o);
  const { policy, references } = await loadPolicyAndReferences(policyPath, o, images);
  const rules = await CompiledRules.load();
  await assertSameRules(policy.rules, rules.record, `${policyPath}: policy.rego`);
  const explanations = await explainRequests(rules, policy.policyData, requests, references);
  console.log(o.json ? JSON.stringify(explanations, null, 2) : renderExplanations(explanations));
  const denied = explanations.filter((e) => !e.allowed).length;
  if (denied > 0) {
    throw new VerificationError("policy explain", `${denied} request(s) denied by the policy`);
  }
}

function imageOptions(cmd: Command): Command {
  return addWorkspaceOption(
    addTimeoutOption(addImageOptions(cmd)),
    "the image-cache key generate wrote is read from here",
  );
}

/** Registers `contrast policy check` and `contrast policy explain`. */
export function registerPolicyCommand(program: Command): void {
  const policy = program.command("policy").description(
    "Test runtime policies against the requests a pod sends, or explain a denial.",
  );
  imageOptions(nodeOptions(
    policy.command("check")
      .description(
        "Replay each pod's agent requests against its policy.\n\n" +
          "With --mutate also tampered variants, which must be denied. Exit 1 on a denied " +
          "legitimate request, an allowed tampered one, or any request (legitimate or " +
          "tampered) whose evaluation aborted (an error of the rules, reported on its own).",
      )
      .argument("<path...>", "generated YAML files or directories, or policy files")
      .option("--json", "print JSON", false)
      .option("--mutate", "evaluate tampered variants of every allowed request", false)
      .addOption(new Option("--seed <n>", "seed for runtime IDs (reproducible runs)")),
  )).action(async (paths: string[], o: PolicyCheckOptions) => {
    await policyCheckCommand(paths, o);
  });
  imageOptions(nodeOptions(
    policy.command("explain")
      .description(
        "Say whether a policy allows each request and, for a denial, which field failed.\n\n" +
          'REQUEST is {"kind": "CreateContainerRequest", "request": {…}}, a list of them, ' +
          "or the agent's policy log (JSON lines). Exit 1 when a request is denied.",
      )
      .argument("<policy>", "generated YAML (with the pod), initdata TOML, or policy text")
      .argument("<request>", "request JSON file")
      .option("--pod <name>", "the pod to use when the YAML has several")
      .option("--json", "print JSON", false),
  )).action(async (policyPath: string, requestPath: string, o: PolicyExplainOptions) => {
    await policyExplainCommand(policyPath, requestPath, o);
  });
}

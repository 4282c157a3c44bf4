/**
 * The Kata genpolicy conformance suite: real agent requests captured by the Kata Containers
 * project (`../shared/conformance/kata-genpolicy/testdata/<request type>/<case>/`: `pod.yaml`,
 * `testcases.json`) replayed against the policies contrast's `generate` builds for the same YAML.
 *
 * For every case: generate runs on the case's YAML (every pod made confidential, no initializer or
 * service mesh injected, images resolved from {@link CAPTURE_IMAGES_URL}); then the captured
 * requests are evaluated in order with the compiled rules, threading the policy state as the agent
 * does (and as genpolicy's own test runner does: one policy instance per case file). The expected
 * verdict is the capture's. Disagreements are matched against the explained differences in
 * `differences.json`; an unexplained disagreement or an explanation that no longer applies fails.
 *
 * Harness adaptations of trimmed captures (none changes a request):
 * - a capture's `state` (genpolicy's `data.pstate`, e.g. `sandbox_name`) is applied before its
 *   request;
 * - where a case has no CreateSandboxRequest (trimmed upstream: the runtime always sends it
 *   first), the sandbox ID the rules remember from it is taken from the first request's
 *   `io.kubernetes.cri.sandbox-id` annotation.
 *
 * @module
 */
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import type { ImageResolver, ResolvedImage } from "../../oci/types.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import type { Settings } from "../../policy/settings.ts";
import type { CompiledRules, PolicyState } from "../../rego/evaluator.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { policyDataMismatches } from "../../policy/check/explain.ts";
import { parseNamespace } from "../../deploy/resources.ts";
import {
  DEFAULT_RUNTIME_PROFILE,
  parseEmptyDirMode,
  parseRuntimeProfile,
  type RuntimeProfile,
  settingsForEmptyDirMode,
  settingsForRuntime,
} from "../../policy/runtime_profiles.ts";
import type { EmptyDirMode } from "../../policy/settings.ts";
type JsonObject = Parameters<typeof policyDataMismatches>[2];

/** The captures' folder (read in place, never copied). */
export const CAPTURES_DIR: URL = new URL(
  "../../../shared/conformance/kata-genpolicy/",
  import.meta.url,
);

/** Image facts the captures need (the registry is unreachable here). */
const CAPTURE_IMAGES_URL: URL = new URL("./images.json", import.meta.url);

/** The node settings each capture was recorded with (`--runtime`, `--namespace`, ...). */
const RECORDED_WITH_URL: URL = new URL("./recorded_with.json", import.meta.url);

/** Explained differences between contrast's verdict and the capture's. */
const DIFFERENCES_URL: URL = new URL("./differences.json", import.meta.url);

/** One captured request with its expected verdict. */
interface CapturedRequest {
  readonly description: string;
  readonly allowed: boolean;
  readonly kind: string;
  readonly request: Record<string, unknown>;
  /** genpolicy's policy state to apply before this request. */
  readonly state?: Record<string, unknown>;
}

/** One case folder. */
export interface CaptureCase {
  /** Path below `testdata/`, e.g. `createcontainer/sysctls`. */
  readonly name: string;
  /** Every YAML file of the case (`pod.yaml` first), as `[file name, text]`. */
  readonly yaml: readonly (readonly [string, string])[];
  readonly requests: readonly CapturedRequest[];
}

/** The outcome of one captured request. */
interface RequestOutcome {
  readonly case: string;
  readonly index: number;
  readonly description: string;
  readonly kind: string;
  readonly expected: boolean;
  readonly actual: boolean;
  /** For a denied request the capture allows: where it parts ways with the policy data. */
  readonly mismatches?: readonly string[];
}

/** An explained difference (`differences.json`). */
interface ExplainedDifference {
  readonly case: string;
  readonly description: string;
  /** `artifact`: the capture was trimmed by hand and no runtime sends it; `stricter`: contrast
   * denies on purpose, `attack` names what it stops; `unsupported`: a feature contrast refuses. */
  readonly category: "artifact" | "stricter" | "unsupported";
  readonly reason: string;
  readonly attack?: string;
}

/** The generate settings a case was recorded with (what a user of that node passes). */
export interface RecordedWith {
  /** `--runtime` profile; default containerd 2 with guest pull. */
  readonly runtime?: RuntimeProfile;
  /** `--namespace` (the YAML names none; the capture ran there). */
  readonly namespace?: string;
  /** `--emptydir-mode`; default the settings' (guest-local). */
  readonly emptydir_mode?: EmptyDirMode;
  /** Which fields of the captured requests show these settings. */
  readonly evidence: string;
}

/** Reads `recorded_with.json`: case name to its recording settings. */
export async function loadRecordedWith(
  url: URL = RECORDED_WITH_URL,
): Promise<ReadonlyMap<string, RecordedWith>> {
  const file = JSON.parse(await Deno.readTextFile(url)) as {
    cases: Record<string, RecordedWith & { runtime?: string; emptydir_mode?: string }>;
  };
  const out = new Map<string, RecordedWith>();
  for (const [name, r] of Object.entries(file.cases)) {
    out.set(name, {
      ...r,
      ...(r.runtime !== undefined ? { runtime: parseRuntimeProfile(r.runtime) } : {}),
      ...(r.emptydir_mode !== undefined
        ? { emptydir_mode: parseEmptyDirMode(r.emptydir_mode) }
        : {}),
      ...(r.namespace !== undefined
        ? { namespace: parseNamespace(r.namespace, `${name}.namespace`) }
        : {}),
    });
  }
  return out;
}

/** The settings and namespace generate uses for a case recorded with `r`. */
export function settingsForRecording(
  base: Settings,
  r: RecordedWith | undefined,
): { settings: Settings; namespace?: string } {
  const settings = settingsForEmptyDirMode(
    settingsForRuntime(base, r?.runtime ?? DEFAULT_RUNTIME_PROFILE),
    r?.emptydir_mode,
  );
  return { settings, ...(r?.namespace !== undefined ? { namespace: r.namespace } : {}) };
}

/** Whether the captures are present next to the repository. */
export function capturesAvailable(dir: URL = CAPTURES_DIR): boolean {
  try {
    return Deno.statSync(new URL("testdata/", dir)).isDirectory;
  } catch {
    return false;
  }
}

async function caseFolders(dir: URL, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  const names: { name: string; isDirectory: boolean }[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e);
  names.sort((a, b) => a.name.localeCompare(b.name));
  if (names.some((e) => e.name === "testcases.json")) out.push(prefix.replace(/\/$/, ""));
  for (const e of names) {
    if (e.isDirectory) {
      out.push(...await caseFolders(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`));
    }
  }
  return out;
}

/** Reads every case below `testdata/`, sorted by name. */
export async function loadCaptureCases(dir: URL = CAPTURES_DIR): Promise<CaptureCase[]> {
  const testdata = new URL("testdata/", dir);
  const cases: CaptureCase[] = [];
  for (const name of await caseFolders(testdata)) {
    const folder = new URL(`${name}/`, testdata);
    const yaml: [string, string][] = [];
    for await (const e of Deno.readDir(folder)) {
      if (e.isFile && e.name.endsWith(".yaml")) {
        yaml.push([e.name, await Deno.readTextFile(new URL(e.name, folder))]);
      }
    }
    yaml.sort(([a], [b]) => (a === "pod.yaml" ? -1 : b === "pod.yaml" ? 1 : a.localeCompare(b)));
    const requests = JSON.parse(
      await Deno.readTextFile(new URL("testcases.json", folder)),
    ) as CapturedRequest[];
    cases.push({ name, yaml, requests });
  }
  return cases;
}

interface ImageFacts {
  readonly pinned: string;
  readonly config: ResolvedImage["config"];
  readonly passwd?: string;
  readonly group?: string;
}

/** An {@link ImageResolver} over the recorded image facts. */
export class CaptureImageResolver implements ImageResolver {
  private constructor(private readonly images: ReadonlyMap<string, ImageFacts>) {}

  /** Reads {@link CAPTURE_IMAGES_URL}. */
  static async load(url: URL = CAPTURE_IMAGES_URL): Promise<CaptureImageResolver> {
    const file = JSON.parse(await Deno.readTextFile(url)) as {
      images: Record<string, ImageFacts>;
    };
    return new CaptureImageResolver(new Map(Object.entries(file.images)));
  }

  resolve(reference: string): Promise<ResolvedImage> {
    const facts = this.images.get(reference) ??
      [...this.images.values()].find((i) => i.pinned === reference);
    if (!facts) {
      return Promise.reject(
        new UnavailableError(reference, "no recorded facts for this image (images.json)"),
      );
    }
    const at = facts.pinned.indexOf("@");
    return Promise.resolve({
      reference,
      repository: at > 0 ? facts.pinned.slice(0, at) : facts.pinned.replace(/:[^:/]+$/, ""),
      digest: at > 0 ? facts.pinned.slice(at + 1) : "",
      pinned: facts.pinned,
      config: facts.config,
      passwd: facts.passwd,
      group: facts.group,
    });
  }
}

/** Runs contrast's generate on a case's YAML and returns the one pod's policy data. */
export async function policyDataForCase(
  c: CaptureCase,
  settings: Settings,
  resolver: ImageResolver,
  rules: string,
  namespace?: string,
): Promise<PolicyData> {
  const result = await generate(c.yaml.map(([name, text]) => parseYamlFile(name, text)), {
    // Every pod of the captures is confidential (their runtime classes are Kata's).
    settings: { ...settings, runtime_class_prefix: "" },
    resolver,
    rules,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [],
    seedshareOwnerKeys: [],
    skipInitializer: true,
    skipServiceMesh: true,
    ...(namespace !== undefined ? { namespace } : {}),
  });
  if (result.policies.length !== 1) {
    throw new Error(`${c.name}: expected one pod policy, generate built ${result.policies.length}`);
  }
  return result.policies[0]!.policyData;
}

/** The sandbox ID a trimmed case (no CreateSandboxRequest) would have had. */
function sandboxIdOfTrimmedCase(c: CaptureCase): string | undefined {
  if (c.requests.some((r) => r.kind === "CreateSandboxRequest")) return undefined;
  for (const r of c.requests) {
    const oci = r.request.OCI as { Annotations?: Record<string, string> } | undefined;
    const id = oci?.Annotations?.["io.kubernetes.cri.sandbox-id"];
    if (typeof id === "string") return id;
  }
  return undefined;
}

/** Replays a case's requests in order and returns each verdict. */
export async function replayCase(
  c: CaptureCase,
  rules: CompiledRules,
  policyData: PolicyData,
): Promise<RequestOutcome[]> {
  const initial: PolicyState = {};
  const sandboxId = sandboxIdOfTrimmedCase(c);
  if (sandboxId !== undefined) initial.sandbox_id = sandboxId;
  let evaluator = await rules.evaluator(policyData, initial);
  const out: RequestOutcome[] = [];
  for (const [index, r] of c.requests.entries()) {
    if (r.state) evaluator = await rules.evaluator(policyData, { ...evaluator.state, ...r.state });
    const decision = evaluator.evaluate(r.kind, r.request);
    const mismatches = r.allowed && !decision.allowed
      ? policyDataMismatches(policyData, r.kind, r.request as JsonObject).map((m) =>
        `${m.field}: got ${JSON.stringify(m.got)}, expected ${JSON.stringify(m.expected)}`
      )
      : undefined;
    out.push({
      ...(mismatches ? { mismatches } : {}),
      case: c.name,
      index,
      description: r.description,
      kind: r.kind,
      expected: r.allowed,
      actual: decision.allowed,
    });
  }
  return out;
}

/** The outcome of the whole suite. */
interface ConformanceReport {
  readonly outcomes: readonly RequestOutcome[];
  /** Disagreements with no explanation. */
  readonly unexplained: readonly RequestOutcome[];
  /** Disagreements with their explanation. */
  readonly explained: readonly (RequestOutcome & { readonly why: ExplainedDifference })[];
  /** Explanations that match no disagreement (stale: remove them). */
  readonly stale: readonly ExplainedDifference[];
  /** Cases whose generate failed, with the reason (their requests count as denied). */
  readonly generateFailures: readonly { readonly case: string; readonly reason: string }[];
}

/** Reads `differences.json`. */
export async function loadDifferences(url: URL = DIFFERENCES_URL): Promise<ExplainedDifference[]> {
  return (JSON.parse(await Deno.readTextFile(url)) as { differences: ExplainedDifference[] })
    .differences;
}

/**
 * Runs every case and sorts the disagreements into explained and unexplained ones. Each case is
 * generated with the settings it was recorded with (`recordedWith`; none: `settings` for all).
 */
export async function runConformance(
  cases: readonly CaptureCase[],
  rules: CompiledRules,
  rulesText: string,
  settings: Settings,
  resolver: ImageResolver,
  differences: readonly ExplainedDifference[],
  recordedWith: ReadonlyMap<string, RecordedWith> = new Map(),
): Promise<ConformanceReport> {
  const outcomes: RequestOutcome[] = [];
  const generateFailures: { case: string; reason: string }[] = [];
  for (const c of cases) {
    let policyData: PolicyData;
    try {
      const recorded = settingsForRecording(settings, recordedWith.get(c.name));
      policyData = await policyDataForCase(
        c,
        recorded.settings,
        resolver,
        rulesText,
        recorded.namespace,
      );
    } catch (error) {
      // A pod generate refuses never runs: every one of its requests counts as denied.
      generateFailures.push({ case: c.name, reason: (error as Error).message });
      outcomes.push(...c.requests.map((r, index) => ({
        case: c.name,
        index,
        description: r.description,
        kind: r.kind,
        expected: r.allowed,
        actual: false,
        mismatches: [`generate refused the pod: ${(error as Error).message}`],
      })));
      continue;
    }
    outcomes.push(...await replayCase(c, rules, policyData));
  }
  const key = (caseName: string, description: string) => `${caseName}\0${description}`;
  const byKey = new Map(differences.map((d) => [key(d.case, d.description), d]));
  const used = new Set<string>();
  const unexplained: RequestOutcome[] = [];
  const explained: (RequestOutcome & { why: ExplainedDifference })[] = [];
  for (const o of outcomes) {
    if (o.actual === o.expected) continue;
    const k = key(o.case, o.description);
    const why = byKey.get(k);
    if (why) {
      used.add(k);
      explained.push({ ...o, why });
    } else unexplained.push(o);
  }
  const stale = differences.filter((d) => !used.has(key(d.case, d.description)));
  return { outcomes, unexplained, explained, stale, generateFailures };
}

/** Agreement figures: requests and whole cases that agree. */
export function agreement(report: ConformanceReport): {
  requests: number;
  agreeing: number;
  cases: number;
  agreeingCases: number;
} {
  const cases = new Map<string, boolean>();
  for (const o of report.outcomes) {
    cases.set(o.case, (cases.get(o.case) ?? true) && o.actual === o.expected);
  }
  return {
    requests: report.outcomes.length,
    agreeing: report.outcomes.filter((o) => o.actual === o.expected).length,
    cases: cases.size,
    agreeingCases: [...cases.values()].filter(Boolean).length,
  };
}

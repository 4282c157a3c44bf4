/**
 * `contrast policy explain`: whether the policy allows a request and, for a denial, which field
 * made it fail, in words a user can act on. Rule-agnostic: the field is found by experiment, not
 * by re-implementing the rules. The denied request is compared with an allowed reference request
 * of the same type (from the requests the runtime would send for the pod, or allowed requests
 * earlier in the same log); each differing field is swapped in from the reference on its own, and
 * the fields whose swap turns the denial into an allow are the ones reported. When no field on its
 * own suffices, the smallest set found together is reported; when no swap helps, the policy state
 * (a removed or unknown container, a sandbox already named) is the cause and is said so.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { CompiledRules, Decision, PolicyEvaluator } from "../../rego/evaluator.ts";
import {
  type AgentRequest,
  cloneJson,
  isRequestType,
  type Json,
  type JsonObject,
} from "./agent_protocol.ts";
import { Annotation } from "./runtime_model.ts";
import {
  compareWithExpectation,
  copyFileMismatches,
  execMismatches,
  expectationFor,
  type ExpectationMismatch,
} from "./policy_data_diff.ts";
import type { PolicyData } from "../policy_data_types.ts";
import { firstCoveredMount } from "../mount_order.ts";

/**
 * Where a request parts ways with the policy data's expectations (CreateContainer: the
 * container's expectation; ExecProcess: the commands allowed; CopyFile: the path patterns), when
 * the policy data has the shape of `policy/policy_data_types.ts`.
 */
export function policyDataMismatches(
  policyData: unknown,
  type: string,
  request: JsonObject,
): ExpectationMismatch[] {
  const pd = policyData as Partial<PolicyData> | null;
  if (!pd || !Array.isArray(pd.containers)) return [];
  if (type === "ExecProcessRequest") return execMismatches(pd as PolicyData, request);
  if (type === "CopyFileRequest") return copyFileMismatches(pd as PolicyData, request);
  if (type !== "CreateContainerRequest") return [];
  const expectation = expectationFor(pd as PolicyData, request);
  if (!expectation) {
    return [{
      field: `OCI.Annotations["${Annotation.containerName}"]`,
      got: ((request.OCI as JsonObject | undefined)?.Annotations as JsonObject | undefined)
        ?.[Annotation.containerName] ?? null,
      expected: pd.containers.map((c) => c.name),
    }];
  }
  return compareWithExpectation(expectation, request);
}

/** One field that made a request fail. */
interface FieldFinding {
  /** Path of the field, e.g. `OCI.Process.Args` or `OCI.Annotations["io.kubernetes…"]`. */
  readonly field: string;
  /** The value the request carried (absent: the field was missing). */
  readonly got?: Json;
  /** The value of the allowed reference request (absent: the reference has no such field). */
  readonly allowedValue?: Json;
  /** What the field means for the policy, and what to do. */
  readonly hint: string;
}

/** The verdict on one request. */
interface Explanation {
  /** Index of the request in the input (0-based). */
  readonly index: number;
  readonly type: string;
  readonly allowed: boolean;
  /** For a denial: the fields that, changed to the reference's values, make it allowed. */
  readonly fields: readonly FieldFinding[];
  /** Whether the fields together (not each alone) are needed. */
  readonly together: boolean;
  /** A sentence for people. */
  readonly summary: string;
}

/** A request to explain, in the agent's policy-log form `{"kind": …, "request": …}`. */
interface LoggedRequest {
  readonly kind: string;
  readonly request: JsonObject;
}

/**
 * Reads requests to explain: a JSON object `{kind, request}`, a JSON array of them, or JSON lines
 * (the agent's policy log).
 *
 * @throws {ParseError} naming the line or index when an entry is malformed
 */
export function parseLoggedRequests(text: string, field = "request"): AgentRequest[] {
  const entries: { value: unknown; path: string }[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new ParseError(field, `not valid JSON: ${(error as Error).message}`);
    }
    (parsed as unknown[]).forEach((value, i) => entries.push({ value, path: `${field}[${i}]` }));
  } else {
    let single: unknown;
    try {
      single = JSON.parse(trimmed);
      entries.push({ value: single, path: field });
    } catch {
      trimmed.split("\n").forEach((line, i) => {
        if (line.trim() === "") return;
        try {
          entries.push({ value: JSON.parse(line), path: `${field}:${i + 1}` });
        } catch (error) {
          throw new ParseError(`${field}:${i + 1}`, `not valid JSON: ${(error as Error).message}`);
        }
      });
    }
  }
  if (entries.length === 0) throw new ParseError(field, "no request");
  return entries.map(({ value, path }) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ParseError(path, 'expected an object {"kind": …, "request": …}');
    }
    const { kind, request } = value as Record<string, unknown>;
    if (typeof kind !== "string" || !isRequestType(kind)) {
      throw new ParseError(`${path}.kind`, `unknown request type ${JSON.stringify(kind)}`);
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      throw new ParseError(`${path}.request`, "expected an object");
    }
    return { type: kind, input: request as JsonObject };
  });
}

type PathKey = string | number;

interface Leaf {
  readonly path: readonly PathKey[];
  readonly value: Json | undefined;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Leaf differences between `a` and `b`: objects recurse, arrays and scalars are leaves. */
export function leafDiffs(a: Json | undefined, b: Json | undefined, path: PathKey[] = []): Leaf[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => leafDiffs(a[k], b[k], [...path, k]));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [{ path, value: b }];
}

/** Renders a path as `OCI.Process.Args` / `OCI.Annotations["io.x"]`. */
export function renderPath(path: readonly PathKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

function getAt(doc: Json, path: readonly PathKey[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, Json>)[k as string];
  }
  return cur;
}

function setAt(doc: JsonObject, path: readonly PathKey[], value: Json | undefined): void {
  let cur: JsonObject = doc;
  for (const k of path.slice(0, -1)) {
    const next = cur[k as string];
    if (!isObject(next)) cur[k as string] = {};
    cur = cur[k as string] as JsonObject;
  }
  const last = path[path.length - 1] as string;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

const HINTS: [string, string][] = [
  [
    "OCI.Process.Args",
    "the command line is not the one the policy expects (image Entrypoint/Cmd and the pod's command/args); regenerate the policy after changing them",
  ],
  [
    "OCI.Process.Env",
    "an environment variable is not one the policy allows (image env, pod env, ConfigMaps/Secrets); regenerate after changing env or referenced ConfigMaps",
  ],
  [
    "OCI.Process.User",
    "the user or groups differ from the pod's securityContext or the image's USER",
  ],
  ["OCI.Process.Capabilities", "the capabilities differ from the container's securityContext"],
  ["OCI.Process.Terminal", "the terminal setting differs from the container's tty"],
  ["OCI.Process.Cwd", "the working directory differs from workingDir or the image's WorkingDir"],
  ["OCI.Process.NoNewPrivileges", "allowPrivilegeEscalation differs from the pod spec"],
  ["OCI.Process", "the process differs from what the policy expects"],
  ["OCI.Root", "the root filesystem (path or read-only flag) differs from readOnlyRootFilesystem"],
  ["OCI.Mounts", "the mounts differ from the pod's volumes and the runtime's default mounts"],
  [
    "OCI.Annotations",
    "an annotation is not one the runtime sets, or has a value the policy does not expect (pod name, namespace, container name, image)",
  ],
  [
    "OCI.Hooks",
    "OCI hooks would run host-chosen programs in the guest; the policy never allows them",
  ],
  ["OCI.Linux", "the Linux settings (namespaces, sysctls, masked paths, seccomp, devices) differ"],
  ["OCI", "the OCI spec differs from what the policy expects"],
  [
    "storages",
    "a storage (the image, by digest, or a volume) differs: was the image re-pushed under the same tag? regenerate to pin the new digest",
  ],
  ["devices", "devices from the host are not allowed by the policy"],
  ["shared_mounts", "sharing mounts between containers is not allowed by the policy"],
  ["sandbox_pidns", "the PID namespace sharing differs from shareProcessNamespace"],
  ["container_id", "the container ID is unknown to the policy (never created, or already removed)"],
  ["process.Args", "only the pod's exec probes may run in the container"],
  [
    "process",
    "the exec'd process differs from the container's (user, env, terminal, capabilities)",
  ],
  ["path", "the file path is not one of the runtime's shared files, or is not canonical"],
  ["symlink_target", "the symlink target is absolute or leaves the shared directory"],
  ["file_mode", "the file mode (type or setuid/setgid bits) is not allowed"],
  ["kernel_modules", "loading kernel modules from the host is never allowed"],
  ["guest_hook_path", "guest hooks would run host-chosen programs; never allowed"],
  ["sandbox_id", "a second sandbox, or a sandbox ID of the wrong form"],
  ["hostname", "the hostname differs from the pod's"],
  ["interface", "the network interface touches loopback or differs from what is allowed"],
  ["routes", "a route uses loopback"],
  ["neighbors", "an ARP neighbour is on loopback"],
  ["policy", "replacing the policy from the host is never allowed"],
];

/** The hint for a field path. */
function hintFor(field: string): string {
  for (const [prefix, hint] of HINTS) {
    if (field === prefix || field.startsWith(prefix + ".") || field.startsWith(prefix + "[")) {
      return hint;
    }
  }
  return "this field differs from what the policy allows";
}

/** The hint for `OCI.Mounts`: names a nested mount sent before its parent, if one is. */
function mountsHint(got: unknown): string {
  const destinations = Array.isArray(got)
    ? got.map((m) => String((m as JsonObject | null)?.destination ?? ""))
    : [];
  const covered = firstCoveredMount(destinations);
  if (!covered) return hintFor("OCI.Mounts");
  return `${covered[0]} comes before ${covered[1]}, which would cover it (the agent mounts in ` +
    "list order): nested mounts must come after their parent, as the runtime sends them";
}

function referenceScore(request: AgentRequest, ref: AgentRequest): number {
  let score = leafDiffs(request.input, ref.input).length;
  const name = (r: AgentRequest) =>
    (getAt(r.input, ["OCI", "Annotations", Annotation.containerName]) ?? "") as string;
  if (request.type === "CreateContainerRequest" && name(request) !== name(ref)) score += 1000;
  if (
    request.input.container_id !== undefined &&
    request.input.container_id === ref.input.container_id
  ) {
    score -= 1;
  }
  return score;
}

function findFields(
  evaluator: PolicyEvaluator,
  request: AgentRequest,
  ref: AgentRequest,
): { fields: FieldFinding[]; together: boolean } | undefined {
  const diffs = leafDiffs(request.input, ref.input);
  const finding = (d: Leaf): FieldFinding => {
    const field = renderPath(d.path);
    const got = getAt(request.input, d.path);
    return {
      field,
      ...(got !== undefined ? { got } : {}),
      ...(d.value !== undefined ? { allowedValue: d.value } : {}),
      hint: field === "OCI.Mounts" ? mountsHint(got) : hintFor(field),
    };
  };
  const allows = (applied: readonly Leaf[]) => {
    const input = cloneJson(request.input);
    for (const d of applied) setAt(input, d.path, d.value);
    return evaluator.decide(request.type, input).allowed;
  };
  const single = diffs.filter((d) => allows([d]));
  if (single.length > 0) return { fields: single.map(finding), together: false };
  const applied: Leaf[] = [];
  for (const d of diffs) {
    applied.push(d);
    if (allows(applied)) break;
  }
  if (!allows(applied)) return undefined;
  for (let i = applied.length - 1; i >= 0; i--) {
    const without = applied.filter((_, j) => j !== i);
    if (allows(without)) applied.splice(i, 1);
  }
  return { fields: applied.map(finding), together: applied.length > 1 };
}

/**
 * Replays `requests` in order against the policy (threading state as the agent does) and explains
 * each. `referenceSequence` (e.g. the legitimate sequence of the pod) is replayed on its own first;
 * the requests of it the policy allows, and the allowed requests of the replay, are the references
 * denials are compared with.
 */
export async function explainRequests(
  rules: CompiledRules,
  policyData: unknown,
  requests: readonly AgentRequest[],
  referenceSequence: readonly AgentRequest[],
): Promise<Explanation[]> {
  const refs = await allowedReferences(rules, policyData, referenceSequence);
  using evaluator = await rules.evaluator(policyData);
  const out: Explanation[] = [];
  for (const [index, request] of requests.entries()) {
    const decision = evaluator.decide(request.type, request.input);
    if (decision.allowed) {
      evaluator.evaluate(request.type, request.input);
      refs.push(request);
      out.push({
        index,
        type: request.type,
        allowed: true,
        fields: [],
        together: false,
        summary: `${request.type} is allowed by the policy`,
      });
      continue;
    }
    const candidates = refs.filter((r) => r.type === request.type)
      .sort((x, y) => referenceScore(request, x) - referenceScore(request, y));
    const found = deniedFields(evaluator, policyData, request, candidates);
    out.push({
      index,
      type: request.type,
      allowed: false,
      fields: found?.fields ?? [],
      together: found?.together ?? false,
      summary: denialSummary(request, decision, found, candidates.length, policyData),
    });
  }
  return out;
}

/** The requests of `referenceSequence` the policy allows, replayed in order from a fresh state. */
async function allowedReferences(
  rules: CompiledRules,
  policyData: unknown,
  referenceSequence: readonly AgentRequest[],
): Promise<AgentRequest[]> {
  const refs: AgentRequest[] = [];
  using replay = await rules.evaluator(policyData);
  for (const r of referenceSequence) {
    if (replay.evaluate(r.type, r.input).allowed) refs.push(r);
  }
  return refs;
}

/** The fields that made a request fail, and whether they came from the policy's expectations. */
interface DeniedFields {
  readonly fields: FieldFinding[];
  readonly together: boolean;
  readonly fromPolicyData: boolean;
}

/**
 * Why a denied request fails: the fields that, set to the closest allowed reference's values (the
 * five closest tried), make it allowed; failing that, where it departs from the policy data's
 * expectations.
 */
function deniedFields(
  evaluator: PolicyEvaluator,
  policyData: unknown,
  request: AgentRequest,
  candidates: readonly AgentRequest[],
): DeniedFields | undefined {
  for (const ref of candidates.slice(0, 5)) {
    const found = findFields(evaluator, request, ref);
    if (found) return { ...found, fromPolicyData: false };
  }
  const mismatches = policyDataMismatches(policyData, request.type, request.input);
  if (mismatches.length === 0) return undefined;
  return {
    fields: mismatches.map((m) => ({
      field: m.field,
      got: m.got,
      allowedValue: m.expected,
      hint: hintFor(m.field),
    })),
    together: false,
    fromPolicyData: true,
  };
}

/** The sentence for a denial: the fields found, or the reason when no field explains it. */
function denialSummary(
  request: AgentRequest,
  decision: Decision,
  found: DeniedFields | undefined,
  candidateCount: number,
  policyData: unknown,
): string {
  if (decision.aborted !== undefined) {
    return `${request.type} is denied: the rules cannot evaluate it (${decision.aborted}); ` +
      "a request the rules cannot read is never allowed";
  }
  if (decision.error) {
    return `${request.type} is denied: the rules returned a malformed result (${decision.error})`;
  }
  if (found) {
    const names = found.fields.map((f) => f.field).join(", ");
    return `${request.type} is denied because of ${names}` +
      (found.together ? " (together)" : "") +
      (found.fromPolicyData ? " (compared with the policy's expectations)" : "") +
      `: ${found.fields[0].hint}`;
  }
  if (request.type === "SetPolicyRequest") {
    return "SetPolicyRequest is denied: replacing the policy from the host is never allowed " +
      "(the policy is fixed by the initdata measured into the TEE)";
  }
  const requestSwitches = (policyData as { requests?: Record<string, unknown> } | null)?.requests;
  if (requestSwitches?.[request.type] === false) {
    return `${request.type} is denied: the policy turns this request off ` +
      `(policy_data.requests.${request.type} is false; see the platform settings)`;
  }
  if (candidateCount === 0) {
    return `${request.type} is denied, and no allowed request of this type was available ` +
      "to compare it with: either the policy never allows this kind of request, or it does " +
      "not admit the pod at all (run `contrast policy check` on the generated YAML)";
  }
  return `${request.type} is denied for a reason outside its fields: the policy state ` +
    "(a container that is unknown or already removed, a sandbox that already exists or " +
    "already has another name) does not allow it at this point";
}

/** Text rendering of explanations. */
export function renderExplanations(explanations: readonly Explanation[]): string {
  const lines: string[] = [];
  for (const e of explanations) {
    lines.push(`#${e.index} ${e.allowed ? "ALLOWED" : "DENIED"}: ${e.summary}`);
    for (const f of e.fields) {
      lines.push(`    field ${f.field}`);
      lines.push(
        `      request has:    ${f.got === undefined ? "(missing)" : JSON.stringify(f.got)}`,
      );
      lines.push(
        `      policy allows:  ${
          f.allowedValue === undefined ? "(field absent)" : JSON.stringify(f.allowedValue)
        }`,
      );
      lines.push(`      ${f.hint}`);
    }
  }
  return lines.join("\n");
}

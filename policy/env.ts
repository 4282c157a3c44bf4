/**
 * Container environment as Kubernetes and containerd produce it: image `Env`, then `envFrom`
 * (ConfigMaps/Secrets, with prefix), then `env` (literal values with `$(VAR)` expansion,
 * ConfigMap/Secret key references, downward-API field references). Values only known at run
 * time (pod name, IPs, UID) become patterns.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { childPath, type IssueList } from "../util/json/mod.ts";
import type { EnvExpectation } from "./policy_data_types.ts";
import { escapeRegex, hasSecret, isLiteral, type PartialValue, unanchor } from "./regex.ts";

/** Looks up ConfigMap and Secret data (Secret values already decoded) in the input set. */
export interface ConfigSource {
  /** Data of ConfigMap `name` in `namespace`, or undefined when not in the input. */
  configMap(namespace: string, name: string): Readonly<Record<string, string>> | undefined;
  /** Decoded data of Secret `name` in `namespace`, or undefined when not in the input. */
  secret(namespace: string, name: string): Readonly<Record<string, string>> | undefined;
}

/** What downward-API references resolve to for this pod. */
export interface PodFacts {
  readonly namespace: string;
  /** Unanchored pattern of the pod name. */
  readonly namePattern: string;
  readonly serviceAccountName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

const IP = "[0-9a-fA-F.:]+";
const FIELD_PATTERNS: Record<string, string> = {
  "metadata.uid": "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
  "spec.nodeName": "[a-z0-9.-]+",
  "status.hostIP": IP,
  "status.podIP": IP,
  "status.hostIPs": `${IP}(,${IP})*`,
  "status.podIPs": `${IP}(,${IP})*`,
};

/**
 * What `$(NAME)` expands to when the pod does not define NAME, by NAME (undefined: the reference
 * stays as written).
 */
export type UndefinedVariable = (name: string) => PartialValue | undefined;

/** A variable the kubelet may add: a pattern of its name and of the values it gives it. */
const PORT = "[0-9]+";
const PROTOCOL = "(tcp|udp|sctp)";
/** `net.JoinHostPort` of a cluster IP and a port, after the protocol (`tcp://[fd00::1]:80`). */
const LINK = `${PROTOCOL}://(\\[[0-9a-fA-F:]+\\]|[0-9.]+):${PORT}`;
const SERVICE = "[A-Z][A-Z0-9_]*";
const PORT_PROTOCOL = `${SERVICE}_PORT_[0-9]+_(TCP|UDP|SCTP)`;

/**
 * The service variables the kubelet injects (`pkg/kubelet/envvars`, v1.37): for a Service `my-db`
 * with cluster IP `ip` and ports, `MY_DB_SERVICE_HOST=ip`, `MY_DB_SERVICE_PORT=<first port>`,
 * `MY_DB_SERVICE_PORT_<PORT NAME>=<port>`, `MY_DB_PORT=tcp://ip:port` (first port) and per port
 * `MY_DB_PORT_<port>_<PROTO>=<proto>://ip:port` with `_PROTO`, `_PORT`, `_ADDR`. A name can take
 * more than one form (`A_SERVICE_PORT` is also the `_PORT` of a Service `a-service`): its values
 * are those of every form it matches.
 */
const SERVICE_VARIABLES: readonly (readonly [RegExp, string])[] = [
  [new RegExp(`^${SERVICE}_SERVICE_HOST$`), IP],
  [new RegExp(`^${SERVICE}_SERVICE_PORT(_[A-Z0-9_]+)?$`), PORT],
  [new RegExp(`^${SERVICE}_PORT$`), LINK],
  [new RegExp(`^${PORT_PROTOCOL}$`), LINK],
  [new RegExp(`^${PORT_PROTOCOL}_PROTO$`), PROTOCOL],
  [new RegExp(`^${PORT_PROTOCOL}_PORT$`), PORT],
  [new RegExp(`^${PORT_PROTOCOL}_ADDR$`), IP],
];

/**
 * `$(NAME)` for a service variable the pod does not define. The kubelet expands env values over
 * the container's variables so far and then the service variables, and command and args over
 * all of them (`kubelet_pods.go`, `ExpandContainerCommandAndArgs`); which Services exist, and so
 * whether NAME is set and to what, is the host's choice. So the reference stays as written (no
 * such Service) or becomes a value of the shape the kubelet gives NAME. Only names the runtime may
 * add to the environment are looked up: those matching the name part (before `=`) of one of
 * `regexes` (the settings' `^NAME=VALUE$` patterns: `KUBERNETES_*`, and with service links every
 * service's).
 *
 * @example `$(DB_SERVICE_HOST)` with service links
 * ```ts
 * import { serviceVariables } from "./env.ts";
 *
 * const lookup = serviceVariables(["^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT)=[0-9a-zA-Z.:-]*$"]);
 * lookup("DB_SERVICE_HOST"); // [{ pattern: "(\\$\\(DB_SERVICE_HOST\\)|[0-9a-fA-F.:]+)" }]
 * lookup("GREETING"); // undefined
 * ```
 */
export function serviceVariables(regexes: readonly string[]): UndefinedVariable {
  const names = regexes.flatMap((r) => {
    const eq = r.indexOf("=");
    if (!r.startsWith("^") || eq < 0) return [];
    try {
      return [new RegExp(`${r.slice(0, eq)}$`)];
    } catch {
      return [];
    }
  });
  return (name) => {
    if (!names.some((n) => n.test(name))) return undefined;
    const values = SERVICE_VARIABLES.filter(([form]) => form.test(name)).map(([, v]) => v);
    if (values.length === 0) return undefined;
    return [{ pattern: `(${escapeRegex(`$(${name})`)}|${values.join("|")})` }];
  };
}

/**
 * Resolves `$(VAR)` references against `vars` (Kubernetes' rules: `$$` escapes, unknown stays),
 * then `undefinedVariable` (service variables the kubelet may inject).
 */
export function expandVars(
  text: string,
  vars: ReadonlyMap<string, PartialValue>,
  undefinedVariable: UndefinedVariable = () => undefined,
): PartialValue {
  const out: PartialValue[number][] = [];
  let literal = "";
  let secret = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "$" && text[i + 1] === "$") {
      literal += "$";
      i++;
      continue;
    }
    if (ch === "$" && text[i + 1] === "(") {
      const end = text.indexOf(")", i + 2);
      if (end > 0) {
        const name = text.slice(i + 2, end);
        const value = vars.get(name) ?? undefinedVariable(name);
        if (value !== undefined) {
          for (const p of value) {
            if ("literal" in p) {
              literal += p.literal;
              secret ||= p.secret === true;
            } else {
              if (literal) out.push({ literal });
              literal = "";
              out.push(p);
            }
          }
          i = end;
          continue;
        }
      }
    }
    literal += ch;
  }
  if (literal || out.length === 0) out.push({ literal });
  // Text that contains a Secret's value is secret as a whole.
  return secret ? out.map((p) => ("literal" in p ? { literal: p.literal, secret: true } : p)) : out;
}

/** The environment of one container, name to value in definition order. */
interface ResolvedEnv {
  /** Final environment: image variables overridden by the pod's. */
  readonly env: Map<string, PartialValue>;
  /** Only the variables the pod spec defines (what `$(VAR)` in command/args can refer to). */
  readonly podVars: Map<string, PartialValue>;
}

/**
 * Resolves the environment of `container` (a Kubernetes container object) on top of
 * `imageEnv` (`NAME=value` strings). Problems are recorded in `issues` under `path`.
 */
export function resolveEnv(
  container: Record<string, unknown>,
  imageEnv: readonly string[],
  facts: PodFacts,
  source: ConfigSource,
  path: string,
  issues: IssueList,
  undefinedVariable: UndefinedVariable = () => undefined,
): ResolvedEnv {
  const env = imageEnvOf(imageEnv);
  // Variables visible to $(VAR) expansion: only those the pod spec defines, in order.
  const podVars: Map<string, PartialValue> = new Map();
  const set: SetVar = (name, value) => {
    env.set(name, value);
    podVars.set(name, value);
  };
  const ctx: EnvContext = { facts, source, issues, set, undefinedVariable };
  envFromSources(container.envFrom, childPath(path, "envFrom"), ctx);
  envVars(container.env, childPath(path, "env"), podVars, ctx);
  return { env, podVars };
}

/** Sets one pod-defined variable. */
type SetVar = (name: string, value: PartialValue) => void;

/** What resolving a container's variables needs besides the variables themselves. */
interface EnvContext {
  readonly facts: PodFacts;
  readonly source: ConfigSource;
  readonly issues: IssueList;
  readonly set: SetVar;
  readonly undefinedVariable: UndefinedVariable;
}

/** The image's `NAME=value` variables as literal values. */
function imageEnvOf(imageEnv: readonly string[]): Map<string, PartialValue> {
  const env = new Map<string, PartialValue>();
  for (const entry of imageEnv) {
    const at = entry.indexOf("=");
    const name = at < 0 ? entry : entry.slice(0, at);
    env.set(name, [{ literal: at < 0 ? "" : entry.slice(at + 1) }]);
  }
  return env;
}

/** `envFrom`: every key of each ConfigMap or Secret (sorted), with the source's prefix. */
function envFromSources(envFrom: unknown, path: string, ctx: EnvContext): void {
  if (envFrom === undefined) return;
  const { facts, source, issues, set } = ctx;
  if (!Array.isArray(envFrom)) {
    issues.add(path, "must be a list");
    return;
  }
  envFrom.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const o = (item ?? {}) as Record<string, unknown>;
    const prefix = typeof o.prefix === "string" ? o.prefix : "";
    const ref = (o.configMapRef ?? o.secretRef) as Record<string, unknown> | undefined;
    if (!ref || typeof ref.name !== "string") {
      issues.add(at, "needs configMapRef or secretRef with a name");
      return;
    }
    const isSecret = o.secretRef !== undefined;
    const data = isSecret
      ? source.secret(facts.namespace, ref.name)
      : source.configMap(facts.namespace, ref.name);
    if (data === undefined) {
      if (ref.optional !== true) {
        issues.add(
          `${at}.${isSecret ? "secretRef" : "configMapRef"}.name`,
          `${
            isSecret ? "Secret" : "ConfigMap"
          } "${ref.name}" in namespace "${facts.namespace}" is not in the input`,
        );
      }
      return;
    }
    for (const key of Object.keys(data).sort()) {
      set(prefix + key, [{ literal: data[key]!, ...(isSecret ? { secret: true } : {}) }]);
    }
  });
}

/** `env`: literal values (with `$(VAR)` expanded over the pod's variables so far) or `valueFrom`. */
function envVars(
  list: unknown,
  path: string,
  podVars: ReadonlyMap<string, PartialValue>,
  ctx: EnvContext,
): void {
  if (list === undefined) return;
  const { facts, source, issues, set } = ctx;
  if (!Array.isArray(list)) {
    issues.add(path, "must be a list");
    return;
  }
  list.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const o = (item ?? {}) as Record<string, unknown>;
    if (typeof o.name !== "string" || o.name === "") {
      issues.add(`${at}.name`, "missing");
      return;
    }
    if (o.valueFrom === undefined) {
      const text = o.value === undefined || o.value === null ? "" : String(o.value);
      set(o.name, expandVars(text, podVars, ctx.undefinedVariable));
      return;
    }
    const value = resolveValueFrom(
      o.valueFrom as Record<string, unknown>,
      facts,
      source,
      `${at}.valueFrom`,
      issues,
    );
    if (value !== undefined) set(o.name, value);
  });
}

function resolveValueFrom(
  from: Record<string, unknown>,
  facts: PodFacts,
  source: ConfigSource,
  path: string,
  issues: IssueList,
): PartialValue | undefined {
  const keyRef = (from.configMapKeyRef ?? from.secretKeyRef) as Record<string, unknown> | undefined;
  if (keyRef) {
    const isSecret = from.secretKeyRef !== undefined;
    const kind = isSecret ? "Secret" : "ConfigMap";
    const field = `${path}.${isSecret ? "secretKeyRef" : "configMapKeyRef"}`;
    if (typeof keyRef.name !== "string" || typeof keyRef.key !== "string") {
      issues.add(field, "needs name and key");
      return undefined;
    }
    const data = isSecret
      ? source.secret(facts.namespace, keyRef.name)
      : source.configMap(facts.namespace, keyRef.name);
    const value = data?.[keyRef.key];
    if (value === undefined) {
      if (keyRef.optional !== true) {
        issues.add(
          field,
          data === undefined
            ? `${kind} "${keyRef.name}" in namespace "${facts.namespace}" is not in the input`
            : `${kind} "${keyRef.name}" has no key "${keyRef.key}"`,
        );
      }
      return undefined;
    }
    return [{ literal: value, ...(isSecret ? { secret: true } : {}) }];
  }
  const fieldRef = from.fieldRef as Record<string, unknown> | undefined;
  if (fieldRef) {
    const fieldPath = String(fieldRef.fieldPath ?? "");
    if (fieldPath === "metadata.name") return [{ pattern: facts.namePattern }];
    if (fieldPath === "metadata.namespace") return [{ literal: facts.namespace }];
    if (fieldPath === "spec.serviceAccountName") return [{ literal: facts.serviceAccountName }];
    const label = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
    if (label) {
      const map = label[1] === "labels" ? facts.labels : facts.annotations;
      const v = map[label[2]!];
      return v === undefined ? [{ literal: "" }] : [{ literal: v }];
    }
    if (fieldPath === "metadata.labels" || fieldPath === "metadata.annotations") {
      return [{ pattern: "[^\\x00]*" }];
    }
    const pattern = FIELD_PATTERNS[fieldPath];
    if (pattern) return [{ pattern }];
    issues.add(`${path}.fieldRef.fieldPath`, `unsupported field reference "${fieldPath}"`);
    return undefined;
  }
  if (from.resourceFieldRef) return [{ pattern: "[0-9]+" }];
  issues.add(
    path,
    "unsupported valueFrom (expected configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef)",
  );
  return undefined;
}

/** Renders a resolved value as an env expectation. */
export function envExpectation(name: string, value: PartialValue): EnvExpectation {
  if (hasSecret(value)) {
    if (!isLiteral(value)) {
      throw new ParseError(
        name,
        "combines a Secret's value with a value only known at run time; this is not supported",
      );
    }
    // Policies are public (the Coordinator serves them), so nothing of the value is published;
    // the Kata agent's Rego engine (regorus) has no hash builtin to check a digest with, so the
    // variable must be present and its value is not constrained.
    return { name, secret: true };
  }
  if (isLiteral(value)) {
    return { name, value: value.map((p) => ("literal" in p ? p.literal : "")).join("") };
  }
  return {
    name,
    regex: `^${
      value.map((p) => ("literal" in p ? escapeLiteral(p.literal) : unanchor(p.pattern))).join("")
    }$`,
  };
}

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);
}

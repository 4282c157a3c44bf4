/**
 * The service-mesh side of `contrast generate`: checks a workload's mesh annotations with the
 * parser the proxy itself uses (`protocol/mesh_config.ts`), so anything `generate` accepts the
 * sidecar accepts too, and lists the pod's TCP ports for the sidecar
 * (`CONTRAST_MESH_POD_PORTS`): the ports its ingress protects with mutual TLS.
 *
 * @module
 */
import type { FieldIssue } from "../util/errors/mod.ts";
import { MeshConfigError, parseMeshConfig, parseMeshLimits } from "../protocol/mesh_config.ts";
import {
  INITIALIZER_NAME,
  MESH_ADMIN_ANNOTATION,
  MESH_EGRESS_ANNOTATION,
  MESH_INGRESS_ANNOTATION,
  MESH_LIMITS_ANNOTATION,
  MESH_MEMORY_LIMIT_ANNOTATION,
  MESH_MEMORY_REQUEST_ANNOTATION,
  MESH_SIDECAR_NAME,
} from "./annotations.ts";
import { parseMemoryQuantity } from "./memory_quantity.ts";

/** Where the pod's ports came from, in errors. */
const POD_PORTS_SOURCE = "containers[].ports";

/** The maps among the items of a plain list (none for anything else). */
function plainMaps(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v)
  );
}

/**
 * The TCP `containerPort`s of the pod's containers and native sidecars (not contrast's own),
 * sorted and without duplicates.
 *
 * @param spec the pod spec as the policy data reads it (`resolvedValue` of
 *   `util/yaml/plain_tree.ts`: aliases resolved), so ports behind an alias are protected too
 */
export function podTcpPorts(spec: Readonly<Record<string, unknown>>): number[] {
  const ports = new Set<number>();
  for (const key of ["initContainers", "containers"]) {
    for (const c of plainMaps(spec[key])) {
      const name = c.name;
      if (name === MESH_SIDECAR_NAME || name === INITIALIZER_NAME) continue;
      if (key === "initContainers" && c.restartPolicy !== "Always") continue;
      for (const p of plainMaps(c.ports)) {
        const protocol = p.protocol ?? "TCP";
        const port = Number(p.containerPort);
        if (protocol === "TCP" && Number.isInteger(port) && port > 0 && port < 65536) {
          ports.add(port);
        }
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/**
 * Checks the mesh annotations of one workload; each problem becomes a {@link FieldIssue} at
 * `at(annotation)` whose reason names the entry.
 */
export function meshAnnotationIssues(
  annotations: Readonly<Record<string, unknown>>,
  podPorts: readonly number[],
  at: (annotation: string) => string,
): FieldIssue[] {
  const text = (k: string) =>
    annotations[k] === undefined || annotations[k] === null ? undefined : String(annotations[k]);
  return [
    ...configIssues(text, podPorts, at),
    ...limitsIssues(text, at),
    ...memoryIssues(text, at),
  ];
}

/**
 * The sidecar memory annotations' problems: each must be a positive whole number of bytes as a
 * Kubernetes quantity, and the request at most the limit (the API server refuses more).
 */
function memoryIssues(
  text: (annotation: string) => string | undefined,
  at: (annotation: string) => string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const bytes: Record<string, bigint> = {};
  for (const annotation of [MESH_MEMORY_LIMIT_ANNOTATION, MESH_MEMORY_REQUEST_ANNOTATION]) {
    const value = text(annotation);
    if (value === undefined) continue;
    const parsed = parseMemoryQuantity(value);
    if ("reason" in parsed) issues.push({ path: at(annotation), reason: parsed.reason });
    else bytes[annotation] = parsed.bytes;
  }
  const limit = bytes[MESH_MEMORY_LIMIT_ANNOTATION];
  const request = bytes[MESH_MEMORY_REQUEST_ANNOTATION];
  if (limit !== undefined && request !== undefined && request > limit) {
    issues.push({
      path: at(MESH_MEMORY_REQUEST_ANNOTATION),
      reason: `${text(MESH_MEMORY_REQUEST_ANNOTATION)} (${request} bytes) is more than the limit ` +
        `${text(MESH_MEMORY_LIMIT_ANNOTATION)} (${limit} bytes) of ${MESH_MEMORY_LIMIT_ANNOTATION}`,
    });
  }
  return issues;
}

/** The limits annotation's problem, if any. */
function limitsIssues(
  text: (annotation: string) => string | undefined,
  at: (annotation: string) => string,
): FieldIssue[] {
  try {
    parseMeshLimits(text(MESH_LIMITS_ANNOTATION), MESH_LIMITS_ANNOTATION);
    return [];
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    const reason = error.message.slice(MESH_LIMITS_ANNOTATION.length).replace(/^: /, "").trim();
    return [{ path: at(MESH_LIMITS_ANNOTATION), reason }];
  }
}

/** The ingress, egress and admin annotations' problem, if any. */
function configIssues(
  text: (annotation: string) => string | undefined,
  podPorts: readonly number[],
  at: (annotation: string) => string,
): FieldIssue[] {
  try {
    parseMeshConfig({
      ingress: text(MESH_INGRESS_ANNOTATION),
      egress: text(MESH_EGRESS_ANNOTATION),
      admin: text(MESH_ADMIN_ANNOTATION),
      podPorts: podPorts.join(","),
    }, {
      ingress: MESH_INGRESS_ANNOTATION,
      egress: MESH_EGRESS_ANNOTATION,
      admin: MESH_ADMIN_ANNOTATION,
      podPorts: POD_PORTS_SOURCE,
    });
    return [];
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    const source = [MESH_INGRESS_ANNOTATION, MESH_EGRESS_ANNOTATION, MESH_ADMIN_ANNOTATION]
      .find((a) => error.field.startsWith(a));
    if (source === undefined) {
      return [{ path: at(MESH_INGRESS_ANNOTATION), reason: error.message }];
    }
    const reason = error.message.slice(source.length).replace(/^: /, "").trim();
    return [{ path: at(source), reason }];
  }
}

/** `net.ipv4.conf.<all|default|interface>.route_localnet`, in either separator Kubernetes takes. */
const ROUTE_LOCALNET = /^net\.ipv4\.conf\..+\.route_localnet$/;

/**
 * The pod's own sysctls that would expose the sidecar's loopback listeners: a
 * `net.ipv4.conf.<if>.route_localnet` (`all`, `default` or an interface; `.` or `/` separated)
 * set to anything but `0` makes the kernel route 127.0.0.0/8 to and from the network, so the
 * egress listeners (127.x addresses; their connections leave with the pod's mesh identity) and
 * the application's loopback-only ports become reachable from outside the pod. The runtime policy
 * pins the pod's sysctls exactly (`sysctls_ok` in `rego/rules.rego`), so refusing it here means the
 * host cannot set it either.
 *
 * @param spec the pod spec as the policy data reads it (`resolvedValue` of
 *   `util/yaml/plain_tree.ts`: aliases and merge keys resolved)
 * @param at prefix of issue paths (`file: doc[0] spec.template.spec`)
 */
export function meshSysctlIssues(
  spec: Readonly<Record<string, unknown>>,
  at: string,
): FieldIssue[] {
  const securityContext = spec.securityContext as { sysctls?: unknown } | null | undefined;
  const sysctls = securityContext?.sysctls;
  if (!Array.isArray(sysctls)) return [];
  const issues: FieldIssue[] = [];
  sysctls.forEach((item: unknown, i) => {
    if (typeof item !== "object" || item === null) return;
    const o = item as { name?: unknown; value?: unknown };
    const name = String(o.name ?? "");
    const value = String(o.value ?? "").trim();
    if (!ROUTE_LOCALNET.test(name.replaceAll("/", ".")) || value === "0") return;
    issues.push({
      path: `${at}.securityContext.sysctls[${i}]`,
      reason: `sysctl ${name}=${JSON.stringify(value)} routes 127.0.0.0/8 from outside the pod, ` +
        "which would expose the service-mesh sidecar's egress listeners (127.x addresses, whose " +
        "connections leave with the pod's mesh identity) and loopback-only application ports; " +
        "remove it (or set it to 0)",
    });
  });
  return issues;
}

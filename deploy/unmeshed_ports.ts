/**
 * The container ports of a meshed pod that the service mesh does not protect: `UDP` and `SCTP`
 * `containerPort`s (the proxy carries TCP, and transparent mode's rules match TCP only, so these
 * stay reachable in plain from outside the pod), and the warning `contrast generate` prints for
 * each, so that a pod that relies on the mesh does not silently serve a datagram port in plain.
 *
 * @module
 */
import { INITIALIZER_NAME, MESH_SIDECAR_NAME } from "./annotations.ts";

/** A non-TCP port of one container of a pod that gets the mesh sidecar. */
export interface UnmeshedPort {
  /** `file[doc]` of the workload (`app.yml[2]`). */
  readonly location: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The container's name. */
  readonly container: string;
  /** Path of the port entry (`spec.template.spec.containers[0].ports[1]`). */
  readonly field: string;
  readonly port: number;
  /** `UDP` or `SCTP`. */
  readonly protocol: string;
}

/** The workload an {@link UnmeshedPort} belongs to. */
type UnmeshedPortOwner = Pick<
  UnmeshedPort,
  "location" | "kind" | "namespace" | "name"
>;

/**
 * The `UDP` and `SCTP` `containerPort`s of every container, init container and native sidecar of
 * the pod spec `spec` at `specPath` (not contrast's own), in document order.
 *
 * @param spec the pod spec as the policy data reads it (`resolvedValue` of
 *   `util/yaml/plain_tree.ts`: aliases resolved), so ports behind an alias are reported too
 */
export function unmeshedPorts(
  owner: UnmeshedPortOwner,
  spec: Readonly<Record<string, unknown>>,
  specPath: string,
): UnmeshedPort[] {
  const { location, kind, namespace, name } = owner;
  const out: UnmeshedPort[] = [];
  for (const key of ["initContainers", "containers"]) {
    plainItems(spec[key]).forEach((c, i) => {
      if (c === undefined) return;
      const container = String(c.name ?? "");
      if (container === MESH_SIDECAR_NAME || container === INITIALIZER_NAME) return;
      plainItems(c.ports).forEach((p, k) => {
        if (p === undefined) return;
        const protocol = p.protocol;
        if (protocol !== "UDP" && protocol !== "SCTP") return;
        out.push({
          location,
          kind,
          namespace,
          name,
          container,
          field: `${specPath}.${key}[${i}].ports[${k}]`,
          port: Number(p.containerPort),
          protocol,
        });
      });
    });
  }
  return out;
}

/** The items of a plain list, each a map or undefined (anything else); [] for no list. */
function plainItems(value: unknown): (Record<string, unknown> | undefined)[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : undefined
  );
}

/** The warning line (without a `warning: ` prefix) for `p`. */
export function unmeshedPortWarning(p: UnmeshedPort): string {
  return `${p.location}: ${p.kind} ${p.namespace}/${p.name} container "${p.container}" port ` +
    `${p.port}/${p.protocol} (${p.field}) is not protected by the service mesh: the mesh carries ` +
    `TCP only and transparent mode filters TCP only, so this port stays reachable in plain from ` +
    `outside the pod`;
}

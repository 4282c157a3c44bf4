/**
 * The container ports of a meshed pod that the service mesh does not protect: `UDP` and `SCTP`
 * `containerPort`s (the proxy carries TCP, and transparent mode's rules match TCP only, so these
 * stay reachable in plain from outside the pod), and the warning `contrast generate` prints for
 * each, so that a pod that relies on the mesh does not silently serve a datagram port in plain.
 *
 * @module
 */
import { isMap, isSeq, type YAMLMap } from "yaml";
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
 */
export function unmeshedPorts(
  owner: UnmeshedPortOwner,
  spec: YAMLMap,
  specPath: string,
): UnmeshedPort[] {
  const { location, kind, namespace, name } = owner;
  const out: UnmeshedPort[] = [];
  for (const key of ["initContainers", "containers"]) {
    const seq = spec.get(key, true);
    if (!isSeq(seq)) continue;
    seq.items.forEach((c, i) => {
      if (!isMap(c)) return;
      const container = String(c.get("name") ?? "");
      if (container === MESH_SIDECAR_NAME || container === INITIALIZER_NAME) return;
      const list = c.get("ports", true);
      if (!isSeq(list)) return;
      list.items.forEach((p, k) => {
        if (!isMap(p)) return;
        const protocol = p.get("protocol");
        if (protocol !== "UDP" && protocol !== "SCTP") return;
        out.push({
          location,
          kind,
          namespace,
          name,
          container,
          field: `${specPath}.${key}[${i}].ports[${k}]`,
          port: Number(p.get("containerPort")),
          protocol,
        });
      });
    });
  }
  return out;
}

/** The warning line (without a `warning: ` prefix) for `p`. */
export function unmeshedPortWarning(p: UnmeshedPort): string {
  return `${p.location}: ${p.kind} ${p.namespace}/${p.name} container "${p.container}" port ` +
    `${p.port}/${p.protocol} (${p.field}) is not protected by the service mesh: the mesh carries ` +
    `TCP only and transparent mode filters TCP only, so this port stays reachable in plain from ` +
    `outside the pod`;
}

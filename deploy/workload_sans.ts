/**
 * The SANs `contrast generate` gives each workload's manifest entry, derived from what the input
 * says about how the workload is reached: its name, and the cluster DNS names of every Service of
 * the input (same namespace, not `ExternalName`, with a non-empty selector) whose selector matches
 * the pod template's labels: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<cluster domain>`. A pod
 * that a headless Service of its `subdomain` selects also gets its own DNS names
 * (`<hostname>.<subdomain>` in the same four forms): for a StatefulSet whose `serviceName` is such a
 * Service, every pod's (`<set>-<ordinal>`, ordinals from `spec.ordinals.start` for
 * `spec.replicas`, at most {@link MAX_PER_POD_ORDINALS}), for other pods `spec.hostname`. Names the
 * API server refuses (a Service name that is no DNS-1035 label, a namespace or hostname that is no
 * DNS-1123 label) give no SANs, with a warning: their forms could spell another Service's names.
 *
 * The `extra-sans` annotation ({@link parseExtraSans}) appends names of its own (an external DNS
 * name, an IP address the egress dials).
 *
 * No `*` by default: the mesh proxy's egress accepts a server whose certificate carries the remote
 * host as a SAN, so a wildcard made every attested workload acceptable for every name. Only
 * `--san-wildcard` (every entry, {@link WILDCARD_SAN}) or a workload's own `extra-sans: "*"` adds
 * it back, each with a warning; so does a one-label wildcard `*.rest` in `extra-sans`, which also
 * counts as sharing every other workload's name one label below `rest`.
 *
 * The egress entries of the input's pods add no names: every form under which an in-cluster
 * client reaches a Service (the resolver's search path `<ns>.svc.<domain>`, `svc.<domain>`,
 * `<domain>`) is one of the four. Instead, an egress target that no workload's SANs cover is
 * reported (its connections would be refused), and so is a name two workloads share (either's
 * certificate passes the egress check for it) and a target that a workload carries without the
 * client's resolver reaching it by that name (`db` from another namespace). For each egress entry
 * whose name the resolver qualifies, the first qualified name a workload carries is the SAN the
 * client's proxy requires (`egressSans`, the sidecar's `CONTRAST_MESH_EGRESS_SANS`): a short name
 * is every namespace's, the qualified one only the Service's of the client's namespace.
 *
 * @module
 */
import { classifySan } from "../manifest/sans.ts";
import { type EgressSan, isIpv4 } from "../protocol/mesh_config.ts";
import { EXTRA_SANS_ANNOTATION } from "./annotations.ts";

/** The SAN `--san-wildcard` adds to every entry: any name (the mesh's `*` rule). */
export const WILDCARD_SAN = "*";

/** Per-pod DNS names are written for at most this many StatefulSet ordinals. */
export const MAX_PER_POD_ORDINALS = 64;

/** A confidential workload, as the SAN derivation reads it (plain values, aliases resolved). */
export interface SanWorkload {
  /** `file[doc]`, for messages. */
  readonly location: string;
  readonly kind: string;
  readonly namespace: string;
  /** `metadata.name`, or for a Pod with only `metadata.generateName`, that prefix. */
  readonly name: string;
  /** True when {@link name} is a `generateName` prefix. */
  readonly generateName?: boolean;
  /** The pod template's `metadata` (its `labels` are what Services select). */
  readonly podMetadata: Readonly<Record<string, unknown>>;
  /** The pod template's `spec` (`hostname`, `subdomain`). */
  readonly podSpec: Readonly<Record<string, unknown>>;
  /** The resource's `spec` (a StatefulSet's `serviceName`, `replicas`, `ordinals`). */
  readonly resourceSpec: Readonly<Record<string, unknown>>;
  /** The remote hosts of the pod's mesh egress entries (empty without a sidecar). */
  readonly egressHosts: readonly { readonly entry: string; readonly host: string }[];
  /** The `extra-sans` annotation's SANs, checked by {@link parseExtraSans} (appended as given). */
  readonly extraSans?: readonly string[];
}

/** A Service of the input, as the SAN derivation reads it. */
export interface SanService {
  readonly namespace: string;
  readonly name: string;
  /** The resource's `spec` (`selector`, `type`, `clusterIP`). */
  readonly spec: Readonly<Record<string, unknown>>;
}

/** What {@link deriveSans} found. */
interface DerivedSans {
  /** Each workload's SANs, in the order of the workloads given. */
  readonly sans: readonly (readonly string[])[];
  /**
   * Each workload's egress entries whose server must carry another SAN than the remote host
   * (`CONTRAST_MESH_EGRESS_SANS`), in the order of the workloads given; see {@link egressSanFor}.
   */
  readonly egressSans: readonly (readonly EgressSan[])[];
  /** Warning lines (without `warning: `), in a fixed order. */
  readonly warnings: readonly string[];
}

/** A Service that selects pods, with its selector's pairs read once. */
interface SelectingService {
  readonly service: SanService;
  readonly pairs: readonly (readonly [string, string])[];
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/**
 * The label selector of a Service: its `spec.selector` when it is a non-empty map of strings.
 * An omitted or empty selector means the Service's endpoints are managed by someone else (the
 * endpoints controller skips it), so it names no workload of the input; `ExternalName` Services
 * are a DNS alias for another name and name none either.
 */
function serviceSelector(service: SanService): [string, string][] | undefined {
  if (service.spec.type === "ExternalName") return undefined;
  const entries = Object.entries(record(service.spec.selector));
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== "string")) return undefined;
  return entries as [string, string][];
}

/** A DNS-1035 label: what the API server takes as a Service's name. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS-1123 label: a namespace, a pod's `hostname` and `subdomain`. */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Services that select pods, by namespace (in input order). A Service whose name is no
 * DNS-1035 label or whose namespace is no DNS-1123 label names nobody (with a warning): the API
 * server refuses it, and its names would not be one Service's (`web.shop` in `default` would give
 * `web.shop`, Service `web` of namespace `shop`).
 */
function selectingServicesByNamespace(
  services: readonly SanService[],
  warnings: string[],
): Map<string, SelectingService[]> {
  const byNamespace = new Map<string, SelectingService[]>();
  for (const service of services) {
    const pairs = serviceSelector(service);
    if (pairs === undefined) continue;
    if (!SERVICE_NAME.test(service.name) || !DNS_1123_LABEL.test(service.namespace)) {
      warnings.push(
        `Service ${JSON.stringify(`${service.namespace}/${service.name}`)}: ${
          SERVICE_NAME.test(service.name)
            ? "its namespace is no DNS-1123 label"
            : "its name is no DNS-1035 label"
        } (the API server refuses it), so it gives no workload SANs`,
      );
      continue;
    }
    const list = byNamespace.get(service.namespace) ?? [];
    list.push({ service, pairs });
    byNamespace.set(service.namespace, list);
  }
  return byNamespace;
}

/** `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<domain>`. */
function serviceForms(name: string, namespace: string, clusterDomain: string): string[] {
  return [
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.${clusterDomain}`,
  ];
}

function isHeadless(service: SanService): boolean {
  return service.spec.clusterIP === "None";
}

function nonNegativeInteger(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : fallback;
}

/** The pods' hostnames under a headless Service `subdomain` (empty when the pod has none). */
function podHostnames(
  w: SanWorkload,
  warnings: string[],
): { hostnames: string[]; subdomain?: string } {
  if (w.kind === "StatefulSet") {
    const serviceName = w.resourceSpec.serviceName;
    if (typeof serviceName !== "string" || serviceName === "") return { hostnames: [] };
    const replicas = nonNegativeInteger(w.resourceSpec.replicas, 1);
    const start = nonNegativeInteger(record(w.resourceSpec.ordinals).start, 0);
    const count = Math.min(replicas, MAX_PER_POD_ORDINALS);
    if (replicas > count) {
      warnings.push(
        `${w.location}: StatefulSet ${w.namespace}/${w.name} has ${replicas} replicas; its ` +
          `manifest entry names the pods ${w.name}-${start} to ${w.name}-${start + count - 1} ` +
          `under ${serviceName} only (at most ${MAX_PER_POD_ORDINALS}): a mesh client that ` +
          "dials a later pod by its own name is refused",
      );
    }
    const hostnames = Array.from({ length: count }, (_, i) => `${w.name}-${start + i}`);
    return { hostnames, subdomain: serviceName };
  }
  const { hostname, subdomain } = w.podSpec;
  if (typeof hostname !== "string" || hostname === "") return { hostnames: [] };
  if (typeof subdomain !== "string" || subdomain === "") return { hostnames: [] };
  return { hostnames: [hostname], subdomain };
}

/**
 * The workload's own name as a DNS SAN: a `generateName` prefix without its trailing `-` or `.`
 * (`web-` names pods `web-x7k2q`: the manifest refuses a name ending in `-`); undefined when that
 * is no DNS name the manifest takes (an all-numeric last label such as `web.1`, an IP address).
 */
function nameSan(w: SanWorkload): string | undefined {
  const name = w.generateName ? w.name.replace(/[-.]+$/, "") : w.name;
  const classified = classifySan(name);
  return "kind" in classified && classified.kind === "dns" && name !== WILDCARD_SAN
    ? name
    : undefined;
}

/** The SANs of one workload (its name first, then by Service in input order), no duplicates. */
function sansOf(
  w: SanWorkload,
  services: readonly SelectingService[],
  clusterDomain: string,
  warnings: string[],
): string[] {
  const labels = record(w.podMetadata.labels);
  const sans = new Set<string>();
  const own = nameSan(w);
  if (own !== undefined) sans.add(own);
  else {
    warnings.push(
      `${w.location}: ${w.kind} ${w.namespace}/${w.name}: its ${
        w.generateName ? "generateName" : "name"
      } ${JSON.stringify(w.name)} is no DNS name a certificate can carry (the manifest refuses ` +
        "it), so its manifest entry leaves it out",
    );
  }
  // Service selectors are equality: every pair must be among the pod template's labels.
  const selecting = services
    .filter(({ pairs }) => pairs.every(([k, v]) => labels[k] === v))
    .map(({ service }) => service);
  for (const s of selecting) {
    for (const n of serviceForms(s.name, s.namespace, clusterDomain)) sans.add(n);
  }
  const { hostnames, subdomain } = podHostnames(w, warnings);
  const governing = selecting.find((s) => s.name === subdomain && isHeadless(s));
  if (governing) {
    for (const h of hostnames) {
      // A hostname with a dot would give another Service's names (`web.shop` under `svc` gives
      // `web.shop.svc`, Service `web` of namespace `shop`); the API server refuses it.
      if (!DNS_1123_LABEL.test(h)) {
        warnings.push(
          `${w.location}: ${w.kind} ${w.namespace}/${w.name}: the pod hostname ${
            JSON.stringify(h)
          } is no DNS-1123 label (the API server refuses it), so its manifest entry leaves its ` +
            `names under ${governing.name} out`,
        );
        continue;
      }
      for (const n of serviceForms(`${h}.${governing.name}`, w.namespace, clusterDomain)) {
        sans.add(n);
      }
    }
  }
  for (const extra of w.extraSans ?? []) {
    sans.add(extra);
    if (extra === WILDCARD_SAN) {
      warnings.push(
        `${w.location}: ${w.kind} ${w.namespace}/${w.name}: its ${EXTRA_SANS_ANNOTATION} ` +
          'annotation gives it the SAN "*": its certificate passes every mesh egress check, so ' +
          "if it is compromised and the host points another service's DNS name at it, it " +
          "receives the traffic meant for that service",
      );
    } else if (extra.startsWith("*.")) {
      warnings.push(
        `${w.location}: ${w.kind} ${w.namespace}/${w.name}: its ${EXTRA_SANS_ANNOTATION} ` +
          `annotation gives it the wildcard SAN ${JSON.stringify(extra)}: its certificate ` +
          `passes the mesh egress check for every name one label below ${
            JSON.stringify(extra.slice(2))
          }, so if it is ` +
          "compromised and the host points such a name at it, it receives the traffic meant " +
          "for that name",
      );
    }
  }
  return [...sans];
}

/**
 * Whether a host is covered by any of the SANs as the egress compares them (`meshproxy/san.ts`):
 * IP addresses exactly; DNS names case-insensitively, `*` any name, `*.rest` one leftmost label.
 */
function coverage(all: readonly (readonly string[])[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes = new Set<string>();
  let any = false;
  for (const sans of all) {
    for (const san of sans) {
      const s = san.toLowerCase();
      if (s === WILDCARD_SAN) any = true;
      else if (s.startsWith("*.")) suffixes.add(s.slice(2));
      else exact.add(s);
    }
  }
  return (host) => {
    const h = host.toLowerCase().replace(/\.$/, "");
    const dot = h.indexOf(".");
    return any || exact.has(h) || (dot > 0 && suffixes.has(h.slice(dot + 1)));
  };
}

/**
 * The names a pod's resolver in namespace `namespace` asks for `host` (lowercase, no trailing dot)
 * in turn: `host.<ns>.svc.<domain>`, `host.svc.<domain>`, `host.<domain>`, and `host` itself when
 * it already ends in the cluster domain; an absolute name (trailing dot) only as it is.
 */
function searchedNames(host: string, namespace: string, clusterDomain: string): string[] {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (host.endsWith(".")) return [h];
  const domain = clusterDomain.toLowerCase();
  const searched = [`${h}.${namespace}.svc.${domain}`, `${h}.svc.${domain}`, `${h}.${domain}`];
  if (h.endsWith(`.${domain}`)) searched.push(h);
  return searched;
}

/**
 * Whether holder `o` is reached by the literal `host` from `client`'s pod without the cluster's
 * search path: it was given the name (or a one-label wildcard for it) by `extra-sans` (an
 * external name the host's DNS answers), or the name is its own and it is in the client's
 * namespace.
 */
function reachedLiterally(o: SanWorkload, client: SanWorkload, host: string): boolean {
  const h = host.toLowerCase();
  const extras = (o.extraSans ?? []).map((s) => s.toLowerCase());
  const wildcard = h.includes(".") ? `*.${h.slice(h.indexOf(".") + 1)}` : undefined;
  return extras.includes(h) || (wildcard !== undefined && extras.includes(wildcard)) ||
    (o.namespace === client.namespace && nameSan(o)?.toLowerCase() === h);
}

/**
 * The SAN the mesh proxy of `client` must find in the server's certificate for egress `host`
 * when that is not the literal host; undefined when the literal host is what to compare (an IP
 * address, an absolute name, a name the resolver reaches as it is, or one nobody carries). The
 * cluster's short names are every namespace's (`db` is a SAN of Service `db` in each namespace),
 * so comparing the literal name accepted a same-named Service of another namespace wherever the
 * host pointed the name. Instead: the first name the client's resolver asks for that a workload
 * of the input carries (`db` from namespace `web`: `db.web.svc.cluster.local`, which only
 * Service `db` of `web` carries). When none is carried, and the literal host is carried only by
 * workloads the resolver does not reach by it (another namespace's short name), the first name
 * the resolver asks for: nobody answers to it, so the proxy refuses, as the cluster's DNS would
 * not have found them either.
 */
function egressSanFor(
  client: SanWorkload,
  host: string,
  owners: ReadonlyMap<string, readonly number[]>,
  workloads: readonly SanWorkload[],
  clusterDomain: string,
): string | undefined {
  if (isIpv4(host) || host.endsWith(".")) return undefined;
  const h = host.toLowerCase();
  const searched = searchedNames(h, client.namespace, clusterDomain);
  const first = searched.find((name) => owners.has(name));
  if (first !== undefined) return first === h ? undefined : first;
  const holders = owners.get(h) ?? [];
  if (holders.length === 0) return undefined;
  return holders.some((i) => reachedLiterally(workloads[i]!, client, h)) ? undefined : searched[0];
}

/**
 * Whether the workloads `holders` share `san` only as a name the cluster's resolver qualifies by
 * each one's own namespace (`db` of Services `db` in two namespaces): each in a namespace of its
 * own, each carrying the qualified form `<san>.<its namespace>.svc.<domain>` and not the name by
 * `extra-sans`. A generated mesh egress then compares the qualified name ({@link egressSanFor}),
 * so none of them is accepted for another's; sharing such a name is no warning.
 */
function qualifiedApart(
  san: string,
  holders: readonly number[],
  workloads: readonly SanWorkload[],
  derived: readonly (readonly string[])[],
  clusterDomain: string,
): boolean {
  const namespaces = new Set(holders.map((i) => workloads[i]!.namespace));
  if (namespaces.size !== holders.length) return false;
  return holders.every((i) => {
    const w = workloads[i]!;
    const qualified = `${san}.${w.namespace}.svc.${clusterDomain.toLowerCase()}`;
    return derived[i]!.some((s) => s.toLowerCase() === qualified) &&
      !(w.extraSans ?? []).some((s) => s.toLowerCase() === san);
  });
}

/**
 * The warning for an egress target whose qualified name ({@link egressSanFor}) nobody carries,
 * though `holders` carry the literal name: the client's resolver does not reach them by it (a
 * short name of another namespace), so its mesh proxy refuses them.
 */
function unansweredQualified(
  client: SanWorkload,
  host: string,
  expected: string,
  holders: readonly number[],
  workloads: readonly SanWorkload[],
): string {
  const named = [...new Set(holders)].map((i) => workloads[i]!)
    .map((o) => `${o.kind} ${o.namespace}/${o.name}`);
  return `${client.location}: ${client.kind} ${client.namespace}/${client.name}: its egress to ` +
    `${JSON.stringify(host)} expects the SAN ${expected} (the first name the resolver of ` +
    `namespace ${client.namespace} asks for), which no workload of the input carries, so its ` +
    `mesh proxy refuses every server there; ${named.join(" and ")} carr${
      named.length === 1 ? "ies" : "y"
    } the SAN ${JSON.stringify(host.toLowerCase())} but the resolver does not reach ${
      named.length === 1 ? "it" : "them"
    } by that name: dial a name qualified by the server's namespace (svc.namespace)`;
}

/**
 * The warning for an egress target that workloads carry as a SAN without the client's resolver
 * reaching them by it. From namespace `ns` a pod's resolver tries `host.ns.svc.<domain>`,
 * `host.svc.<domain>`, `host.<domain>` (then `host` itself), so `db` means Service `db` of the
 * client's own namespace and `db-0.db` pod `db-0` under Service `db` of it; the egress, though,
 * compares the literal name with the SANs, and the short forms are every namespace's. A holder
 * is reached when one of those names is among its SANs, when it was given the name (or a wildcard
 * for it) by `extra-sans`, or when the name is its own and it is in the client's namespace.
 * Undefined when every holder is reached.
 */
function unreachedHolders(
  client: SanWorkload,
  host: string,
  holders: readonly number[],
  workloads: readonly SanWorkload[],
  derived: readonly (readonly string[])[],
  clusterDomain: string,
): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, "");
  const searched = searchedNames(host, client.namespace, clusterDomain);
  const unreached = holders.filter((i) => {
    const o = workloads[i]!;
    const sans = new Set(derived[i]!.map((s) => s.toLowerCase()));
    if (searched.some((name) => sans.has(name))) return false;
    return !reachedLiterally(o, client, h);
  }).map((i) => workloads[i]!);
  if (unreached.length === 0) return undefined;
  return `${client.location}: ${client.kind} ${client.namespace}/${client.name}: its egress to ` +
    `${JSON.stringify(host)} reaches ${searched[0]} from namespace ${client.namespace}, but ${
      unreached.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(" and ")
    }, not reached by that name, carr${unreached.length === 1 ? "ies" : "y"} the SAN ${
      JSON.stringify(h)
    } (a short name is every namespace's): the egress accepts ${
      unreached.length === 1 ? "its certificate" : "their certificates"
    } wherever the host points the name; dial a name qualified by the server's namespace ` +
    "(svc.namespace)";
}

/**
 * Parses the `extra-sans` annotation: comma-separated SANs, each a DNS name (`*` or `*.rest`
 * allowed), an IP address or a URI, as the manifest takes them (`manifest/sans.ts`).
 *
 * @returns the SANs in order, or the reason the value is refused
 *
 * @example Two names and an address
 * ```ts
 * import { parseExtraSans } from "./workload_sans.ts";
 *
 * parseExtraSans("db.example.com, 10.0.0.5"); // { sans: ["db.example.com", "10.0.0.5"] }
 * parseExtraSans("db..example"); // { error: "entry 0: not an IP address, URI or DNS name: …" }
 * ```
 */
export function parseExtraSans(
  value: unknown,
): { readonly sans: readonly string[] } | { readonly error: string } {
  if (typeof value !== "string" || value.trim() === "") {
    return { error: "must be a non-empty string of comma-separated SANs" };
  }
  const sans: string[] = [];
  const entries = value.split(",").map((e) => e.trim());
  for (const [i, entry] of entries.entries()) {
    if (entry === "") return { error: `entry ${i} is empty` };
    const classified = classifySan(entry);
    if ("error" in classified) return { error: `entry ${i}: ${classified.error}` };
    if (!sans.includes(entry)) sans.push(entry);
  }
  return { sans };
}

/**
 * Derives every workload's SANs (see the module documentation) and the warnings about egress
 * targets no workload answers to and names that several workloads share.
 *
 * @param wildcard `--san-wildcard`: append `*` to every workload's SANs (the old default)
 *
 * @example A Deployment behind a Service
 * ```ts
 * import { deriveSans } from "./workload_sans.ts";
 *
 * const { sans } = deriveSans(
 *   [{
 *     location: "app.yml[0]",
 *     kind: "Deployment",
 *     namespace: "shop",
 *     name: "web",
 *     podMetadata: { labels: { app: "web" } },
 *     podSpec: {},
 *     resourceSpec: {},
 *     egressHosts: [],
 *   }],
 *   [{ namespace: "shop", name: "web-svc", spec: { selector: { app: "web" } } }],
 *   "cluster.local",
 * );
 * // sans[0]: web, web-svc, web-svc.shop, web-svc.shop.svc, web-svc.shop.svc.cluster.local
 * ```
 */
export function deriveSans(
  workloads: readonly SanWorkload[],
  services: readonly SanService[],
  clusterDomain: string,
  wildcard = false,
): DerivedSans {
  const warnings: string[] = [];
  const byNamespace = selectingServicesByNamespace(services, warnings);
  const derived = workloads.map((w) =>
    sansOf(w, byNamespace.get(w.namespace) ?? [], clusterDomain, warnings)
  );
  // Names shared by the same workloads, one warning per group of workloads.
  // A one-label wildcard `*.rest` shares each other workload's name one label below `rest` (the
  // egress accepts either certificate for it); `*` alone has its own warning.
  const owners = new Map<string, number[]>();
  const wildcardOwners = new Map<string, number[]>();
  derived.forEach((sans, i) => {
    for (const san of sans) {
      const key = san.toLowerCase();
      const list = owners.get(key);
      if (list === undefined) owners.set(key, [i]);
      else list.push(i);
      if (key.startsWith("*.")) {
        const suffix = key.slice(2);
        wildcardOwners.set(suffix, [...wildcardOwners.get(suffix) ?? [], i]);
      }
    }
  });
  if (wildcardOwners.size > 0) {
    for (const [key, indexes] of owners) {
      const dot = key.indexOf(".");
      const by = dot > 0 && !key.startsWith("*")
        ? wildcardOwners.get(key.slice(dot + 1))
        : undefined;
      if (by === undefined) continue;
      const all = new Set([...indexes, ...by]);
      owners.set(key, [...all].sort((a, b) => a - b));
    }
  }
  const shared = new Map<string, string[]>();
  for (const [san, indexes] of owners) {
    if (indexes.length < 2) continue;
    if (qualifiedApart(san, indexes, workloads, derived, clusterDomain)) continue;
    const group = indexes.join(",");
    shared.set(group, [...shared.get(group) ?? [], san]);
  }
  for (const [group, names] of shared) {
    const ws = group.split(",").map((i) => workloads[Number(i)]!);
    warnings.push(
      `${ws.map((w) => `${w.kind} ${w.namespace}/${w.name} (${w.location})`).join(" and ")} ` +
        `share the SAN${names.length === 1 ? "" : "s"} ${names.join(", ")}: a mesh egress to ` +
        `${names.length === 1 ? "it" : "one of them"} accepts each of their certificates`,
    );
  }
  const egressSans = workloads.map((w) =>
    w.egressHosts.flatMap(({ entry, host }) => {
      const san = egressSanFor(w, host, owners, workloads, clusterDomain);
      return san === undefined ? [] : [{ entry, san }];
    })
  );
  const covered = coverage(derived);
  workloads.forEach((w, index) => {
    for (const { entry, host } of w.egressHosts) {
      if (wildcard) continue;
      if (covered(host)) {
        const key = host.toLowerCase().replace(/\.$/, "");
        const holders = [
          ...owners.get(key) ?? [],
          ...(key.includes(".") ? wildcardOwners.get(key.slice(key.indexOf(".") + 1)) ?? [] : []),
        ];
        const expected = egressSans[index]!.find((e) => e.entry === entry)?.san;
        if (expected !== undefined) {
          // The proxy compares the qualified name: holders the resolver does not reach by `host`
          // are refused; warned about only when nobody answers to the qualified name.
          if (!owners.has(expected)) {
            warnings.push(unansweredQualified(w, host, expected, holders, workloads));
          }
          continue;
        }
        const unreached = unreachedHolders(
          w,
          host,
          [...new Set(holders)],
          workloads,
          derived,
          clusterDomain,
        );
        if (unreached !== undefined) warnings.push(unreached);
        continue;
      }
      warnings.push(
        `${w.location}: ${w.kind} ${w.namespace}/${w.name}: egress entry ${
          JSON.stringify(entry)
        } dials ${JSON.stringify(host)}, which no confidential workload of the input answers ` +
          "to (no workload of that name, no Service in its namespace selecting one): its mesh " +
          "proxy will refuse every server there unless the manifest gives that SAN to the server",
      );
    }
  });
  const sans = wildcard ? derived.map((s) => [...s, WILDCARD_SAN]) : derived;
  return { sans, egressSans, warnings };
}

/**
 * Warnings for the entries of an existing manifest whose SANs generate replaces: an entry of the
 * same policy digest with other SANs (edited by hand, or written by an earlier default such as
 * `[name, "*"]`). generate writes every entry anew, so such edits would be lost without a word.
 *
 * @param existing the existing manifest's text (undefined: none; malformed: no warnings, the
 *   caller reports it)
 * @param written the policies generate writes: digest, workload and SANs
 *
 * @example An entry edited by hand
 * ```ts
 * import { replacedSansWarnings } from "./workload_sans.ts";
 *
 * const existing = JSON.stringify({ Policies: { ["ab".repeat(32)]: { SANs: ["web", "web.example.com"] } } });
 * replacedSansWarnings(existing, "manifest.json", [
 *   { digest: "ab".repeat(32), workload: "Deployment shop/web", sans: ["web"] },
 * ]); // one warning: manifest.json's SANs for Deployment shop/web were […], now […]
 * ```
 */
export function replacedSansWarnings(
  existing: string | undefined,
  manifestPath: string,
  written: readonly {
    readonly digest: string;
    readonly workload: string;
    readonly sans: readonly string[];
  }[],
): string[] {
  if (existing === undefined) return [];
  let policies: Readonly<Record<string, unknown>>;
  try {
    policies = record(record(JSON.parse(existing)).Policies);
  } catch {
    return [];
  }
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const { digest, workload, sans } of written) {
    if (seen.has(digest)) continue; // one entry for workloads of one policy
    seen.add(digest);
    const before = record(policies[digest]).SANs;
    if (!Array.isArray(before) || JSON.stringify(before) === JSON.stringify(sans)) continue;
    warnings.push(
      `${manifestPath}: the SANs of ${workload} (policy ${digest.slice(0, 12)}…) were ` +
        `${JSON.stringify(before)} and are now ${JSON.stringify(sans)}: generate writes every ` +
        `entry anew; give a workload more names with the ${EXTRA_SANS_ANNOTATION} annotation ` +
        "(or --san-wildcard for the old default)",
    );
  }
  return warnings;
}

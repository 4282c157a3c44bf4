/**
 * The hostname a pod's containers get, as the kubelet chooses it (v1.37 `GeneratePodHostNameAndDomain`
 * and `GetNodenameForKernel`): `spec.hostnameOverride`; else `spec.hostname` or the pod's name, cut
 * to 63 characters (trailing `-` and `.` trimmed), and with `setHostnameAsFQDN: true` and a
 * `subdomain`, the pod's FQDN `<hostname>.<subdomain>.<namespace>.svc.<cluster domain>` (at most 64
 * characters, else the kubelet refuses to start the pod). The cluster domain is the kubelet's
 * setting (`--cluster-domain`, `clusterDomain` in its configuration; `cluster.local` by default),
 * so it is generate's `--cluster-domain`. The kubelet puts the hostname into the sandbox
 * configuration; containerd sets it as the OCI hostname of the sandbox and every container and as
 * `HOSTNAME` in their environment, and the Kata runtime passes it in `CreateSandbox`: what the
 * policy pins.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { childPath, type IssueList } from "../util/json/mod.ts";
import { escapeRegex } from "./regex.ts";

/** The kubelet's default cluster domain. */
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/** The kubelet's cap on a hostname (the kernel's nodename holds 64 bytes with its NUL). */
const HOSTNAME_MAX = 63;
/** The kubelet's cap on an FQDN hostname (`GetNodenameForKernel`). */
const FQDN_MAX = 64;

/**
 * Parses a cluster domain: a DNS-1123 subdomain (lower-case labels of alphanumerics and `-`,
 * joined by `.`, at most 253 characters), as the kubelet's `--cluster-domain` takes it.
 *
 * @throws {ParseError} naming `field`
 *
 * @example The kubelet's default, and a refused value
 * ```ts
 * import { parseClusterDomain } from "./hostname.ts";
 *
 * parseClusterDomain("cluster.local", "--cluster-domain"); // "cluster.local"
 * // parseClusterDomain("Cluster.Local.", "--cluster-domain") throws a ParseError
 * ```
 */
export function parseClusterDomain(value: string, field: string): string {
  const label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
  if (value.length > 253 || !new RegExp(`^${label}(\\.${label})*$`).test(value)) {
    throw new ParseError(
      field,
      `must be the kubelet's cluster domain, a DNS-1123 subdomain such as "${DEFAULT_CLUSTER_DOMAIN}" ` +
        `(lower case, no trailing dot), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The kubelet's cut of a hostname to 63 characters, without a trailing `-` or `.`. */
function truncated(hostname: string): string {
  if (hostname.length <= HOSTNAME_MAX) return hostname;
  return hostname.slice(0, HOSTNAME_MAX).replace(/[-.]+$/, "");
}

/** What {@link podHostnamePattern} reads. */
interface HostnameInput {
  /** The pod spec. */
  readonly spec: Readonly<Record<string, unknown>>;
  /** Where the spec is, for messages (`app.yml[0]: spec`). */
  readonly specPath: string;
  /** The pod's name: exact (a Pod) or the unanchored pattern of its generated names. */
  readonly podName: { readonly literal: string } | { readonly pattern: string };
  readonly namespace: string;
  readonly clusterDomain: string;
}

/**
 * The unanchored pattern of the hostname the kubelet gives the pod; an FQDN longer than the
 * kubelet allows is an issue at `setHostnameAsFQDN` (the kubelet would never start the pod).
 *
 * @example A pod's FQDN
 * ```ts
 * import { IssueList } from "../util/json/mod.ts";
 * import { podHostnamePattern } from "./hostname.ts";
 *
 * podHostnamePattern({
 *   spec: { hostname: "db-0", subdomain: "db", setHostnameAsFQDN: true },
 *   specPath: "app.yml[0]: spec",
 *   podName: { literal: "db" },
 *   namespace: "shop",
 *   clusterDomain: "cluster.local",
 * }, new IssueList()); // "db\\-0\\.db\\.shop\\.svc\\.cluster\\.local"
 * ```
 */
export function podHostnamePattern(input: HostnameInput, issues: IssueList): string {
  const { spec } = input;
  // Validation forbids it with setHostnameAsFQDN: the override is the hostname, no domain.
  if (typeof spec.hostnameOverride === "string" && spec.hostnameOverride !== "") {
    return escapeRegex(truncated(spec.hostnameOverride));
  }
  const base = typeof spec.hostname === "string" && spec.hostname !== ""
    ? { literal: truncated(spec.hostname) }
    : "literal" in input.podName
    ? { literal: truncated(input.podName.literal) }
    : input.podName;
  const subdomain = typeof spec.subdomain === "string" ? spec.subdomain : "";
  if (spec.setHostnameAsFQDN !== true || subdomain === "") {
    return "literal" in base ? escapeRegex(base.literal) : base.pattern;
  }
  const domain = `${subdomain}.${input.namespace}.svc.${input.clusterDomain}`;
  if (!("literal" in base)) return `${base.pattern}\\.${escapeRegex(domain)}`;
  const fqdn = `${base.literal}.${domain}`;
  if (fqdn.length > FQDN_MAX) {
    issues.add(
      childPath(input.specPath, "setHostnameAsFQDN"),
      `the pod's FQDN "${fqdn}" has ${fqdn.length} characters; the kubelet starts no pod whose ` +
        `FQDN is longer than ${FQDN_MAX} (the kernel's hostname limit): shorten hostname, ` +
        "subdomain or namespace",
    );
  }
  return escapeRegex(fqdn);
}

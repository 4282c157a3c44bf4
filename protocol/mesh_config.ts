/**
 * The service-mesh configuration contract between `contrast generate` (which reads it from pod
 * annotations and passes it to the sidecar's environment) and the mesh proxy (which enforces it).
 * Same syntax and meaning as Edgeless Contrast's annotations:
 *
 * - **ingress** (`contrast.edgeless.systems/servicemesh-ingress`, env `EDG_INGRESS_PROXY_CONFIG`):
 *   entries `<name>#<port>#<disableTLS>` joined by `##`. By default every port of the pod requires
 *   mutual TLS with a certificate chaining to the mesh CA; an entry with `true` passes its port
 *   through in plain, with `false` terminates TLS without requiring a client certificate. The
 *   value `DISABLED` turns ingress off.
 * - **egress** (`contrast.edgeless.systems/servicemesh-egress`, env `EDG_EGRESS_PROXY_CONFIG`):
 *   entries `<name>#<listenIP>:<port>#<remoteHost>:<port>` joined by `##`; the listen IP lies in
 *   127.0.0.0/8. Each opens a local listener that forwards to the remote over mutual TLS.
 * - **admin port** (`contrast.edgeless.systems/servicemesh-admin-interface-port`, env
 *   `EDG_ADMIN_PORT`): the port of the proxy's admin interface (readiness and metrics).
 *
 * Pure parsing: every problem is a {@link MeshConfigError} naming the annotation (or variable),
 * the entry and the reason.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";

/** Environment variable carrying the ingress configuration. */
export const INGRESS_ENV = "EDG_INGRESS_PROXY_CONFIG";
/** Environment variable carrying the egress configuration. */
export const EGRESS_ENV = "EDG_EGRESS_PROXY_CONFIG";
/**
 * Environment variable with the SAN each egress entry's server must carry where that is not the
 * entry's remote host (entries `<name>#<san>` joined by `##`), written by `contrast generate`: a
 * cluster name qualified the way the client's resolver qualifies it first (`db` from namespace
 * `web`: `db.web.svc.cluster.local`), so that a same-named Service of another namespace, whose
 * certificate also carries the short name, is refused; see {@link parseEgressSans}.
 */
export const EGRESS_SANS_ENV = "CONTRAST_MESH_EGRESS_SANS";
/** Environment variable carrying the admin interface port. */
export const ADMIN_PORT_ENV = "EDG_ADMIN_PORT";
/**
 * Environment variable with the pod's TCP container ports (comma-separated), written by
 * `contrast generate`: the ports the proxy protects with mutual TLS unless an ingress entry says
 * otherwise.
 */
export const POD_PORTS_ENV = "CONTRAST_MESH_POD_PORTS";
/**
 * Environment variable carrying the limits annotation
 * (`contrast.edgeless.systems/servicemesh-limits`), see {@link parseMeshLimits}.
 */
export const LIMITS_ENV = "CONTRAST_MESH_LIMITS";
/**
 * Environment variable with the sidecar's memory limit in bytes, which `contrast generate` gives
 * the injected proxy through the downward API (`resourceFieldRef` `limits.memory` of the sidecar
 * container: the kubelet writes the container's limit, or the node's allocatable memory when it
 * has none). The proxy derives its default connection cap from it (`meshproxy/memory_limit.ts`).
 */
export const MEMORY_LIMIT_ENV = "CONTRAST_MESH_MEMORY_LIMIT";
/** The ingress value that turns ingress off. */
export const INGRESS_DISABLED = "DISABLED";
/** First port of the range the proxy's inbound listeners use (one per protected port). */
export const INBOUND_PORT_BASE = 15100;
/** Size of the reserved inbound range; also the most ports one pod can protect. */
export const INBOUND_PORT_COUNT = 100;

/** A malformed mesh annotation or variable; `field` names it and the entry. */
export class MeshConfigError extends ParseError {}

/** One ingress exception. */
export interface IngressException {
  /** Entry name. */
  readonly name: string;
  /** The pod port it applies to. */
  readonly port: number;
  /** `true`: plain pass-through; `false`: TLS without a client certificate. */
  readonly disableTls: boolean;
}

/** The ingress configuration. */
export type IngressConfig =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly exceptions: readonly IngressException[] };

/** One egress listener. */
export interface EgressEntry {
  /** Entry name. */
  readonly name: string;
  /** Local listen address (IPv4 in 127.0.0.0/8). */
  readonly listenHost: string;
  /** Local listen port. */
  readonly listenPort: number;
  /**
   * Remote host name or IP; also the SAN the server's certificate must carry unless
   * {@link expectedSan} names another.
   */
  readonly remoteHost: string;
  /** Remote port. */
  readonly remotePort: number;
  /**
   * The SAN the server's certificate must carry when it is not {@link remoteHost}: the name the
   * client's resolver asks for first (`EGRESS_SANS_ENV`).
   */
  readonly expectedSan?: string;
}

/** One entry of the egress SANs ({@link EGRESS_SANS_ENV}). */
export interface EgressSan {
  /** The egress entry's name. */
  readonly entry: string;
  /** The SAN its server must carry (a DNS name, lowercase). */
  readonly san: string;
}

/** How one pod port is served by the ingress. */
export type PortMode = "mtls" | "tls" | "plain";

/** One pod port the proxy terminates TLS for. */
export interface InboundPort {
  /** The application's port (what clients connect to). */
  readonly port: number;
  /** `mtls`: client certificate required; `tls`: not requested. */
  readonly mode: "mtls" | "tls";
  /** Name of the ingress entry, or `port-<n>` for a default port. */
  readonly name: string;
  /** The proxy's listener port for it (the iptables rules redirect `port` there). */
  readonly listenerPort: number;
}

/** The complete, cross-checked mesh configuration of one pod. */
export interface MeshConfig {
  /** Ingress on or off, with its exceptions. */
  readonly ingress: IngressConfig;
  /** Egress listeners. */
  readonly egress: readonly EgressEntry[];
  /** Admin interface port, when configured. */
  readonly adminPort?: number;
  /** Ports the ingress terminates TLS for, sorted by port. */
  readonly inbound: readonly InboundPort[];
  /** Ports passed through in plain (ingress entries with `true`). */
  readonly plainPorts: readonly number[];
}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

function entryField(source: string, index: number, entry: string): string {
  return `${source} entry ${index + 1} "${entry}"`;
}

/** Parses a decimal port 1–65535. */
export function parsePort(text: string, field: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || (text.length > 1 && text.startsWith("0"))) {
    throw new MeshConfigError(field, `port "${text}" is not a decimal number 1–65535`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw new MeshConfigError(field, `port ${port} is outside 1–65535`);
  }
  return port;
}

function parseName(text: string, field: string): string {
  if (!NAME.test(text)) {
    throw new MeshConfigError(
      field,
      `name "${text}" must be 1–63 letters, digits, '.', '_' or '-' (alphanumeric at both ends)`,
    );
  }
  return text;
}

function splitEntries(value: string, source: string): string[] {
  const entries = value.split("##");
  entries.forEach((entry, i) => {
    if (entry.trim() === "") {
      throw new MeshConfigError(
        entryField(source, i, entry),
        "empty entry (entries are joined by '##', with none before the first or after the last)",
      );
    }
  });
  return entries;
}

/** Whether `host` is an IPv4 address. */
export function isIpv4(host: string): boolean {
  return IPV4.test(host);
}

/**
 * Whether `host` is a DNS name (labels of letters, digits and '-', at most 253 characters, the
 * last label not all digits). An all-numeric last label is an address in another spelling
 * (`010.0.0.1`, `10.1`, `1.2.3.4.`), which the resolver may read as some IPv4 address, but the
 * egress would compare as a DNS name (matched by no SAN the manifest takes but `*`).
 */
export function isDnsName(host: string): boolean {
  const trimmed = host.endsWith(".") ? host.slice(0, -1) : host;
  const labels = trimmed.split(".");
  return trimmed.length > 0 && trimmed.length <= 253 &&
    labels.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/**
 * Parses the ingress configuration. `undefined` or `""` means the default (every port mutual
 * TLS, no exceptions); `DISABLED` turns ingress off.
 *
 * @param source the annotation or variable name, used in errors
 * @throws {MeshConfigError} naming the entry
 */
export function parseIngressConfig(value: string | undefined, source: string): IngressConfig {
  if (value === undefined || value.trim() === "") return { enabled: true, exceptions: [] };
  if (value === INGRESS_DISABLED) return { enabled: false };
  const exceptions: IngressException[] = [];
  splitEntries(value, source).forEach((entry, i) => {
    const field = entryField(source, i, entry);
    const parts = entry.split("#");
    if (parts.length !== 3) {
      throw new MeshConfigError(
        field,
        `expected <name>#<port>#<disableTLS> (3 fields separated by '#'), got ${parts.length}` +
          (value.toUpperCase() === INGRESS_DISABLED
            ? ` (did you mean "${INGRESS_DISABLED}"?)`
            : ""),
      );
    }
    const [nameText, portText, tlsText] = parts as [string, string, string];
    const name = parseName(nameText, field);
    const port = parsePort(portText, field);
    if (tlsText !== "true" && tlsText !== "false") {
      throw new MeshConfigError(field, `disableTLS "${tlsText}" must be "true" or "false"`);
    }
    const clash = exceptions.find((e) => e.name === name || e.port === port);
    if (clash) {
      throw new MeshConfigError(
        field,
        clash.name === name
          ? `name "${name}" is used twice`
          : `port ${port} already has entry "${clash.name}"`,
      );
    }
    exceptions.push({ name, port, disableTls: tlsText === "true" });
  });
  return { enabled: true, exceptions };
}

function parseHostPort(
  text: string,
  field: string,
  what: string,
): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) {
    throw new MeshConfigError(field, `${what} "${text}" must be <host>:<port>`);
  }
  const host = text.slice(0, colon);
  return { host, port: parsePort(text.slice(colon + 1), field) };
}

/**
 * Parses the egress configuration (`undefined` or `""`: no egress listeners).
 *
 * @param source the annotation or variable name, used in errors
 * @throws {MeshConfigError} naming the entry
 */
export function parseEgressConfig(value: string | undefined, source: string): EgressEntry[] {
  if (value === undefined || value.trim() === "") return [];
  const out: EgressEntry[] = [];
  splitEntries(value, source).forEach((entry, i) => {
    const field = entryField(source, i, entry);
    const parts = entry.split("#");
    if (parts.length !== 3) {
      throw new MeshConfigError(
        field,
        `expected <name>#<listenIP>:<port>#<remoteHost>:<port> (3 fields separated by '#'), ` +
          `got ${parts.length}`,
      );
    }
    const [nameText, listenText, remoteText] = parts as [string, string, string];
    const name = parseName(nameText, field);
    const listen = parseHostPort(listenText, field, "listen address");
    if (!isIpv4(listen.host) || !listen.host.startsWith("127.")) {
      throw new MeshConfigError(
        field,
        `listen IP "${listen.host}" must be an IPv4 address in 127.0.0.0/8`,
      );
    }
    const remote = parseHostPort(remoteText, field, "remote address");
    if (!isIpv4(remote.host) && !isDnsName(remote.host)) {
      throw new MeshConfigError(
        field,
        `remote host "${remote.host}" is neither a DNS name nor an IPv4 address`,
      );
    }
    const clash = out.find((e) =>
      e.name === name || (e.listenHost === listen.host && e.listenPort === listen.port)
    );
    if (clash) {
      throw new MeshConfigError(
        field,
        clash.name === name
          ? `name "${name}" is used twice`
          : `listen address ${listen.host}:${listen.port} already has entry "${clash.name}"`,
      );
    }
    out.push({
      name,
      listenHost: listen.host,
      listenPort: listen.port,
      remoteHost: remote.host.toLowerCase(),
      remotePort: remote.port,
    });
  });
  return out;
}

/**
 * Parses the egress SANs (`undefined` or `""`: none): entries `<name>#<san>` joined by `##`, each
 * name at most once, each SAN a DNS name (compared in lowercase).
 *
 * @param source the variable name, used in errors
 * @throws {MeshConfigError} naming the entry
 */
export function parseEgressSans(value: string | undefined, source: string): EgressSan[] {
  if (value === undefined || value.trim() === "") return [];
  const out: EgressSan[] = [];
  splitEntries(value, source).forEach((entry, i) => {
    const field = entryField(source, i, entry);
    const parts = entry.split("#");
    if (parts.length !== 2) {
      throw new MeshConfigError(
        field,
        `expected <name>#<san> (2 fields separated by '#'), got ${parts.length}`,
      );
    }
    const name = parseName(parts[0]!, field);
    const san = parts[1]!;
    if (!isDnsName(san) || san.endsWith(".")) {
      throw new MeshConfigError(field, `SAN "${san}" is no DNS name`);
    }
    if (out.some((e) => e.entry === name)) {
      throw new MeshConfigError(field, `name "${name}" is used twice`);
    }
    out.push({ entry: name, san: san.toLowerCase() });
  });
  return out;
}

/**
 * The value of {@link EGRESS_SANS_ENV} for `sans` (undefined when there are none).
 *
 * @example
 * ```ts
 * import { encodeEgressSans } from "./mesh_config.ts";
 *
 * encodeEgressSans([{ entry: "db", san: "db.web.svc.cluster.local" }]); // "db#db.web.svc.cluster.local"
 * ```
 */
export function encodeEgressSans(sans: readonly EgressSan[]): string | undefined {
  return sans.length === 0 ? undefined : sans.map((e) => `${e.entry}#${e.san}`).join("##");
}

/** Parses the admin port (`undefined` or `""`: no admin interface). */
export function parseAdminPort(value: string | undefined, source: string): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return parsePort(value.trim(), source);
}

/** Parses the pod's port list (`8080,9090`; empty: none). */
export function parsePodPorts(value: string | undefined, source: string): number[] {
  if (value === undefined || value.trim() === "") return [];
  const ports = value.split(",").map((p, i) => parsePort(p.trim(), `${source}[${i}]`));
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** The raw values, as annotations or environment variables hold them. */
export interface RawMeshConfig {
  /** Ingress annotation value (`EDG_INGRESS_PROXY_CONFIG`). */
  readonly ingress?: string;
  /** Egress annotation value (`EDG_EGRESS_PROXY_CONFIG`). */
  readonly egress?: string;
  /** Admin port annotation value (`EDG_ADMIN_PORT`). */
  readonly admin?: string;
  /** The pod's TCP container ports (`CONTRAST_MESH_POD_PORTS`). */
  readonly podPorts?: string;
  /** The egress entries' expected SANs (`CONTRAST_MESH_EGRESS_SANS`). */
  readonly egressSans?: string;
}

/** Names used in errors for each raw value. */
export interface MeshConfigSources {
  /** Name of the ingress source (annotation or variable). */
  readonly ingress: string;
  /** Name of the egress source. */
  readonly egress: string;
  /** Name of the admin port source. */
  readonly admin: string;
  /** Name of the pod ports source. */
  readonly podPorts: string;
  /** Name of the egress SANs source (default {@link EGRESS_SANS_ENV}). */
  readonly egressSans?: string;
}

/** The environment variable names, for errors raised inside the proxy. */
export const ENV_SOURCES: MeshConfigSources = {
  ingress: INGRESS_ENV,
  egress: EGRESS_ENV,
  admin: ADMIN_PORT_ENV,
  podPorts: POD_PORTS_ENV,
  egressSans: EGRESS_SANS_ENV,
};

function isReserved(port: number): boolean {
  return port >= INBOUND_PORT_BASE && port < INBOUND_PORT_BASE + INBOUND_PORT_COUNT;
}

/**
 * Parses and cross-checks a pod's whole mesh configuration: which ports get mutual TLS, TLS or
 * plain pass-through, the proxy's listener for each, egress listeners and the admin port.
 *
 * @throws {MeshConfigError} naming the annotation (or variable) and the entry
 */
export function parseMeshConfig(raw: RawMeshConfig, sources: MeshConfigSources): MeshConfig {
  const ingress = parseIngressConfig(raw.ingress, sources.ingress);
  const egress = withExpectedSans(
    parseEgressConfig(raw.egress, sources.egress),
    parseEgressSans(raw.egressSans, sources.egressSans ?? EGRESS_SANS_ENV),
    sources,
  );
  const adminPort = parseAdminPort(raw.admin, sources.admin);
  const podPorts = parsePodPorts(raw.podPorts, sources.podPorts);
  const exceptions = ingress.enabled ? ingress.exceptions : [];
  const modes = new Map<number, { mode: PortMode; name: string }>();
  if (ingress.enabled) {
    for (const p of podPorts) modes.set(p, { mode: "mtls", name: `port-${p}` });
    for (const e of exceptions) {
      modes.set(e.port, { mode: e.disableTls ? "plain" : "tls", name: e.name });
    }
  }
  if (adminPort !== undefined) {
    const clash = exceptions.find((e) => e.port === adminPort);
    if (clash) {
      throw new MeshConfigError(
        sources.admin,
        `port ${adminPort} is also ingress entry "${clash.name}" of ${sources.ingress}`,
      );
    }
    modes.delete(adminPort);
    const egressClash = egress.find((e) => e.listenPort === adminPort);
    if (egressClash) {
      throw new MeshConfigError(
        sources.admin,
        `port ${adminPort} is also the listen port of egress entry "${egressClash.name}"`,
      );
    }
  }
  const sorted = [...modes.entries()].sort(([a], [b]) => a - b);
  const terminated = sorted.filter(([, m]) => m.mode !== "plain");
  for (const [port, m] of sorted) {
    if (isReserved(port)) {
      throw new MeshConfigError(
        m.name.startsWith("port-") ? sources.podPorts : sources.ingress,
        `port ${port} (${m.name}) lies in the proxy's reserved range ` +
          `${INBOUND_PORT_BASE}–${INBOUND_PORT_BASE + INBOUND_PORT_COUNT - 1}`,
      );
    }
  }
  if (terminated.length > INBOUND_PORT_COUNT) {
    throw new MeshConfigError(
      sources.ingress,
      `${terminated.length} ports to terminate; at most ${INBOUND_PORT_COUNT}`,
    );
  }
  if (adminPort !== undefined && isReserved(adminPort)) {
    throw new MeshConfigError(
      sources.admin,
      `port ${adminPort} lies in the proxy's reserved range`,
    );
  }
  const inbound: InboundPort[] = terminated.map(([port, m], i) => ({
    port,
    mode: m.mode as "mtls" | "tls",
    name: m.name,
    listenerPort: INBOUND_PORT_BASE + i,
  }));
  const plainPorts = sorted.filter(([, m]) => m.mode === "plain").map(([p]) => p);
  egressPortClashes(raw.egress, egress, exceptions, sources);
  return {
    ingress,
    egress,
    ...(adminPort !== undefined ? { adminPort } : {}),
    inbound,
    plainPorts,
  };
}

/**
 * `egress` with each entry's expected SAN from `sans`.
 *
 * @throws {MeshConfigError} naming the egress SANs source when a name is no egress entry's
 */
function withExpectedSans(
  egress: readonly EgressEntry[],
  sans: readonly EgressSan[],
  sources: MeshConfigSources,
): EgressEntry[] {
  for (const { entry } of sans) {
    if (!egress.some((e) => e.name === entry)) {
      throw new MeshConfigError(
        sources.egressSans ?? EGRESS_SANS_ENV,
        `entry "${entry}" names no egress entry of ${sources.egress}`,
      );
    }
  }
  return egress.map((e) => {
    const san = sans.find((s) => s.entry === e.name)?.san;
    return san === undefined ? e : { ...e, expectedSan: san };
  });
}

/**
 * Refuses an egress listen port that the transparent-mode rules admit from outside the pod: a
 * plain (`true`) ingress port or one of the proxy's inbound listener ports (the reserved range).
 * The egress listener binds a 127.0.0.0/8 address, which the network cannot reach unless the host
 * routes it (`route_localnet=1`), and then a packet to `127.x:<port>` passes the filter's
 * exception for that port and reaches the egress listener, whose connections leave with the pod's
 * mesh identity. (An egress port equal to a port the ingress terminates is harmless: that port is
 * redirected to the proxy's own listener, whatever the destination address; the admin port is
 * checked with the admin source named.)
 *
 * @throws {MeshConfigError} naming the egress entry and the port it shares
 */
function egressPortClashes(
  rawEgress: string | undefined,
  egress: readonly EgressEntry[],
  exceptions: readonly IngressException[],
  sources: MeshConfigSources,
): void {
  const texts = rawEgress === undefined ? [] : rawEgress.split("##");
  egress.forEach((e, i) => {
    const field = entryField(sources.egress, i, texts[i] ?? e.name);
    const plain = exceptions.find((x) => x.disableTls && x.port === e.listenPort);
    if (plain) {
      throw new MeshConfigError(
        field,
        `listen port ${e.listenPort} is also ingress entry "${plain.name}" of ` +
          `${sources.ingress}, which the ingress passes through in plain: the filter admits that ` +
          `port from outside the pod, and a host that routes 127.0.0.0/8 (route_localnet) would ` +
          `reach this egress listener through it; choose another port`,
      );
    }
    if (isReserved(e.listenPort)) {
      throw new MeshConfigError(
        field,
        `listen port ${e.listenPort} lies in the proxy's reserved range ` +
          `${INBOUND_PORT_BASE}–${INBOUND_PORT_BASE + INBOUND_PORT_COUNT - 1} (its inbound ` +
          `listeners, admitted from outside the pod); choose another port`,
      );
    }
  });
}

/**
 * `config` with its inbound listeners moved to `base`, `base + 1`, …: the one place the port of
 * inbound listener `i` is decided when the proxy runs with a non-default `--inbound-port-base`
 * (the transparent-mode rules and the listeners both read `listenerPort` from the result). The
 * new range must not hold a port the pod uses: an application port (it would be redirected to
 * itself or shadowed), the admin port, or an egress listen port (the filter admits the listener
 * ports from outside the pod, so an egress listener there would be reachable where the host
 * routes 127.0.0.0/8, `route_localnet=1`); and it must end at 65535.
 *
 * @example
 * ```ts
 * import { ENV_SOURCES, parseMeshConfig, withInboundPortBase } from "./mesh_config.ts";
 * const config = parseMeshConfig({ podPorts: "8080,9000" }, ENV_SOURCES);
 * const moved = withInboundPortBase(config, 20000, "--inbound-port-base");
 * console.log(moved.inbound.map((p) => p.listenerPort)); // [20000, 20001]
 * ```
 *
 * @throws {MeshConfigError} naming `field` and the port the range collides with
 */
export function withInboundPortBase(config: MeshConfig, base: number, field: string): MeshConfig {
  if (!Number.isInteger(base) || base < 1 || base + config.inbound.length - 1 > 65535) {
    throw new MeshConfigError(
      field,
      `${base} does not leave room for ${config.inbound.length} listener ports below 65536`,
    );
  }
  const inbound = config.inbound.map((p, i) => ({ ...p, listenerPort: base + i }));
  const used: [number, string][] = [
    ...config.inbound.map((p): [number, string] => [p.port, `pod port ${p.port} (${p.name})`]),
    ...config.plainPorts.map((p): [number, string] => [p, `plain ingress port ${p}`]),
    ...(config.adminPort !== undefined
      ? [[config.adminPort, `admin port ${config.adminPort}`] as [number, string]]
      : []),
    ...config.egress.map((e): [number, string] => [
      e.listenPort,
      `listen port ${e.listenPort} of egress entry "${e.name}"`,
    ]),
  ];
  for (const l of inbound) {
    const clash = used.find(([port]) => port === l.listenerPort);
    if (clash) {
      throw new MeshConfigError(
        field,
        `inbound listener ports ${base}–${base + inbound.length - 1} include the ${clash[1]}; ` +
          "choose another base",
      );
    }
  }
  return { ...config, inbound };
}

/** What a listener does with a new connection while its handshake limit is reached. */
export type HandshakeLimitAction = "close-oldest" | "refuse-new";

/** Who may read the admin interface's `/metrics` and `/listeners`. */
export type AdminRemoteAccess = "probes" | "all";

/** The limits annotation's settings; absent ones take the proxy's derived defaults. */
export interface MeshLimitSettings {
  /** Connections one listener holds at once (handshaking or established). */
  readonly maxConnections?: number;
  /** Of those, connections still in their TLS handshake (inbound listeners). */
  readonly maxHandshakes?: number;
  /** `close-oldest`: the longest-waiting handshake makes room; `refuse-new`: the new one is closed. */
  readonly onHandshakeLimit?: HandshakeLimitAction;
  /** An established connection idle (no byte either way) this long is closed, s. */
  readonly idleTimeoutSeconds?: number;
  /** A TLS handshake not finished this long is closed, s. */
  readonly handshakeTimeoutSeconds?: number;
  /** The descriptor limit the default caps are derived from. */
  readonly maxOpenFiles?: number;
  /**
   * `probes` (default): off loopback the admin interface answers `/ready` and `/live` only;
   * `all`: every endpoint to anyone who reaches the port.
   */
  readonly adminRemoteAccess?: AdminRemoteAccess;
}

/** The most connections, handshakes or descriptors a setting may name. */
const MAX_COUNT = 1_000_000;
/** The longest idle timeout, s (a timer cannot wait longer than 2^31 - 1 ms). */
export const MAX_IDLE_TIMEOUT_SECONDS = 2_000_000;

function parseCount(text: string, field: string, min: number, max: number): number {
  if (!/^[0-9]{1,9}$/.test(text) || (text.length > 1 && text.startsWith("0"))) {
    throw new MeshConfigError(field, `"${text}" is not a decimal number ${min}–${max}`);
  }
  const n = Number(text);
  if (n < min || n > max) throw new MeshConfigError(field, `${n} is outside ${min}–${max}`);
  return n;
}

/**
 * Parses the limits (`key=value` entries joined by `,`; `undefined` or `""`: none set). Keys:
 * `maxConnections`, `maxHandshakes` (1–1000000), `onHandshakeLimit` (`close-oldest` or
 * `refuse-new`), `idleTimeoutSeconds` (1–2000000), `handshakeTimeoutSeconds` (1–60, default
 * 10), `maxOpenFiles` (512–1000000),
 * `adminRemoteAccess` (`probes` or `all`).
 *
 * @param source the annotation or variable name, used in errors
 * @throws {MeshConfigError} naming the entry
 */
export function parseMeshLimits(value: string | undefined, source: string): MeshLimitSettings {
  if (value === undefined || value.trim() === "") return {};
  const out: Record<string, number | string> = {};
  value.split(",").forEach((entry, i) => {
    const field = entryField(source, i, entry);
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new MeshConfigError(field, "expected <key>=<value> (entries joined by ',')");
    const key = entry.slice(0, eq).trim();
    const text = entry.slice(eq + 1).trim();
    if (key in out) throw new MeshConfigError(field, `"${key}" is set twice`);
    switch (key) {
      case "maxConnections":
      case "maxHandshakes":
        out[key] = parseCount(text, field, 1, MAX_COUNT);
        break;
      case "idleTimeoutSeconds":
        out[key] = parseCount(text, field, 1, MAX_IDLE_TIMEOUT_SECONDS);
        break;
      case "handshakeTimeoutSeconds":
        out[key] = parseCount(text, field, 1, 60);
        break;
      case "maxOpenFiles":
        out[key] = parseCount(text, field, 512, MAX_COUNT);
        break;
      case "onHandshakeLimit":
        if (text !== "close-oldest" && text !== "refuse-new") {
          throw new MeshConfigError(field, `"${text}" must be "close-oldest" or "refuse-new"`);
        }
        out[key] = text;
        break;
      case "adminRemoteAccess":
        if (text !== "probes" && text !== "all") {
          throw new MeshConfigError(field, `"${text}" must be "probes" or "all"`);
        }
        out[key] = text;
        break;
      default:
        throw new MeshConfigError(
          field,
          `unknown key "${key}" (known: maxConnections, maxHandshakes, onHandshakeLimit, ` +
            "idleTimeoutSeconds, handshakeTimeoutSeconds, maxOpenFiles, adminRemoteAccess)",
        );
    }
  });
  const { maxConnections, maxHandshakes } = out;
  if (
    typeof maxConnections === "number" && typeof maxHandshakes === "number" &&
    maxHandshakes > maxConnections
  ) {
    throw new MeshConfigError(
      source,
      `maxHandshakes ${maxHandshakes} exceeds maxConnections ${maxConnections} (handshakes count ` +
        "among a listener's connections)",
    );
  }
  return out as MeshLimitSettings;
}

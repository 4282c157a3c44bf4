/**
 * The mesh proxy's life cycle: admin interface first (not ready), transparent-mode rules next
 * (so application ports are closed to plain traffic before anything serves), then wait for valid
 * credentials from the initializer (never serving without them), then the ingress and egress
 * listeners; afterwards the credential files are re-read periodically and a changed, valid set
 * is swapped in (an invalid one is refused and the old one kept).
 *
 * @module
 */
import { UnavailableError } from "../util/errors/mod.ts";
import type { Logger } from "../util/log/logger.ts";
import type { MeshConfig, MeshLimitSettings } from "../protocol/mesh_config.ts";
import { type ListenerLimits, listenerLimits } from "./limits.ts";
import type { MemoryLimit } from "./memory_limit.ts";
import { INBOUND_PORT_BASE, withInboundPortBase } from "../protocol/mesh_config.ts";
import { type AdminServer, serveAdmin } from "./admin.ts";
import {
  checkCredentials,
  loadCredentials,
  type MeshCredentials,
  readCredentialFiles,
} from "./credentials.ts";
import { EgressListener, type Resolver } from "./egress.ts";
import { ANY_ADDRESS } from "./any_address.ts";
import { IngressListener } from "./ingress.ts";
import {
  applyTransparentRules,
  TransparentModeError,
  type TransparentPlan,
  transparentPlan,
} from "./iptables.ts";
import { ProxyMetrics } from "./metrics.ts";

/** Options of {@link MeshProxy}. */
export interface MeshProxyOptions {
  readonly config: MeshConfig;
  /** Folder with `key.pem`, `certChain.pem`, `mesh-ca.pem`. */
  readonly tlsConfigDir: string;
  /** Apply the iptables rules (needs CAP_NET_ADMIN). */
  readonly transparent: boolean;
  /** Address of the inbound listeners (default {@link ANY_ADDRESS}: every IPv4 and IPv6 address). */
  readonly inboundHost?: string;
  /**
   * First inbound listener port (default 15100; 0: ephemeral ports, explicit mode only). The
   * transparent-mode rules redirect to the same ports the listeners bind.
   */
  readonly inboundPortBase?: number;
  /** Where the application listens (default `127.0.0.1`). */
  readonly upstreamHost?: string;
  /** Application port overrides (`port` → real port), for running several pods on one host. */
  readonly upstreamPorts?: ReadonlyMap<number, number>;
  /** Egress name resolution (default: the remote as given). */
  readonly resolve?: Resolver;
  /** Admin interface address (default {@link ANY_ADDRESS}: every IPv4 and IPv6 address). */
  readonly adminHost?: string;
  /** Give up waiting for credentials after this long, ms (default 60 s). */
  readonly credentialsWaitMs?: number;
  /** How often the credential files are re-read, ms (default 2 s). */
  readonly reloadIntervalMs?: number;
  readonly logger: Logger;
  /**
   * Connection caps, idle timeout and admin access (the limits annotation and flags); unset
   * ones are derived (see `limits.ts`).
   */
  readonly limits?: MeshLimitSettings;
  /** The cgroup's memory limit, bounding the default connection caps (default: not known). */
  readonly memoryLimit?: MemoryLimit;
  /** Applies the transparent-mode rules (default {@link applyTransparentRules}). */
  readonly applyRules?: (plan: TransparentPlan) => Promise<unknown>;
}

/** A listener's public description (admin `/listeners`). */
export interface ListenerInfo {
  readonly direction: "ingress" | "egress";
  readonly name: string;
  readonly mode: string;
  readonly listen: string;
  readonly target: string;
}

/** The running proxy. */
export class MeshProxy {
  readonly metrics: ProxyMetrics = new ProxyMetrics();
  readonly #o: MeshProxyOptions;
  /** The configuration with the inbound listener ports the rules and the listeners use. */
  readonly #config: MeshConfig;
  readonly #ingress: IngressListener[] = [];
  readonly #egress: EgressListener[] = [];
  readonly #info: ListenerInfo[] = [];
  #credentials?: MeshCredentials;
  #credentialsText = "";
  #refusedText = "";
  #admin?: AdminServer;
  #reloadTimer?: ReturnType<typeof setTimeout>;
  #serving = false;
  #closed = false;
  #notReady = "waiting for credentials";

  /**
   * @throws {MeshConfigError} when `inboundPortBase` puts a listener on a port the pod uses
   * @throws {TransparentModeError} for ephemeral inbound ports (`0`) in transparent mode
   */
  constructor(options: MeshProxyOptions) {
    this.#o = options;
    const base = options.inboundPortBase ?? INBOUND_PORT_BASE;
    if (base === 0 && options.transparent) {
      throw new TransparentModeError(
        "inbound port base",
        "0 (ephemeral listener ports) cannot be used in transparent mode: the rules must name " +
          "the listener ports before the listeners exist",
      );
    }
    this.#config = base === 0 || base === INBOUND_PORT_BASE
      ? options.config
      : withInboundPortBase(options.config, base, "inbound port base (--inbound-port-base)");
    this.metrics.set("meshproxy_ready", {}, 0);
  }

  /** Why the proxy is not ready, or undefined when it is. */
  notReadyReason(): string | undefined {
    if (!this.#serving) return this.#notReady;
    if (this.#credentials && this.#credentials.notAfter.getTime() < Date.now()) {
      return "the mesh certificate has expired and no valid replacement was found";
    }
    return undefined;
  }

  /** The listeners (after {@link start}). */
  listeners(): readonly ListenerInfo[] {
    return this.#info;
  }

  /** The admin interface's port, when it runs. */
  get adminPort(): number | undefined {
    return this.#admin?.port;
  }

  /**
   * Starts everything, in this order: the transparent-mode rules, the admin interface, the
   * credentials, the listeners; resolves once serving. A failure after the rules leaves them in
   * place (the pod's ports stay filtered).
   *
   * @throws {UnavailableError} when no valid credentials appear in time
   * @throws {TransparentModeError} when the rules cannot be applied
   */
  async start(): Promise<void> {
    const o = this.#o;
    const log = o.logger;
    // The rules first, before anything of the proxy listens: a failure after them (the admin
    // port held, no credentials) leaves the pod's ports filtered, never open in plain.
    if (o.transparent) {
      const plan = transparentPlan(this.#config);
      await (o.applyRules ?? applyTransparentRules)(plan);
      log.info("transparent mode: inbound traffic redirected into the proxy", {
        redirects: plan.redirects.map((r) => `${r.port}->${r.listenerPort}`).join(","),
        plainPorts: plan.plainPorts.join(","),
      });
    }
    if (o.config.adminPort !== undefined) {
      this.#admin = await serveAdmin(o.adminHost ?? ANY_ADDRESS, o.config.adminPort, {
        notReadyReason: () => this.notReadyReason(),
        metrics: this.metrics,
        listeners: () => this.#info,
        remoteAccess: o.limits?.adminRemoteAccess ?? "probes",
      });
    }
    this.#credentials = await this.#waitForCredentials();
    await this.#startListeners(this.#credentials);
    this.#serving = true;
    this.metrics.set("meshproxy_ready", {}, 1);
    const limits = this.limits;
    log.info("serving", {
      listeners: this.#info.map((l) => `${l.direction}:${l.name}@${l.listen}`).join(","),
      maxConnectionsPerListener: limits.maxConnections,
      memoryLimitBytes: this.#o.memoryLimit?.kind === "limited"
        ? this.#o.memoryLimit.bytes
        : undefined,
      memoryLimitFrom: this.#o.memoryLimit?.kind === "limited"
        ? this.#o.memoryLimit.source
        : undefined,
      maxHandshakesPerListener: limits.maxHandshakes,
      onHandshakeLimit: limits.onHandshakeLimit,
      idleTimeoutSeconds: limits.idleTimeoutMs / 1000,
      adminPort: this.adminPort,
      certSha256: this.#credentials.leafFingerprint,
    });
    this.#scheduleReload();
  }

  /** Stops listening; open connections finish on their own. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reloadTimer);
    await Promise.all([...this.#ingress, ...this.#egress].map((l) => l.close()));
    await this.#admin?.shutdown();
  }

  async #readCredentials(): Promise<MeshCredentials> {
    const credentials = await loadCredentials(this.#o.tlsConfigDir);
    this.#credentialsText = credentials.keyPem + credentials.certChainPem + credentials.meshCaPem;
    this.metrics.set(
      "meshproxy_certificate_not_after_seconds",
      {},
      Math.floor(credentials.notAfter.getTime() / 1000),
    );
    return credentials;
  }

  async #waitForCredentials(): Promise<MeshCredentials> {
    const deadline = Date.now() + (this.#o.credentialsWaitMs ?? 60_000);
    let lastReason = "";
    for (;;) {
      try {
        const credentials = await this.#readCredentials();
        this.metrics.add("meshproxy_credential_reloads_total", { result: "accepted" });
        return credentials;
      } catch (error) {
        const reason = (error as Error).message;
        this.#notReady = `no valid credentials: ${reason}`;
        if (reason !== lastReason) {
          this.metrics.add("meshproxy_credential_reloads_total", { result: "refused" });
          this.#o.logger.warn("not serving: no valid mesh credentials yet", { reason });
          lastReason = reason;
        }
        if (Date.now() > deadline || this.#closed) {
          throw new UnavailableError(
            this.#o.tlsConfigDir,
            `no valid mesh credentials within the wait time; last problem: ${reason}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** The limits every listener enforces (derived once the listener count is known). */
  get limits(): ListenerLimits {
    const c = this.#o.config;
    const settings = this.#o.limits ?? {};
    return listenerLimits(settings, c.inbound.length + c.egress.length, this.#o.memoryLimit);
  }

  async #startListeners(credentials: MeshCredentials): Promise<void> {
    const o = this.#o;
    const c = this.#config;
    const limits = this.limits;
    const ephemeral = o.inboundPortBase === 0;
    for (const p of c.inbound) {
      const upstreamPort = o.upstreamPorts?.get(p.port) ?? p.port;
      const listener = new IngressListener({
        name: p.name,
        mode: p.mode,
        listenHost: o.inboundHost ?? ANY_ADDRESS,
        listenPort: ephemeral ? 0 : p.listenerPort,
        upstreamHost: o.upstreamHost ?? "127.0.0.1",
        upstreamPort,
        credentials,
        metrics: this.metrics,
        logger: o.logger,
        limits,
      });
      await listener.start();
      this.#ingress.push(listener);
      this.#info.push({
        direction: "ingress",
        name: p.name,
        mode: p.mode,
        listen: listener.address,
        target: `${o.upstreamHost ?? "127.0.0.1"}:${upstreamPort}`,
      });
    }
    for (const e of c.egress) {
      const listener = new EgressListener({
        entry: e,
        credentials: () => this.#credentials!,
        resolve: o.resolve ?? ((host, port) => ({ host, port })),
        metrics: this.metrics,
        logger: o.logger,
        limits,
      });
      await listener.start();
      this.#egress.push(listener);
      this.#info.push({
        direction: "egress",
        name: e.name,
        mode: "mtls",
        listen: `${e.listenHost}:${e.listenPort}`,
        target: `${e.remoteHost}:${e.remotePort}`,
      });
    }
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    this.#reloadTimer = setTimeout(async () => {
      await this.#reloadOnce();
      this.#scheduleReload();
    }, this.#o.reloadIntervalMs ?? 2_000);
  }

  /** Re-reads the files; swaps in a changed, valid set. Returns whether it swapped. */
  async #reloadOnce(): Promise<boolean> {
    const dir = this.#o.tlsConfigDir;
    let fresh: MeshCredentials;
    try {
      const files = await readCredentialFiles(dir);
      const text = files.key + files.certChain + files.meshCa;
      if (text === this.#credentialsText || text === this.#refusedText) return false;
      this.#refusedText = text;
      fresh = await checkCredentials(files, dir, new Date());
    } catch (error) {
      this.metrics.add("meshproxy_credential_reloads_total", { result: "refused" });
      this.#o.logger.warn("refusing changed mesh credentials; keeping the current ones", {
        reason: (error as Error).message,
      });
      return false;
    }
    this.#refusedText = "";
    this.#credentialsText = fresh.keyPem + fresh.certChainPem + fresh.meshCaPem;
    this.#credentials = fresh;
    for (const l of this.#ingress) l.updateCredentials(fresh);
    this.metrics.add("meshproxy_credential_reloads_total", { result: "accepted" });
    this.metrics.set(
      "meshproxy_certificate_not_after_seconds",
      {},
      Math.floor(fresh.notAfter.getTime() / 1000),
    );
    this.#o.logger.info("mesh credentials reloaded", {
      certSha256: fresh.leafFingerprint,
      meshCaSha256: fresh.meshCaFingerprint,
    });
    return true;
  }
}

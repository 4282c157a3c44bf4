/**
 * A real Kubernetes control plane on 127.0.0.1 for tests: Debian's `etcd` and `kube-apiserver`
 * (v1.37, built by `scripts/install_kube.sh`), on free ports, in a temporary folder, with a
 * self-signed CA and serving certificate, service-account signing keys, a static admin token in
 * `system:masters` (`--token-auth-file`) and RBAC authorization. No controller manager or
 * scheduler runs: objects are stored and watched, Pods are never scheduled.
 *
 * ```ts
 * if (kubeToolsMissing("my test")) return; // or Deno.test({ ignore: kubeToolsMissing(...) })
 * await using cluster = await LocalKubeCluster.start();
 * await cluster.kubectl(["apply", "-f", "deployment.yml"]); // uses cluster.kubeconfigPath
 * ```
 *
 * Faults for tests: {@link LocalKubeCluster.stopApiServer}, {@link LocalKubeCluster.stopEtcd}
 * (SIGTERM or SIGKILL) and their `start…` counterparts restart each on the same port and data.
 *
 * @module
 */
import { generateControlPlaneKeys } from "./certificates.ts";
import { renderKubeconfig } from "./kubeconfig.ts";
import { freePort, ManagedProcess, waitUntil } from "./process.ts";
import { findKubeTools, type KubeTools } from "./tools.ts";

/** A user of the static token file. */
interface StaticTokenUser {
  /** Bearer token. */
  readonly token: string;
  /** User name (what RBAC bindings name with `kind: User`). */
  readonly name: string;
  /** Groups (RBAC `kind: Group`). */
  readonly groups?: readonly string[];
}

/** Options of {@link LocalKubeCluster.start}. */
interface LocalKubeClusterOptions {
  /** More static-token users besides the admin (e.g. a least-privilege user to test RBAC). */
  readonly users?: readonly StaticTokenUser[];
  /** Extra `kube-apiserver` flags (appended; later flags win). */
  readonly apiServerArgs?: readonly string[];
  /** How long to wait for each component to become ready (default 90 s). */
  readonly readyTimeoutMs?: number;
}

/** The admin's user name (member of `system:masters`). */
const ADMIN_USER = "contrast-test-admin";

/** A running etcd + kube-apiserver pair; stop it with {@link LocalKubeCluster.stop}. */
export class LocalKubeCluster implements AsyncDisposable {
  /** Temporary folder with keys, data, logs and kubeconfigs (removed by `stop`). */
  readonly dir: string;
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** PEM of the CA of the serving certificate. */
  readonly caPem: string;
  /** Token of {@link ADMIN_USER} (in `system:masters`). */
  readonly adminToken: string;
  /** Admin kubeconfig (context namespace `default`). */
  readonly kubeconfigPath: string;
  /** `http://127.0.0.1:PORT` of etcd. */
  readonly etcdUrl: string;
  /** The binaries used. */
  readonly tools: KubeTools;
  readonly #etcd: ManagedProcess;
  readonly #apiServer: ManagedProcess;
  readonly #readyTimeoutMs: number;
  #stopped = false;

  private constructor(init: {
    dir: string;
    server: string;
    caPem: string;
    adminToken: string;
    kubeconfigPath: string;
    etcdUrl: string;
    tools: KubeTools;
    etcd: ManagedProcess;
    apiServer: ManagedProcess;
    readyTimeoutMs: number;
  }) {
    this.dir = init.dir;
    this.server = init.server;
    this.caPem = init.caPem;
    this.adminToken = init.adminToken;
    this.kubeconfigPath = init.kubeconfigPath;
    this.etcdUrl = init.etcdUrl;
    this.tools = init.tools;
    this.#etcd = init.etcd;
    this.#apiServer = init.apiServer;
    this.#readyTimeoutMs = init.readyTimeoutMs;
  }

  /**
   * Starts etcd and kube-apiserver and waits until `/readyz` answers 200.
   *
   * @throws when a binary is missing (check {@link kubeToolsMissing} first) or a component does
   *   not become ready; the error carries the tail of its log
   */
  static async start(options: LocalKubeClusterOptions = {}): Promise<LocalKubeCluster> {
    const tools = findKubeTools();
    if ("missing" in tools) throw new Error(`missing: ${tools.missing.join("; ")}`);
    const dir = await Deno.makeTempDir({ prefix: "contrast-kube-" });
    try {
      const keys = await generateControlPlaneKeys(dir);
      const adminToken = randomToken();
      const users: StaticTokenUser[] = [
        { token: adminToken, name: ADMIN_USER, groups: ["system:masters"] },
        ...(options.users ?? []),
      ];
      await Deno.writeTextFile(`${dir}/tokens.csv`, users.map(tokenLine).join(""), {
        mode: 0o600,
      });
      const [clientPort, peerPort, securePort] = [freePort(), freePort(), freePort()];
      const etcdUrl = `http://127.0.0.1:${clientPort}`;
      const peerUrl = `http://127.0.0.1:${peerPort}`;
      const etcd = new ManagedProcess("etcd", tools.etcd, [
        "--name=contrast-test",
        `--data-dir=${dir}/etcd`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=contrast-test=${peerUrl}`,
        "--log-level=warn",
      ], `${dir}/etcd.log`);
      const apiServer = new ManagedProcess("kube-apiserver", tools.kubeApiServer, [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        // The loopback address cannot be published as the kubernetes Service endpoint.
        "--endpoint-reconciler-type=none",
        `--secure-port=${securePort}`,
        `--cert-dir=${dir}/apiserver-certs`,
        `--tls-cert-file=${keys.servingCert}`,
        `--tls-private-key-file=${keys.servingKey}`,
        `--client-ca-file=${keys.caCert}`,
        `--service-account-key-file=${keys.serviceAccountPub}`,
        `--service-account-signing-key-file=${keys.serviceAccountKey}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--token-auth-file=${dir}/tokens.csv`,
        "--authorization-mode=RBAC",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--enable-priority-and-fairness=false",
        "--v=1",
        ...(options.apiServerArgs ?? []),
      ], `${dir}/kube-apiserver.log`);
      const server = `https://127.0.0.1:${securePort}`;
      const caPem = await Deno.readTextFile(keys.caCert);
      const kubeconfigPath = `${dir}/admin.kubeconfig`;
      await Deno.writeTextFile(
        kubeconfigPath,
        renderKubeconfig({
          server,
          caPem,
          token: adminToken,
          user: ADMIN_USER,
          namespace: "default",
        }),
        { mode: 0o600 },
      );
      const cluster = new LocalKubeCluster({
        dir,
        server,
        caPem,
        adminToken,
        kubeconfigPath,
        etcdUrl,
        tools,
        etcd,
        apiServer,
        readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
      });
      try {
        await cluster.startEtcd();
        await cluster.startApiServer();
      } catch (error) {
        await cluster.stop({ keepDir: true });
        throw error;
      }
      return cluster;
    } catch (error) {
      if (error instanceof Error) error.message += ` (files kept in ${dir})`;
      throw error;
    }
  }

  /** Writes a kubeconfig for another token user of this server; returns its path. */
  async writeKubeconfig(user: StaticTokenUser, namespace = "default"): Promise<string> {
    const path = `${this.dir}/${user.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.kubeconfig`;
    await Deno.writeTextFile(
      path,
      renderKubeconfig({
        server: this.server,
        caPem: this.caPem,
        token: user.token,
        user: user.name,
        namespace,
      }),
      { mode: 0o600 },
    );
    return path;
  }

  /** Starts etcd (again) and waits for `/health`. */
  async startEtcd(): Promise<void> {
    await this.#etcd.start();
    await waitUntil(this.#etcd, async () => {
      const r = await fetch(`${this.etcdUrl}/health`);
      const body = await r.text();
      return r.ok && body.includes('"health":"true"');
    }, this.#readyTimeoutMs);
  }

  /** Stops etcd: SIGTERM (clean) or SIGKILL (a crash). Its data stays. */
  stopEtcd(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    return this.#etcd.stop(signal);
  }

  /** Starts kube-apiserver (again) and waits until `/readyz` answers 200. */
  async startApiServer(): Promise<void> {
    await this.#apiServer.start();
    await waitUntil(this.#apiServer, () => this.apiServerReady(), this.#readyTimeoutMs);
  }

  /** Stops kube-apiserver: SIGTERM (clean) or SIGKILL (a crash). */
  stopApiServer(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    return this.#apiServer.stop(signal);
  }

  /** Whether `/readyz` answers 200 now. */
  async apiServerReady(): Promise<boolean> {
    const r = await this.fetch("/readyz");
    await r.body?.cancel();
    return r.status === 200;
  }

  /** A request to the API server as the admin (`path` starts with `/`). */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const client = Deno.createHttpClient({ caCerts: [this.caPem] });
    try {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${this.adminToken}`);
      const response = await fetch(`${this.server}${path}`, { ...init, headers, client });
      const body = new Uint8Array(await response.arrayBuffer());
      return new Response(response.status === 204 ? null : body, {
        status: response.status,
        headers: response.headers,
      });
    } finally {
      client.close();
    }
  }

  /** Runs `kubectl` with the admin kubeconfig (or `kubeconfig`). */
  async kubectl(
    args: readonly string[],
    options: { kubeconfig?: string; stdin?: string } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = new Deno.Command(this.tools.kubectl, {
      args: [`--kubeconfig=${options.kubeconfig ?? this.kubeconfigPath}`, ...args],
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const out = await child.output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  }

  /** Logs of etcd and kube-apiserver (tails), for failing tests. */
  async logs(lines = 40): Promise<string> {
    return `--- etcd\n${await this.#etcd.logTail(lines)}\n--- kube-apiserver\n${await this
      .#apiServer.logTail(lines)}`;
  }

  /** Stops both processes and removes the folder (unless `keepDir`). Idempotent. */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#apiServer.stop("SIGTERM", 5_000);
    await this.#etcd.stop("SIGTERM", 5_000);
    if (!options.keepDir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** `await using cluster = await LocalKubeCluster.start()` stops it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A `--token-auth-file` line: `token,user,uid,"group1,group2"`. */
function tokenLine(user: StaticTokenUser): string {
  if (/[,"\n]/.test(user.token + user.name) || (user.groups ?? []).some((g) => /[,"\n]/.test(g))) {
    throw new Error(`static token user ${user.name}: no commas, quotes or newlines allowed`);
  }
  return `${user.token},${user.name},${user.name},"${(user.groups ?? []).join(",")}"\n`;
}

/**
 * The service-mesh proxy image in transparent mode, in network namespaces of its own (run by
 * `images_test.ts` as `unshare -n deno run -A mesh_image_netns.ts cluster CONFIG`; needs root and
 * podman). The first namespace plays "the rest of the cluster"; it starts the pod's namespace
 * (`unshare -n … pod CONFIG`: loopback, the application on 8080 of both families), links the two
 * with a veth pair (pod 10.200.0.1 and fd00:200::1, cluster 10.200.0.2 and fd00:200::2), runs
 * the proxy container from the image inside the pod's namespace (`--network ns:…`,
 * `--cap-drop ALL --cap-add NET_ADMIN,DAC_READ_SEARCH`, no new privileges, read-only root, the
 * initializer's files mounted read-only, the environment `contrast generate` gave the sidecar),
 * waits for its admin port and probes the pod
 * from outside, over IPv4 and IPv6. Prints the results as one JSON line.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";

/** What the scenario gets from the test (a JSON file). */
export interface MeshImageScenario {
  /** The proxy image (pinned reference, already pulled). */
  readonly image: string;
  /** Container name (the test removes it too). */
  readonly container: string;
  /** Global podman flags. */
  readonly podmanGlobal: readonly string[];
  /** `podman run` flags (ulimits; no network flag). */
  readonly podmanRun: readonly string[];
  /** The pod's initializer output (mounted read-only at `/contrast`). */
  readonly podDir: string;
  /** The sidecar's environment as generated (downward API values resolved as a kubelet would). */
  readonly env: Readonly<Record<string, string>>;
  /** The container's memory limit (`podman run --memory`), as the sidecar's `limits.memory`. */
  readonly memory?: string;
  /** Client credentials folders (`key.pem`, `certChain.pem`, `mesh-ca.pem`) by label. */
  readonly clients: Readonly<Record<string, string>>;
  /** The folder the pod namespace marks readiness in. */
  readonly dir: string;
}

/** The pod's address on the veth link. */
const POD_IP = "10.200.0.1";
/** The pod's IPv6 address on the veth link. */
const POD_IP6 = "fd00:200::1";
/** The application port (declared, mutual TLS). */
export const APP_PORT = 8080;
/** The admin port. */
export const ADMIN_PORT = 9901;

const [role, configPath] = Deno.args;

async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const d = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${d.decode(out.stderr)}`);
  return d.decode(out.stdout);
}

async function pod(config: MeshImageScenario): Promise<void> {
  while (!(await sh("ip", "link", "show", "vethA").then(() => true, () => false))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await sh("ip", "link", "set", "lo", "up");
  await sh("ip", "addr", "add", `${POD_IP}/24`, "dev", "vethA");
  await sh("ip", "addr", "add", `${POD_IP6}/64`, "dev", "vethA", "nodad");
  await sh("ip", "link", "set", "vethA", "up");
  net.createServer((s) => {
    s.on("error", () => {});
    s.on("data", (d) => s.end(`app:${d}`));
  }).listen(APP_PORT, "::"); // dual stack, as many applications listen
  await Deno.writeTextFile(`${config.dir}/pod-ready`, "");
}

function plain(port: number, host = POD_IP): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => s.write("hi"));
    let text = "";
    s.on("data", (d) => text += d);
    s.on("error", (e) => text += `<${(e as { code?: string }).code ?? e.message}>`);
    s.on("close", () => resolve(text));
    setTimeout(() => s.destroy(), 3000);
  });
}

function mutualTls(
  port: number,
  dir: string | undefined,
  caDir: string,
  host = POD_IP,
): Promise<string> {
  const read = (f: string) => Deno.readTextFileSync(f);
  return new Promise((resolve) => {
    const s = tls.connect({
      host,
      port,
      ca: read(`${caDir}/mesh-ca.pem`),
      ...(dir === undefined ? {} : {
        key: read(`${dir}/key.pem`),
        cert: read(`${dir}/certChain.pem`),
      }),
      checkServerIdentity: () => undefined,
    }, () => s.write("hi"));
    let text = "";
    s.on("data", (d) => text += d);
    s.on("error", (e) => text += `<${(e as { code?: string }).code ?? e.message}>`);
    s.on("close", () => resolve(text));
    setTimeout(() => s.destroy(), 3000);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function podman(config: MeshImageScenario, ...args: string[]): Promise<string> {
  return await sh("podman", ...config.podmanGlobal, ...args);
}

async function cluster(config: MeshImageScenario): Promise<void> {
  await sh("ip", "link", "set", "lo", "up");
  const child = new Deno.Command("unshare", {
    args: [
      "-n",
      Deno.execPath(),
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "pod",
      configPath!,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  try {
    await sh("ip", "link", "add", "vethB", "type", "veth", "peer", "name", "vethA");
    await sh("ip", "link", "set", "vethA", "netns", String(child.pid));
    await sh("ip", "addr", "add", "10.200.0.2/24", "dev", "vethB");
    await sh("ip", "addr", "add", "fd00:200::2/64", "dev", "vethB", "nodad");
    await sh("ip", "link", "set", "vethB", "up");
    await waitFor(
      "the pod namespace",
      () => Deno.stat(`${config.dir}/pod-ready`).then(() => true),
      30_000,
    );
    const started = performance.now();
    await podman(
      config,
      "run",
      "--detach",
      "--name",
      config.container,
      "--network",
      `ns:/proc/${child.pid}/ns/net`,
      // As the injected sidecar's securityContext says: every capability dropped but NET_ADMIN,
      // no privilege escalation, a read-only root.
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_ADMIN,DAC_READ_SEARCH",
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      ...config.podmanRun,
      "--volume",
      `${config.podDir}:/contrast:ro`,
      ...Object.entries(config.env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      ...(config.memory ? ["--memory", config.memory] : []),
      config.image,
    );
    try {
      await waitFor("the proxy's admin /ready", async () => {
        const r = await fetch(`http://${POD_IP}:${ADMIN_PORT}/ready`);
        await r.body?.cancel();
        return r.status === 200;
      }, 60_000);
    } catch (error) {
      const logs = await podman(config, "logs", config.container).catch((e) => String(e));
      throw new Error(`${(error as Error).message}; proxy logs: ${logs}`);
    }
    const readySeconds = (performance.now() - started) / 1000;
    const caDir = config.clients.mesh!;
    const result = {
      readySeconds,
      meshClient: await mutualTls(APP_PORT, config.clients.mesh, caDir),
      noClientCertificate: await mutualTls(APP_PORT, undefined, caDir),
      foreignClient: await mutualTls(APP_PORT, config.clients.foreign, caDir),
      plain: await plain(APP_PORT),
      plain6: await plain(APP_PORT, POD_IP6),
      meshClient6: await mutualTls(APP_PORT, config.clients.mesh, caDir, POD_IP6),
      rules: await sh("nsenter", `--net=/proc/${child.pid}/ns/net`, "iptables-save"),
      rules6: await sh("nsenter", `--net=/proc/${child.pid}/ns/net`, "ip6tables-save"),
      user: (await podman(config, "top", config.container, "user")).trim(),
      ...(await proxyLogs(config)),
    };
    console.log(JSON.stringify(result));
  } finally {
    await podman(config, "rm", "--force", "--time", "2", config.container).catch(() => "");
    child.kill("SIGKILL");
    await child.status;
  }
}

/** The proxy's log (stdout and stderr) and its "serving" line (JSON, "" when none). */
async function proxyLogs(config: MeshImageScenario): Promise<{ logs: string; servingLog: string }> {
  const out = await new Deno.Command("podman", {
    args: [...config.podmanGlobal, "logs", config.container],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  const logs = d.decode(out.stdout) + d.decode(out.stderr);
  const servingLog = logs.split("\n").find((l) => /"msg":"serving"/.test(l)) ?? "";
  return { logs, servingLog };
}

if (import.meta.main) {
  const config = JSON.parse(await Deno.readTextFile(configPath!)) as MeshImageScenario;
  if (role === "pod") await pod(config);
  else await cluster(config);
}

/**
 * Transparent mode for real, in network namespaces of its own (run by
 * `transparent_netns_test.ts` as `unshare -n deno run -A netns_scenario.ts parent DIR`; needs
 * root). The parent namespace plays "the rest of the cluster"; it starts the pod's namespace
 * (`unshare -n … child DIR`), links the two with a veth pair (pod 10.200.0.1 and fd00:200::1,
 * cluster 10.200.0.2 and fd00:200::2), and probes the pod from outside, over IPv4 and IPv6. The pod runs applications on 8080 (declared,
 * mutual TLS), 8801 (ingress `true`: plain) and 7000 (undeclared), and the mesh proxy in
 * transparent mode with the real iptables rules. Prints the probe results as one JSON line.
 *
 * @module
 */
import "reflect-metadata";
import net from "node:net";
import tls from "node:tls";
import { Logger } from "../../util/log/logger.ts";
import { MeshProxy } from "../../meshproxy/proxy.ts";
import { ENV_SOURCES, parseMeshConfig } from "../../protocol/mesh_config.ts";

const [role, dir] = Deno.args;
/**
 * Limits for a broken run only: every connection here ends with an answer, a TLS alert, a
 * refusal or a reset (at once, measured), and the pod's processes start in a few seconds on
 * an idle machine; 3 s and 30 s were exceeded with several test suites running at once.
 */
const CONNECTION_LIMIT_MS = 30_000;
const STARTUP_LIMIT_MS = 120_000;

const POD = "10.200.0.1";
const POD6 = "fd00:200::1";

async function sh(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function child(): Promise<void> {
  // (sysfs still shows the parent's interfaces: ask `ip` instead.)
  while (!(await sh("ip", "link", "show", "vethA").then(() => true, () => false))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await sh("ip", "link", "set", "lo", "up");
  await sh("ip", "addr", "add", `${POD}/24`, "dev", "vethA");
  await sh("ip", "-6", "addr", "add", `${POD6}/64`, "dev", "vethA", "nodad");
  await sh("ip", "link", "set", "vethA", "up");
  for (const port of [8080, 8801, 7000]) {
    net.createServer((s) => {
      s.on("error", () => {});
      // `early…` keeps the connection open (a client that connected before the rules existed).
      s.on("data", (d) => {
        if (String(d).startsWith("early")) s.write(`app${port}:${d}`);
        else s.end(`app${port}:${d}`);
      });
    }).listen(port, "::"); // both families: only the rules keep plain clients out
  }
  // The app may listen before the sidecar has installed the rules (the kubelet starts the next
  // container once the sidecar's process runs; a hostile one whenever it likes): the cluster
  // connects in plain now and tries that connection again once the proxy is up.
  // Connection tracking already on in the namespace (anything using it turns it on): without it
  // the kernel picks the early connection up mid-stream as a new one once the proxy's rules need
  // it, redirects it and so cuts it; with it, the connection is ESTABLISHED.
  await sh("iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP");
  await sh("ip6tables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP");
  await Deno.writeTextFile(`${dir}/apps-up`, "");
  while (!(await Deno.stat(`${dir}/early-connected`).then(() => true, () => false))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const proxy = new MeshProxy({
    config: parseMeshConfig(
      { ingress: "metrics#8801#true", podPorts: "8080", admin: "9901" },
      ENV_SOURCES,
    ),
    tlsConfigDir: `${dir}/server`,
    transparent: true,
    logger: new Logger("netns-pod", { level: "warn" }),
  });
  await proxy.start();
  // The pod's own containers reach every admin endpoint over loopback.
  const fromPod = await fetch("http://127.0.0.1:9901/metrics");
  await fromPod.body?.cancel();
  await Deno.writeTextFile(`${dir}/pod-metrics-status`, String(fromPod.status));
  const rules = await new Deno.Command("iptables-save", { stdout: "piped" }).output();
  await Deno.writeTextFile(`${dir}/rules.txt`, new TextDecoder().decode(rules.stdout));
  // A restarted sidecar applies the rules again: nothing may be duplicated.
  const { applyTransparentRules } = await import("../../meshproxy/iptables.ts");
  await applyTransparentRules({
    ingressEnabled: true,
    redirects: [{ port: 8080, listenerPort: 15100 }],
    plainPorts: [8801],
    adminPort: 9901,
  });
  const again = await new Deno.Command("iptables-save", { stdout: "piped" }).output();
  await Deno.writeTextFile(`${dir}/rules-again.txt`, new TextDecoder().decode(again.stdout));
  await Deno.writeTextFile(`${dir}/ready`, "");
}

function plain(port: number, host = POD): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => s.write("hi"));
    let text = "";
    s.on("data", (d) => text += d);
    s.on("error", (e) => text += `<${(e as { code?: string }).code ?? e.message}>`);
    const timer = setTimeout(() => s.destroy(), CONNECTION_LIMIT_MS);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

function mesh(port: number, files: Record<string, string>, host = POD): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host,
      port,
      key: files.key,
      cert: files.cert,
      ca: files.ca,
      checkServerIdentity: () => undefined,
    }, () => s.write("hi"));
    let text = "";
    s.on("data", (d) => text += d);
    s.on("error", (e) => text += `<${(e as { code?: string }).code ?? e.message}>`);
    const timer = setTimeout(() => s.destroy(), CONNECTION_LIMIT_MS);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/** A plain connection kept open: `send` writes and returns what comes back (or the error). */
function earlyConnection(host: string): Promise<{ send(text: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: 8080 }, () => resolve({ send }));
    let pending: ((text: string) => void) | undefined;
    let ended = "";
    s.on("data", (d) => pending?.(String(d)));
    s.on("error", (e) => {
      ended = `<${(e as { code?: string }).code ?? e.message}>`;
      pending?.(ended);
      reject(e);
    });
    s.on("close", () => pending?.(ended || "<closed>"));
    function send(text: string): Promise<string> {
      if (ended) return Promise.resolve(ended);
      return new Promise((done) => {
        const timer = setTimeout(() => done("<timeout>"), CONNECTION_LIMIT_MS);
        pending = (reply) => {
          clearTimeout(timer);
          pending = undefined;
          done(reply);
        };
        s.write(text);
      });
    }
  });
}

/** The status of a GET (the body read and dropped). */
async function status(url: string): Promise<number> {
  const response = await fetch(url);
  await response.body?.cancel();
  return response.status;
}

async function parent(): Promise<void> {
  await sh("ip", "link", "set", "lo", "up");
  const pod = new Deno.Command("unshare", {
    args: ["-n", Deno.execPath(), "run", "-A", new URL(import.meta.url).pathname, "child", dir!],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  try {
    await sh("ip", "link", "add", "vethB", "type", "veth", "peer", "name", "vethA");
    await sh("ip", "link", "set", "vethA", "netns", String(pod.pid));
    await sh("ip", "addr", "add", "10.200.0.2/24", "dev", "vethB");
    await sh("ip", "-6", "addr", "add", "fd00:200::2/64", "dev", "vethB", "nodad");
    await sh("ip", "link", "set", "vethB", "up");
    const deadline = Date.now() + STARTUP_LIMIT_MS;
    const exists = (f: string) => Deno.stat(`${dir}/${f}`).then(() => true, () => false);
    while (!(await exists("apps-up"))) {
      if (Date.now() > deadline) throw new Error("the pod's applications did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
    const early = await Promise.all([earlyConnection(POD), earlyConnection(POD6)]);
    const earlyBefore = await Promise.all(early.map((e) => e.send("early1")));
    await Deno.writeTextFile(`${dir}/early-connected`, "");
    while (!(await exists("ready"))) {
      if (Date.now() > deadline) throw new Error("the pod namespace did not get ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    const read = (f: string) => Deno.readTextFileSync(`${dir}/client/${f}`);
    const client = { key: read("key.pem"), cert: read("certChain.pem"), ca: read("mesh-ca.pem") };
    const result = {
      meshTo8080: await mesh(8080, client),
      plainTo8080: await plain(8080),
      plainTo8801: await plain(8801),
      plainTo7000: await plain(7000),
      admin: await fetch(`http://${POD}:9901/ready`).then((r) => r.status),
      adminLive: await status(`http://${POD}:9901/live`),
      adminMetrics: await status(`http://${POD}:9901/metrics`),
      adminListeners: await status(`http://${POD}:9901/listeners`),
      adminMetricsV6: await status(`http://[${POD6}]:9901/metrics`),
      adminMetricsFromPod: Number(Deno.readTextFileSync(`${dir}/pod-metrics-status`)),
      meshTo8080v6: await mesh(8080, client, POD6),
      plainTo8080v6: await plain(8080, POD6),
      plainTo8801v6: await plain(8801, POD6),
      plainTo7000v6: await plain(7000, POD6),
      adminV6: await fetch(`http://[${POD6}]:9901/ready`).then((r) => r.status),
      earlyBefore,
      earlyAfter: await Promise.all(early.map((e) => e.send("early2"))),
      rules: Deno.readTextFileSync(`${dir}/rules.txt`),
      rulesAgain: Deno.readTextFileSync(`${dir}/rules-again.txt`),
    };
    console.log(JSON.stringify(result));
  } finally {
    pod.kill("SIGKILL");
    await pod.status;
  }
}

if (role === "child") await child();
else await parent();

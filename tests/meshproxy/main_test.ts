import assert from "node:assert/strict";
import process from "node:process";
import { meshProxyMain } from "../../meshproxy/main.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { freePort } from "../helpers/free_port.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { podDir } from "./helpers.ts";

Deno.test("meshproxy: --help exits 0, an unknown flag exits 2 (usage error)", async () => {
  const quiet = { out: process.stdout.write, err: process.stderr.write };
  // commander prints help and usage errors through process.stdout/stderr.
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  try {
    assert.equal(await meshProxyMain(["--help"]), 0);
    assert.equal(await meshProxyMain(["--no-such-flag"]), 2);
  } finally {
    process.stdout.write = quiet.out;
    process.stderr.write = quiet.err;
  }
});

Deno.test("meshproxy: a bad limit flag or CONTRAST_MESH_LIMITS exits 1 before anything listens", async () => {
  const quiet = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  const before = Deno.env.get("CONTRAST_MESH_LIMITS");
  const base = ["--no-transparent", "--tls-config-dir", "/nonexistent", "--log-level", "error"];
  try {
    assert.equal(await meshProxyMain([...base, "--max-connections", "0"]), 1);
    assert.equal(await meshProxyMain([...base, "--idle-timeout-seconds", "soon"]), 1);
    assert.equal(
      await meshProxyMain([...base, "--max-connections", "5", "--max-handshakes", "6"]),
      1,
    );
    assert.equal(await meshProxyMain([...base, "--on-handshake-limit", "drop"]), 2);
    Deno.env.set("CONTRAST_MESH_LIMITS", "maxConnections=ten");
    assert.equal(await meshProxyMain(base), 1);
    // A flag's key overrides the variable's, and the merged set is cross-checked.
    Deno.env.set("CONTRAST_MESH_LIMITS", "maxConnections=5");
    assert.equal(await meshProxyMain([...base, "--max-handshakes", "6"]), 1);
  } finally {
    if (before === undefined) Deno.env.delete("CONTRAST_MESH_LIMITS");
    else Deno.env.set("CONTRAST_MESH_LIMITS", before);
    process.stdout.write = quiet.out;
    process.stderr.write = quiet.err;
  }
});

/** The mesh variables `meshProxyMain` reads, restored after `fn`. */
const MESH_ENV = [
  "EDG_INGRESS_PROXY_CONFIG",
  "EDG_EGRESS_PROXY_CONFIG",
  "EDG_ADMIN_PORT",
  "CONTRAST_MESH_POD_PORTS",
  "CONTRAST_MESH_EGRESS_SANS",
] as const;

async function withMeshEnv<T>(
  values: Partial<Record<(typeof MESH_ENV)[number], string>>,
  fn: () => Promise<T>,
): Promise<T> {
  const before = new Map(MESH_ENV.map((k) => [k, Deno.env.get(k)]));
  for (const k of MESH_ENV) {
    const v = values[k];
    if (v === undefined) Deno.env.delete(k);
    else Deno.env.set(k, v);
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of before) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
}

/** Runs the proxy with `args`; returns its exit code and the errors it logged (JSON lines). */
async function runLogged(args: string[]): Promise<{ code: number; logged: string }> {
  const lines: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const code = await meshProxyMain([...args, "--log-format", "json"]);
    const errors = lines.map((l) => JSON.parse(l)).map((l) => `${l.msg}: ${l.error ?? ""}`);
    return { code, logged: errors.join("\n") };
  } finally {
    console.error = error;
  }
}

Deno.test("meshproxy: an egress port that collides with a plain, admin or listener port, or malformed egress SANs, exit 1 naming the variable or flag, before anything listens", async () => {
  const base = [
    "--no-transparent",
    "--tls-config-dir",
    "/nonexistent",
    "--credentials-wait-seconds",
    "0.01",
  ];
  const cases: {
    env: Partial<Record<(typeof MESH_ENV)[number], string>>;
    args?: string[];
    logged: RegExp;
  }[] = [
    {
      env: {
        EDG_INGRESS_PROXY_CONFIG: "metrics#8801#true",
        EDG_EGRESS_PROXY_CONFIG: "m#127.0.0.2:8801#m:80",
      },
      logged:
        /EDG_EGRESS_PROXY_CONFIG entry 1 "m#127\.0\.0\.2:8801#m:80": listen port 8801 is also ingress entry "metrics" of EDG_INGRESS_PROXY_CONFIG/,
    },
    {
      env: { EDG_EGRESS_PROXY_CONFIG: "m#127.0.0.2:15100#m:80" },
      logged: /EDG_EGRESS_PROXY_CONFIG entry 1 .*lies in the proxy's reserved range/,
    },
    {
      env: { EDG_EGRESS_PROXY_CONFIG: "m#127.0.0.2:9901#m:80", EDG_ADMIN_PORT: "9901" },
      logged: /EDG_ADMIN_PORT: port 9901 is also the listen port of egress entry "m"/,
    },
    {
      env: { EDG_EGRESS_PROXY_CONFIG: "a#127.0.0.2:80#b:1##c#127.0.0.2:80#d:1" },
      logged: /EDG_EGRESS_PROXY_CONFIG entry 2 .*already has entry "a"/,
    },
    // --admin-port replaces EDG_ADMIN_PORT and is cross-checked as it (before, it was not).
    {
      env: { EDG_EGRESS_PROXY_CONFIG: "m#127.0.0.2:8081#m:80", EDG_ADMIN_PORT: "9901" },
      args: ["--admin-port", "8081"],
      logged: /--admin-port: port 8081 is also the listen port of egress entry "m"/,
    },
    // The egress SANs generate writes: malformed, or naming no egress entry.
    {
      env: {
        EDG_EGRESS_PROXY_CONFIG: "db#127.0.0.2:5432#db:5432",
        CONTRAST_MESH_EGRESS_SANS: "db#db..web",
      },
      logged: /CONTRAST_MESH_EGRESS_SANS entry 1 "db#db\.\.web": SAN "db\.\.web" is no DNS name/,
    },
    {
      env: {
        EDG_EGRESS_PROXY_CONFIG: "db#127.0.0.2:5432#db:5432",
        CONTRAST_MESH_EGRESS_SANS: "web#web.shop.svc.cluster.local",
      },
      logged:
        /CONTRAST_MESH_EGRESS_SANS: entry "web" names no egress entry of EDG_EGRESS_PROXY_CONFIG/,
    },
    {
      env: { EDG_INGRESS_PROXY_CONFIG: "metrics#8801#true" },
      args: ["--admin-port", "8801"],
      logged: /--admin-port: port 8801 is also ingress entry "metrics" of EDG_INGRESS_PROXY_CONFIG/,
    },
  ];
  for (const c of cases) {
    const r = await withMeshEnv(c.env, () => runLogged([...base, ...(c.args ?? [])]));
    assert.equal(r.code, 1, r.logged);
    assert.match(r.logged, c.logged);
    // Refused while parsing: nothing waited for credentials.
    assert.doesNotMatch(r.logged, /credentials/);
  }
});

Deno.test("meshproxy: a config whose egress ports reach nothing from outside starts and stops with exit 0", async () => {
  await withTempDir(async (root) => {
    const dir = await podDir(root, "web", await issuePod(await meshAuthority(), ["web"]));
    const shared = freePort();
    const plain = freePort();
    let stop = () => {};
    const stopped = new Promise<void>((resolve) => stop = resolve);
    let listeners: readonly { direction: string; listen: string }[] = [];
    const code = await withMeshEnv({
      EDG_INGRESS_PROXY_CONFIG: `metrics#${plain}#true`,
      // Two entries share a port on two addresses; one is a terminated pod port.
      EDG_EGRESS_PROXY_CONFIG: `a#127.0.0.2:${shared}#a:80##b#127.0.0.3:${shared}#b:80`,
      CONTRAST_MESH_POD_PORTS: `${shared},${plain}`,
    }, () =>
      meshProxyMain([
        "--no-transparent",
        "--tls-config-dir",
        dir,
        "--inbound-host",
        "127.0.0.1",
        "--inbound-port-base",
        "0",
        "--admin-host",
        "127.0.0.1",
        "--admin-port",
        "0",
        "--log-level",
        "error",
      ], {
        onReady: (proxy) => {
          listeners = proxy.listeners();
          stop();
        },
        stop: stopped,
      }));
    assert.equal(code, 0);
    assert.deepEqual(
      listeners.filter((l) => l.direction === "egress").map((l) => l.listen).sort(),
      [`127.0.0.2:${shared}`, `127.0.0.3:${shared}`],
    );
  });
});

Deno.test("meshproxy: an --inbound-port-base the transparent rules cannot honour exits 1 naming the flag, before any rule or listener", async () => {
  const cases: { args: string[]; logged: RegExp }[] = [
    {
      args: ["--inbound-port-base", "8079"],
      logged: /--inbound-port-base.*ports 8079–8080 include the pod port 8080/,
    },
    { args: ["--inbound-port-base", "0"], logged: /cannot be used in transparent mode/ },
    { args: ["--inbound-port-base", "abc"], logged: /--inbound-port-base: port "abc"/ },
  ];
  for (const c of cases) {
    const r = await withMeshEnv(
      { CONTRAST_MESH_POD_PORTS: "8080,9000" },
      () =>
        runLogged([
          "--tls-config-dir",
          "/nonexistent",
          "--credentials-wait-seconds",
          "0.01",
          ...c.args,
        ]),
    );
    assert.equal(r.code, 1, r.logged);
    assert.match(r.logged, c.logged);
    assert.doesNotMatch(r.logged, /iptables|credentials/);
  }
});

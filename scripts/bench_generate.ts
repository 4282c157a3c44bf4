/**
 * Benchmark of `contrast generate` for 1,000 pods with cached images (goals: under 3 s, and at most
 * 1.0 ms of CPU time per pod).
 *
 * Starts a local docker-registry (testing/registry/registry.ts), pushes three images, resolves them
 * once to fill an on-disk cache, then measures generation of 1,000 Deployments resolved offline
 * from that cache, two ways:
 *
 * - **The real command** (the goal line): `contrast generate` run as `deno task contrast` runs it
 *   (the task's `deno run` flags from deno.json), as a fresh process on a 1,000-pod YAML file,
 *   writing the YAML, keys and manifest.json: its CPU time (user + system, every thread, as the
 *   kernel accounts the child; read with bash's `time`) covers process start, module loading,
 *   reading, generating and writing. Several runs, after one untimed run that creates the
 *   workspace's owner keys (as a user's first generate does once); the median is the figure.
 * - **In process** (for attribution): `generate()` on the parsed text in this process after a
 *   warm-up, this process's CPU time during the call (no process start, module loading, file
 *   reading or writing).
 *
 * With `--against DIR` (another checkout, e.g. a `git worktree` of the previous commit) the real
 * command of both trees runs alternately, and the ratio of the medians is printed.
 *
 * Usage: deno run -A scripts/bench_generate.ts [pods] [--runs N] [--against DIR]
 *
 * @module
 */
import process from "node:process";
import { parseYamlFile } from "../deploy/documents.ts";
import { generate } from "../deploy/generate.ts";
import { createImageResolver } from "../oci/resolver.ts";
import { ephemeralImageCacheKey } from "../oci/cache_key.ts";
import { loadDefaultSettings } from "../policy/settings.ts";
import { pushTestImage, startRegistry } from "../testing/registry/registry.ts";
import { benchDeployment } from "../testing/bench_workload.ts";
import { exitOnBadOptions } from "../bench/script_options.ts";

if (import.meta.main) {
  exitOnBadOptions(Deno.args, {
    usage: "deno run -A scripts/bench_generate.ts [pods, default 1000] [options]",
    positionals: 1,
    options: [
      { name: "--runs", value: "number", default: "3", help: "timed runs of the real command" },
      { name: "--against", value: "string", help: "also run the checkout in DIR, alternately" },
    ],
  });
}

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const positional = Deno.args.filter((a, i) =>
  !a.startsWith("--") && !/^--/.test(Deno.args[i - 1] ?? "")
);
const PODS = Number(positional[0] ?? 1000);
const flag = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const RUNS = Number(flag("--runs") ?? 3);
const AGAINST = flag("--against")?.replace(/\/$/, "");

/** `deno run` flags of the `contrast` task (deno.json), so the real command is what users run. */
function contrastTaskArgs(root: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)).tasks as Record<
    string,
    string
  >;
  const words = tasks.contrast!.split(/\s+/);
  if (words[0] !== "deno" || words.at(-1) !== "cli/main.ts") {
    throw new Error(`unexpected contrast task in ${root}/deno.json: ${tasks.contrast}`);
  }
  return [...words.slice(1, -1), "--quiet", `${root}/cli/main.ts`];
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const registry = await startRegistry();
const tmp = await Deno.makeTempDir({ prefix: "contrast-bench-" });
try {
  const layer = { files: { "etc/passwd": "root:x:0:0::/:/bin/sh\n", "etc/group": "root:x:0:\n" } };
  await pushTestImage(registry, "bench/app", "1", { layers: [layer], entrypoint: ["/app"] });
  await pushTestImage(registry, "bench/initializer", "1", {
    layers: [layer],
    entrypoint: ["/init"],
  });
  await pushTestImage(registry, "bench/mesh", "1", { layers: [layer], entrypoint: ["/mesh"] });
  const d = await loadDefaultSettings();
  const settings = {
    ...d,
    initializer: { ...d.initializer, image: `${registry.host}/bench/initializer:1` },
    service_mesh: { ...d.service_mesh, image: `${registry.host}/bench/mesh:1` },
  };
  const cacheDir = `${tmp}/cache`;
  const cacheKey = ephemeralImageCacheKey();
  const options = (offline: boolean) => ({
    settings,
    resolver: createImageResolver({
      cacheDir,
      cacheKey,
      insecureRegistries: [registry.host],
      offline,
      progress: false,
    }),
    rules: Deno.readTextFileSync(new URL("../rego/rules.rego", import.meta.url)),
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [],
    seedshareOwnerKeys: [],
  });
  const yaml = (n: number) =>
    Array.from({ length: n }, (_, i) => benchDeployment(i, `${registry.host}/bench/app:1`)).join(
      "---\n",
    );
  // Warm the cache (online), then measure offline runs.
  await generate([parseYamlFile("warm.yml", yaml(1))], options(false));

  // The real command, as fresh processes.
  await Deno.mkdir(`${tmp}/in`);
  const input = `${tmp}/in/app.yml`;
  await Deno.writeTextFile(input, yaml(PODS));
  await Deno.writeTextFile(`${tmp}/settings.json`, JSON.stringify(settings));
  /**
   * CPU ms per pod of one real run; its wall time goes to `walls` (seconds). Each tree has its own
   * workspace and image cache (cached account files carry a MAC under the workspace's key); the
   * untimed first run (`online`) fills that cache, the timed ones are offline.
   */
  const realRun = async (root: string, walls: number[], online = false): Promise<number> => {
    const ws = `${tmp}/ws-${root === ROOT ? "this" : "against"}`;
    const out = `${tmp}/out`;
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.remove(`${ws}/manifest.json`).catch(() => {});
    const args = [
      ...contrastTaskArgs(root),
      "generate",
      "--reference-values",
      "Simulated-SNP",
      "--simulated-root",
      "ab".repeat(32),
      "--trusted-measurement",
      "cd".repeat(48),
      "-s",
      `${tmp}/settings.json`,
      "-w",
      ws,
      "--image-cache",
      `${ws}-cache`,
      ...(online ? ["--insecure-registry", registry.host] : ["--offline"]),
      "-o",
      out,
      "--log-level",
      "error",
      input,
    ];
    // bash's `time` reports the child's rusage: user and system CPU of all its threads.
    const started = performance.now();
    const r = await new Deno.Command("bash", {
      args: ["-c", 'TIMEFORMAT="%3U %3S"; time "$@" >/dev/null', "bash", Deno.execPath(), ...args],
      cwd: tmp,
      stdout: "piped",
      stderr: "piped",
    }).output();
    walls.push((performance.now() - started) / 1000);
    const stderr = new TextDecoder().decode(r.stderr).trim();
    if (!r.success) throw new Error(`contrast generate (${root}) failed:\n${stderr}`);
    // Fail loudly when the run did not generate what is measured: every pod, written.
    const manifest = JSON.parse(await Deno.readTextFile(`${ws}/manifest.json`));
    const policies = Object.keys(manifest.Policies).length;
    if (policies !== PODS) throw new Error(`${root}: ${policies} policies, expected ${PODS}`);
    if ((await Deno.stat(`${out}/app.yml`)).size < PODS * 1000) {
      throw new Error(`${root}: ${out}/app.yml is too small`);
    }
    const [user, system] = stderr.split("\n").at(-1)!.split(" ").map(Number);
    if (!Number.isFinite(user) || !Number.isFinite(system)) {
      throw new Error(`cannot read the CPU time of the run: ${stderr}`);
    }
    return (user! + system!) * 1000 / PODS;
  };
  const perPod: number[] = [];
  const againstPerPod: number[] = [];
  const walls: number[] = [];
  const againstWalls: number[] = [];
  const loads: number[] = [];
  // One untimed run per tree first, online: it creates the workspace's owner keys (a fresh
  // workspace's first generate makes an RSA key, 1.5-2 s of CPU once) and image-cache key and
  // fills its cache, as after a user's first generate.
  await realRun(ROOT, [], true);
  if (AGAINST) await realRun(AGAINST, [], true);
  for (let i = 0; i < RUNS; i++) {
    loads.push(Deno.loadavg()[0]!);
    perPod.push(await realRun(ROOT, walls));
    if (AGAINST) againstPerPod.push(await realRun(AGAINST, againstWalls));
  }
  const show = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(", ");

  // In process, for attribution.
  const cpuMs = new Map<number, number>();
  const run = async (n: number) => {
    const text = yaml(n);
    const start = performance.now();
    const cpu = process.cpuUsage();
    const result = await generate([parseYamlFile("bench.yml", text)], options(true));
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    if (result.policies.length !== n) throw new Error("wrong policy count");
    cpuMs.set(n, (used.user + used.system) / 1000);
    return ms;
  };
  const small = await run(Math.max(1, Math.round(PODS / 10)));
  const full = await run(PODS);
  console.log(
    `generate (in process): ${Math.round(PODS / 10)} pods in ${(small / 1000).toFixed(2)} s`,
  );
  console.log(
    `generate (in process): ${PODS} pods in ${(full / 1000).toFixed(2)} s (${
      (full / PODS).toFixed(2)
    } ms/pod; ${(full / small).toFixed(1)}x the ${Math.round(PODS / 10)}-pod run); goal < 3 s: ${
      full < 3000 ? "met" : "NOT met"
    }`,
  );
  console.log(
    `generate (in process, no start/load/read/write) CPU per pod: ${
      ((cpuMs.get(PODS) ?? 0) / PODS).toFixed(2)
    } ms (load average ${Deno.loadavg()[0]!.toFixed(1)})`,
  );
  const cpuPerPod = median(perPod);
  console.log(
    `contrast generate (real command, fresh process, ${PODS} pods) CPU per pod: runs ${
      show(perPod)
    } ms (load average ${show(loads).replaceAll(".00", ".0")})`,
  );
  console.log(
    `contrast generate (real command, ${PODS} pods) wall time: runs ${show(walls)} s ` +
      `(includes waiting for a loaded machine)${
        AGAINST ? `; ${AGAINST}: ${show(againstWalls)} s` : ""
      }`,
  );
  if (AGAINST) {
    const base = median(againstPerPod);
    console.log(
      `contrast generate of ${AGAINST}, alternating: runs ${show(againstPerPod)} ms; ` +
        `CPU ratio (this / that, medians): ${(cpuPerPod / base).toFixed(3)}`,
    );
  }
  console.log(
    `generate CPU per pod: ${cpuPerPod.toFixed(2)} ms (real command, median of ${RUNS}; ` +
      `goal ≤ 1.0 ms: ${cpuPerPod <= 1 ? "met" : "NOT met"})`,
  );
} finally {
  await registry.stop();
  await Deno.remove(tmp, { recursive: true });
}

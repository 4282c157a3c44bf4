/**
 * Benchmark of `contrast generate` for 1,000 pods with cached images (goals: under 3 s, and at most
 * 1.0 ms of CPU time per pod, the process's CPU time during the run).
 *
 * Starts a local docker-registry (testing/registry/registry.ts), pushes three images, resolves them
 * once to fill an on-disk cache, then times generation of 1,000 Deployments resolved offline from
 * that cache. Also reports a 100-pod run from the same process so the scaling is visible.
 *
 * Usage: deno run -A scripts/bench_generate.ts [pods]
 *
 * @module
 */
import process from "node:process";
import { parseYamlFile } from "../deploy/documents.ts";
import { generate } from "../deploy/generate.ts";
import { createImageResolver } from "../oci/resolver.ts";
import { loadDefaultSettings } from "../policy/settings.ts";
import { pushTestImage, startRegistry } from "../testing/registry/registry.ts";
import { benchDeployment } from "../testing/bench_workload.ts";

const PODS = Number(Deno.args[0] ?? 1000);

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
  const options = (offline: boolean) => ({
    settings,
    resolver: createImageResolver({
      cacheDir: `${tmp}/cache`,
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
  console.log(`generate: ${Math.round(PODS / 10)} pods in ${(small / 1000).toFixed(2)} s`);
  console.log(
    `generate: ${PODS} pods in ${(full / 1000).toFixed(2)} s (${
      (full / PODS).toFixed(2)
    } ms/pod; ` +
      `${(full / small).toFixed(1)}x the ${Math.round(PODS / 10)}-pod run); goal < 3 s: ${
        full < 3000 ? "met" : "NOT met"
      }`,
  );
  const cpuPerPod = (cpuMs.get(PODS) ?? 0) / PODS;
  console.log(
    `CPU time of the ${PODS}-pod run: ${((cpuMs.get(PODS) ?? 0) / 1000).toFixed(2)} s ` +
      `(wall time above includes waiting for a loaded machine; load average ${
        Deno.loadavg()[0]!.toFixed(1)
      })`,
  );
  console.log(
    `generate CPU per pod: ${cpuPerPod.toFixed(2)} ms (goal ≤ 1.0 ms: ${
      cpuPerPod <= 1 ? "met" : "NOT met"
    })`,
  );
} finally {
  await registry.stop();
  await Deno.remove(tmp, { recursive: true });
}

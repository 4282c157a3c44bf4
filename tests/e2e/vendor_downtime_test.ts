/**
 * AMD KDS down (Contrast's `kds-pcs-downtime` e2e): the simulated chips' reports come without
 * their certificate table, so the Coordinator, the initializer and the CLI fetch VCEK, chain and
 * CRL from a local KDS stand-in serving the simulated authority, through the real caching
 * fetcher. With the caches warm, `set`, `verify`, `recover` (after a Coordinator restart) and
 * an initializer succeed while the stand-in answers 503 or refuses connections, without asking
 * it; an offline bundle exported from a cache serves empty caches (the CLI, a restarted
 * Coordinator, a new pod's initializer); with nothing cached each fails naming the unreachable URL
 * (CLI exit 3) and nothing stored is lost.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { SimulatedSnpAuthority } from "../../testing/snp/authority.ts";
import { startKdsStandIn } from "../../testing/snp/kds_stand_in.ts";
import { runInitializerScript } from "../../testing/simulation/processes.ts";
import { workspaceVm } from "../../testing/simulation/workspace.ts";
import { createWorkspace, runCli } from "./harness.ts";
import { DowntimeScene } from "./vendor_downtime_scene.ts";
import { escapeRegex } from "../../policy/regex.ts";

const WITHOUT_CERTS = "--simulated-without-certificates";

Deno.test({
  name:
    "KDS down: set, verify, recover and initializers run from caches and bundles, or fail clearly",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const kds = await startKdsStandIn(await SimulatedSnpAuthority.load(ws.authorityDir));
    const kdsAddress = kds.base.replace("http://", "");
    /** The KDS URL of the stand-in (VCEK path), as error messages name it. */
    const kdsUrl = new RegExp(escapeRegex(`http://${kdsAddress}/vcek/v1/`));
    const coordinatorCache = `${ws.dir}/coordinator-collateral`;
    const coordinatorArgs = [
      "--kds-url",
      kds.base,
      "--collateral-cache",
      coordinatorCache,
      WITHOUT_CERTS,
    ];
    const initializer = (
      pod: keyof typeof ws.deployment.pods,
      out: string,
      cache: string,
      options: { deadlineSeconds?: number; bundle?: string } = {},
    ) =>
      runInitializerScript({
        coordinator: scene.coordinator.meshAddress,
        outDir: `${ws.dir}/${out}`,
        vm: workspaceVm(ws, ws.deployment.pods[pod].digest),
        deadlineSeconds: options.deadlineSeconds ?? 30,
        coordinatorTrust: ws.deployment.coordinatorTrust(),
        extraArgs: [WITHOUT_CERTS],
        env: {
          CONTRAST_KDS_URL: kds.base,
          CONTRAST_COLLATERAL_CACHE: cache,
          ...(options.bundle ? { CONTRAST_COLLATERAL_DIR: options.bundle } : {}),
        },
      }, ws.dir);
    const scene = await DowntimeScene.start(ws, ["--kds-url", kds.base], coordinatorArgs);
    const cli = scene.cli;
    try {
      await t.step(
        "the evidence carries no certificates: without KDS it cannot verify",
        async () => {
          const r = await runCli(ws, ["verify", "-c", scene.coordinator.userAddress]);
          assert.equal(r.code, 3, r.stderr);
          assert.match(r.stderr, /vcek.*no VCEK given .* no AMD KDS access configured/);
        },
      );

      await t.step(
        "with the stand-in up, set, an initializer and verify warm the caches",
        async () => {
          const set = await cli(["set", "-c", scene.coordinator.userAddress, ws.yamlPath]);
          assert.equal(set.code, 0, set.stderr);
          const pod = await initializer("web", "pod-web", `${ws.dir}/init-cache`);
          assert.equal(pod.code, 0, pod.stderr);
          const verify = await cli(["verify", "-c", scene.coordinator.userAddress]);
          assert.equal(verify.code, 0, verify.stderr);
          const asked = new Set(kds.requests.map((r) => r.replace(/\?.*/, "").split("/").pop()));
          assert.ok(asked.has("cert_chain") && asked.has("crl"), [...asked].join(", "));
          assert.ok(kds.requests.some((r) => r.includes("ucodeSPL=")), "a VCEK was fetched");
        },
      );

      await t.step("KDS answers 503: verify, set, restart + recover, initializer", async () => {
        kds.mode = "unavailable";
        const before = kds.requests.length;
        await scene.verifySetRestartRecover(coordinatorArgs);
        // The restarted Coordinator verifies the pod from its disk cache, the pod it from its own.
        const pod = await initializer("db", "pod-db", `${ws.dir}/init-cache`);
        assert.equal(pod.code, 0, pod.stderr);
        assert.equal(kds.requests.length, before, kds.requests.slice(before).join("\n"));
      });

      await t.step("an offline bundle exported from a cache serves an empty cache", async () => {
        const bundle = await scene.exportBundle();
        const r = await cli(
          ["verify", "-c", scene.coordinator.userAddress, "--collateral-dir", bundle],
          `${ws.dir}/empty-1`,
        );
        assert.equal(r.code, 0, r.stderr);
      });

      await t.step("with empty caches, KDS at 503: each fails naming the URL", async () => {
        // KDS overloaded asks to come back in an hour: clients give up at once instead of waiting.
        kds.retryAfterSeconds = 3600;
        await scene.emptyCachesFailNaming(kdsUrl);
      });

      await t.step(
        "KDS refuses connections: warm caches serve, empty ones fail clearly",
        async () => {
          await kds.close();
          await scene.warmVerifiesColdFailsNaming(kdsUrl);
          const pod = await initializer("web", "pod-web-2", `${ws.dir}/init-cache`);
          assert.equal(pod.code, 0, pod.stderr);
        },
      );

      await t.step(
        "KDS refusing, an offline bundle serves a restarted Coordinator and a fresh pod",
        async () => {
          // Empty caches on both sides, as a rescheduled Coordinator and a new pod have them.
          await scene.restartAndRecover([
            ...coordinatorArgs.slice(0, 2),
            "--collateral-cache",
            `${ws.dir}/coordinator-bundled`,
            "--collateral-dir",
            `${ws.dir}/bundle`,
            WITHOUT_CERTS,
          ]);
          const pod = await initializer("db", "pod-bundled", `${ws.dir}/init-cache-fresh`, {
            bundle: `${ws.dir}/bundle`,
          });
          assert.equal(pod.code, 0, pod.stderr);
          // Without the bundle the same fresh pod cannot verify the Coordinator, and says why.
          const bare = await initializer("db", "pod-bare", `${ws.dir}/init-cache-bare`, {
            deadlineSeconds: 8,
          });
          assert.notEqual(bare.code, 0);
          assert.ok(bare.stderr.includes(kdsAddress), bare.stderr);
        },
      );

      await t.step(
        "a Coordinator with an empty cache cannot attest a pod, and says why",
        async () => {
          await scene.restartAndRecover([
            ...coordinatorArgs.slice(0, 2),
            "--collateral-cache",
            `${ws.dir}/coordinator-empty`,
            WITHOUT_CERTS,
          ]);
          const pod = await runInitializerScript({
            coordinator: scene.coordinator.meshAddress,
            outDir: `${ws.dir}/pod-cold`,
            vm: workspaceVm(ws, ws.deployment.pods.web.digest),
            deadlineSeconds: 8,
            coordinatorTrust: ws.deployment.coordinatorTrust(),
            extraArgs: [WITHOUT_CERTS],
            env: { CONTRAST_KDS_URL: kds.base, CONTRAST_COLLATERAL_CACHE: `${ws.dir}/init-cache` },
          }, ws.dir);
          assert.notEqual(pod.code, 0);
          assert.ok(pod.stderr.includes(kdsAddress), pod.stderr);
        },
      );
    } finally {
      await scene.coordinator.stop();
      await kds.close().catch(() => {});
      await ws.cleanup();
    }
  },
});

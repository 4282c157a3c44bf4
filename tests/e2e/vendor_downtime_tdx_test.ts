/**
 * Intel PCS down (Contrast's `kds-pcs-downtime` e2e, TDX half): every pod of the deployment runs
 * on simulated TDX, and the Coordinator, the initializer and the CLI get TCB info, QE identity,
 * PCK CRL and root CA CRL from a local PCS stand-in serving the simulated authority's collateral
 * (PCS v4 paths and issuer-chain headers), through the real caching PCS client. With the caches
 * warm, `set`, `verify`, `recover` (after a Coordinator restart) and an initializer succeed while
 * the stand-in answers 503 or refuses connections, without asking it; an offline bundle exported
 * from a cache serves empty caches (the CLI, a restarted Coordinator, a new pod's initializer);
 * with nothing cached each fails naming the unreachable URL (CLI exit 3) and nothing stored is
 * lost.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { startPcsStandIn } from "../../testing/tdx/pcs_stand_in.ts";
import { runInitializerScript } from "../../testing/simulation/processes.ts";
import { workspaceVm } from "../../testing/simulation/workspace.ts";
import { createWorkspace, runCli } from "./harness.ts";
import { DowntimeScene } from "./vendor_downtime_scene.ts";

/** A PCS URL of the stand-in at `address`, as error messages name it. */
const pcsUrlAt = (address: string) =>
  new RegExp(`http://${address.replace(/\./g, "\\.")}/(tdx|sgx)/certification/v4/`);

Deno.test({
  name:
    "PCS down: set, verify, recover and initializers on TDX run from caches and bundles, or fail clearly",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace("tdx");
    const pcs = await startPcsStandIn(ws.deployment.tdxAuthority!);
    const pcsAddress = pcs.base.replace("http://", "");
    const coordinatorArgs = (cache: string) => [
      "--pcs-url",
      pcs.base,
      "--collateral-cache",
      `${ws.dir}/${cache}`,
    ];
    const initializer = (
      pod: keyof typeof ws.deployment.pods,
      out: string,
      deadlineSeconds = 30,
      env: Record<string, string> = { CONTRAST_COLLATERAL_CACHE: `${ws.dir}/init-cache` },
    ) =>
      runInitializerScript({
        coordinator: scene.coordinator.meshAddress,
        outDir: `${ws.dir}/${out}`,
        vm: workspaceVm(ws, ws.deployment.pods[pod].digest),
        deadlineSeconds,
        coordinatorTrust: ws.deployment.coordinatorTrust(),
        env: { CONTRAST_PCS_URL: pcs.base, ...env },
      }, ws.dir);
    const scene = await DowntimeScene.start(
      ws,
      ["--pcs-url", pcs.base],
      coordinatorArgs("coordinator-collateral"),
    );
    const cli = scene.cli;
    try {
      await t.step("without a PCS the simulated quote cannot be verified", async () => {
        const r = await runCli(ws, ["verify", "-c", scene.coordinator.userAddress]);
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /no TDX collateral source is configured/);
        assert.equal(pcs.requests.length, 0);
      });

      await t.step(
        "with the stand-in up, set, an initializer and verify warm the caches",
        async () => {
          const set = await cli(["set", "-c", scene.coordinator.userAddress, ws.yamlPath]);
          assert.equal(set.code, 0, set.stderr);
          const pod = await initializer("web", "pod-web");
          assert.equal(pod.code, 0, pod.stderr);
          const verify = await cli(["verify", "-c", scene.coordinator.userAddress]);
          assert.equal(verify.code, 0, verify.stderr);
          const asked = new Set(pcs.requests.map((r) => r.replace(/\?.*/, "")));
          assert.deepEqual([...asked].sort(), [
            "/sgx/certification/v4/pckcrl",
            "/sgx/certification/v4/rootcacrl",
            "/tdx/certification/v4/qe/identity",
            "/tdx/certification/v4/tcb",
          ]);
          const fmspc = ws.deployment.tdxAuthority!.platform.fmspc;
          const hex = Array.from(fmspc, (b) => b.toString(16).padStart(2, "0")).join("");
          assert.ok(pcs.requests.includes(`/tdx/certification/v4/tcb?fmspc=${hex.toUpperCase()}`));
          assert.ok(pcs.requests.includes("/sgx/certification/v4/pckcrl?ca=platform&encoding=der"));
        },
      );

      await t.step("PCS answers 503: verify, set, restart + recover, initializer", async () => {
        pcs.mode = "unavailable";
        const before = pcs.requests.length;
        await scene.verifySetRestartRecover(coordinatorArgs("coordinator-collateral"));
        // The restarted Coordinator verifies the pod from its disk cache, the pod it from its own.
        const pod = await initializer("db", "pod-db");
        assert.equal(pod.code, 0, pod.stderr);
        assert.equal(pcs.requests.length, before, pcs.requests.slice(before).join("\n"));
      });

      await t.step("an offline bundle exported from a cache serves an empty cache", async () => {
        const bundle = await scene.exportBundle();
        const before = pcs.requests.length;
        const r = await cli(
          ["verify", "-c", scene.coordinator.userAddress, "--collateral-dir", bundle],
          `${ws.dir}/empty-1`,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(pcs.requests.length, before);
      });

      await t.step("with empty caches, PCS at 503: each fails naming the URL", async () => {
        // PCS overloaded asks to come back in an hour: clients give up at once instead of waiting.
        pcs.retryAfterSeconds = 3600;
        await scene.emptyCachesFailNaming(pcsUrlAt(pcsAddress));
      });

      await t.step(
        "PCS refuses connections: warm caches serve, empty ones fail clearly",
        async () => {
          await pcs.close();
          await scene.warmVerifiesColdFailsNaming(pcsUrlAt(pcsAddress));
          const pod = await initializer("web", "pod-web-2");
          assert.equal(pod.code, 0, pod.stderr);
        },
      );

      await t.step(
        "PCS refusing, an offline bundle serves a restarted Coordinator and a fresh pod",
        async () => {
          // Empty caches on both sides, as a rescheduled Coordinator and a new pod have them.
          await scene.restartAndRecover([
            ...coordinatorArgs("coordinator-bundled"),
            "--collateral-dir",
            `${ws.dir}/bundle`,
          ]);
          const pod = await initializer("db", "pod-bundled", 30, {
            CONTRAST_COLLATERAL_CACHE: `${ws.dir}/init-cache-fresh`,
            CONTRAST_COLLATERAL_DIR: `${ws.dir}/bundle`,
          });
          assert.equal(pod.code, 0, pod.stderr);
          // Without the bundle the same fresh pod cannot verify the Coordinator, and says why.
          const bare = await initializer("db", "pod-bare", 8, {
            CONTRAST_COLLATERAL_CACHE: `${ws.dir}/init-cache-bare`,
          });
          assert.notEqual(bare.code, 0);
          assert.ok(bare.stderr.includes(pcsAddress), bare.stderr);
        },
      );

      await t.step(
        "a Coordinator with an empty cache cannot attest a pod, and says why",
        async () => {
          await scene.restartAndRecover(coordinatorArgs("coordinator-empty"));
          const pod = await initializer("web", "pod-cold", 8);
          assert.notEqual(pod.code, 0);
          assert.ok(pod.stderr.includes(pcsAddress), pod.stderr);
        },
      );
    } finally {
      await scene.coordinator.stop();
      await pcs.close();
      await ws.cleanup();
    }
  },
});

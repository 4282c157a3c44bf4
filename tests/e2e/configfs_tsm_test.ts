import "reflect-metadata";
import assert from "node:assert/strict";
import { TsmEmulator } from "../../testing/tsm_emulator.ts";
import { simulatedSnpTsmProvider } from "../../testing/snp/tsm_provider.ts";
import { MEASUREMENT } from "../coordinator/fixture.ts";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";

Deno.test({
  name:
    "Coordinator and initializer get their evidence through configfs-tsm (emulated guest interface)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const d = ws.deployment;
    const measurement = await MEASUREMENT;
    const emulators = [
      new TsmEmulator({
        root: `${ws.dir}/tsm-coordinator`,
        provider: simulatedSnpTsmProvider(d.authority, {
          hostData: d.coordinator.digest,
          measurement,
        }),
      }),
      new TsmEmulator({
        root: `${ws.dir}/tsm-web`,
        provider: simulatedSnpTsmProvider(d.authority, {
          hostData: d.pods.web.digest,
          measurement,
        }),
      }),
    ];
    for (const e of emulators) await e.start();
    const coordinator = await startCoordinator(ws, undefined, [
      "--evidence",
      "configfs-tsm",
      "--configfs-tsm-dir",
      `${ws.dir}/tsm-coordinator`,
    ]);
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      const pod = await runInitializerProcess(
        ws,
        coordinator,
        d.pods.web.digest,
        `${ws.dir}/web`,
        30,
        [
          "--evidence",
          "configfs-tsm",
          "--configfs-tsm-dir",
          `${ws.dir}/tsm-web`,
        ],
      );
      assert.equal(pod.code, 0, pod.stderr);
      assert.ok((await Deno.stat(`${ws.dir}/web/secrets/workload-secret-seed`)).isFile);
      assert.ok(coordinator.logs.some((l) => l.includes("configfs-tsm (sev_guest")));
    } finally {
      await coordinator.stop();
      for (const e of emulators) await e.stop();
      await ws.cleanup();
    }
  },
});

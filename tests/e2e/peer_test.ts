import "reflect-metadata";
import assert from "node:assert/strict";
import { createWorkspace, runCli, startCoordinator } from "./harness.ts";

Deno.test({
  name: "a second Coordinator process on the same history recovers from its peer (--peer)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const first = await startCoordinator(ws);
    let second: Awaited<ReturnType<typeof startCoordinator>> | undefined;
    try {
      const set = await runCli(ws, ["set", "-c", first.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      second = await startCoordinator(ws, `${ws.dir}/history`, ["--peer", first.meshAddress]);
      let status = 0;
      for (let i = 0; i < 300 && status !== 200; i++) {
        const r = await fetch(`http://127.0.0.1:${second.probePort}/probe/readiness`);
        status = r.status;
        await r.body?.cancel();
        if (status !== 200) await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(status, 200, second.logs.join("\n"));
      const verify = await runCli(ws, ["verify", "-c", second.userAddress, "--json"]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.equal(
        await Deno.readTextFile(`${ws.dir}/verify/coordinator-root-ca.pem`),
        await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`),
      );
    } finally {
      await second?.stop();
      await first.stop();
      await ws.cleanup();
    }
  },
});

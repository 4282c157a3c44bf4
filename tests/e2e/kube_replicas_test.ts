import "reflect-metadata";
import assert from "node:assert/strict";
import { runVerify } from "../../cli/commands/verify_run.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../testing/kube/mod.ts";
import { writeUpdateWithout } from "../../testing/simulation/update.ts";
import {
  type CoordinatorProcess,
  createWorkspace,
  runCli,
  runInitializerProcess,
} from "./harness.ts";
import {
  COORDINATOR_USER,
  coordinatorKubeconfig,
  isReady,
  startKubeReplica,
  waitFor,
} from "./kube_harness.ts";
import { prepareUpdate, readVariant } from "./kube_update_client.ts";

const NAME =
  "kubernetes backend, three replicas: set through one, verify through each, one mesh CA, updates seen by all (watch latency)";

/** The time of the first log line of `c` at or after `since` whose message is `msg`. */
function logTime(c: CoordinatorProcess, msg: string, since: number): number | undefined {
  for (const line of c.logs) {
    try {
      const entry = JSON.parse(line);
      const t = Date.parse(entry.time ?? entry.ts ?? "");
      if (entry.msg === msg && t >= since) return t;
    } catch { /* not JSON */ }
  }
  return undefined;
}

Deno.test({
  name: NAME,
  ignore: kubeToolsMissing(NAME),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using cluster = await LocalKubeCluster.start({ users: [COORDINATOR_USER] });
    const kubeconfig = await coordinatorKubeconfig(cluster);
    const ws = await createWorkspace();
    const replicas: CoordinatorProcess[] = [];
    try {
      for (const name of ["r1", "r2", "r3"]) {
        replicas.push(await startKubeReplica(ws, kubeconfig, name));
      }
      const [r1, r2, r3] = replicas as [CoordinatorProcess, CoordinatorProcess, CoordinatorProcess];
      const set = await runCli(ws, ["set", "-c", r1.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      // r2 and r3 find r1 through its Lease, attest it and get the seed: no `contrast recover`.
      await waitFor(
        "all replicas ready",
        async () => (await Promise.all(replicas.map(isReady))).every((r) => r),
      );

      for (const [i, r] of replicas.entries()) {
        const summary = await runVerify({
          coordinator: r.userAddress,
          manifest: `${ws.dir}/manifest.json`,
          workspace: `${ws.dir}/v${i}`,
        });
        assert.equal(summary.ok, true, `verify through r${i + 1}`);
        assert.equal(
          await Deno.readTextFile(`${ws.dir}/v${i}/verify/mesh-ca.pem`),
          await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`),
        );
      }

      // Initializers spread across the replicas get certificates under the same mesh CA.
      const runs = await Promise.all(
        replicas.map((r, i) =>
          runInitializerProcess(ws, r, ws.deployment.pods.web!.digest, `${ws.dir}/web${i}`, 60)
        ),
      );
      for (const [i, run] of runs.entries()) assert.equal(run.code, 0, `web${i}: ${run.stderr}`);
      const meshCa = await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`);
      for (let i = 0; i < 3; i++) {
        assert.equal(await Deno.readTextFile(`${ws.dir}/web${i}/tls-config/mesh-ca.pem`), meshCa);
        const check = await new Deno.Command("openssl", {
          args: [
            "verify",
            "-partial_chain",
            "-CAfile",
            `${ws.dir}/mesh-ca.pem`,
            `${ws.dir}/web${i}/tls-config/certChain.pem`,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
      }

      // An update through r2 reaches r1 and r3 through the watch: each reloads and verifies the
      // new state before r2 even answers its client (r2 first derives the new mesh CA).
      const update = await writeUpdateWithout(ws, "db", "without-db");
      const prepared = await prepareUpdate(
        r2.userAddress,
        await readVariant(update.manifestPath, update.yamlPath),
        await Deno.readTextFile(`${ws.dir}/workload-owner.pem`),
      );
      const sent = Date.now();
      await prepared.send();
      const acked = Date.now();
      await waitFor("r1 and r3 reloaded", () =>
        Promise.resolve(
          logTime(r1, "reloaded", sent) !== undefined &&
            logTime(r3, "reloaded", sent) !== undefined,
        ), 20_000);
      const reloaded = [r1, r3].map((r) => logTime(r, "reloaded", sent)! - sent);
      console.log(
        `watch latency: update sent to r2 → r1, r3 reloaded after ${reloaded.join(" ms, ")} ms ` +
          `(r2 acknowledged after ${acked - sent} ms)`,
      );
      for (const [i, r] of replicas.entries()) {
        const summary = await runVerify({
          coordinator: r.userAddress,
          manifest: update.manifestPath,
          workspace: `${ws.dir}/u${i}`,
        });
        assert.equal(summary.ok, true, `r${i + 1} serves the update`);
        assert.equal(summary.manifests, 2);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await ws.cleanup();
    }
  },
});

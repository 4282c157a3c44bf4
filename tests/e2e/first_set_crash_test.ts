/**
 * End to end with separate processes: a Coordinator killed (SIGKILL) the moment its first
 * manifest is durable, before `contrast set` gets the seed shares, must not be bricked: the
 * public-key encrypted seed-share document is stored with the history, a retried `set` writes it,
 * and `contrast recover --trust-seed-shares` restores the seed from it (issue 11, item 2).
 * Without that flag recover refuses: no root CA reached the owner, so nothing can tell the
 * document from one the infrastructure planted (`tests/cli/recover_forged_shares_test.ts`).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";

const MAX_ROUNDS = 6;

/** Kills `child` with SIGKILL as soon as `dir/latest` is created; resolves once it watched. */
function killWhenLatestAppears(dir: string, child: Deno.ChildProcess): { stop(): void } {
  const watcher = Deno.watchFs(dir, { recursive: false });
  (async () => {
    for await (const event of watcher) {
      if (event.paths.some((p) => p.endsWith("/latest"))) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        break;
      }
    }
  })().catch(() => {});
  return { stop: () => watcher.close() };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  name: "a SIGKILL right after the first manifest is stored does not brick the deployment",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const shares = `${ws.dir}/seed-shares.json`;
    let lostAnswers = 0;
    try {
      for (let round = 0; round < MAX_ROUNDS && lostAnswers === 0; round++) {
        const history = `${ws.dir}/history-${round}`;
        await Deno.remove(shares).catch(() => {});
        // Each round is a new deployment: its root CA is not the previous round's.
        await Deno.remove(`${ws.dir}/coordinator-root-ca.pem`).catch(() => {});
        // …and verify/ holds the previous round's (verify keeps it against another seed).
        await Deno.remove(`${ws.dir}/verify`, { recursive: true }).catch(() => {});
        let coordinator = await startCoordinator(ws, history);
        const killer = killWhenLatestAppears(`${history}/transitions`, coordinator.child);
        const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
        await coordinator.stop("SIGKILL");
        killer.stop();
        assert.ok(await exists(`${history}/transitions/latest`), "the manifest was stored");
        const lost = set.code !== 0;
        if (lost) {
          lostAnswers++;
          assert.equal(await exists(shares), false, "the owner never got the seed shares");
        }

        coordinator = await startCoordinator(ws, history);
        try {
          // The retried set finds its manifest stored, writes the stored seed shares and names
          // the next step.
          const retry = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
          assert.equal(retry.code, 3, retry.stderr);
          assert.match(retry.stderr, /contrast recover/);
          let recover;
          if (lost) {
            assert.match(
              retry.stderr,
              /seed-shares\.json.*run contrast recover --trust-seed-shares/s,
            );
            assert.ok(await exists(shares), "the stored seed shares are written");
            const refused = await runCli(ws, ["recover", "-c", coordinator.userAddress]);
            assert.equal(refused.code, 1, refused.stderr);
            assert.match(refused.stderr, /--trust-seed-shares/);
            recover = await runCli(ws, [
              "recover",
              "-c",
              coordinator.userAddress,
              "--trust-seed-shares",
            ]);
          } else {
            // The answer arrived: the owner's own shares and root CA confirm the seed.
            recover = await runCli(ws, ["recover", "-c", coordinator.userAddress]);
          }
          assert.equal(recover.code, 0, recover.stderr);
          const pod = await runInitializerProcess(
            ws,
            coordinator,
            ws.deployment.pods.web.digest,
            `${ws.dir}/pod-${round}`,
          );
          assert.equal(pod.code, 0, pod.stderr);
          const verify = await runCli(ws, ["verify", "-c", coordinator.userAddress]);
          assert.equal(verify.code, 0, verify.stderr);
        } finally {
          await coordinator.stop();
        }
      }
      assert.ok(lostAnswers > 0, `no round lost the answer in ${MAX_ROUNDS} kills`);
    } finally {
      await ws.cleanup();
    }
  },
});

/**
 * End to end with separate processes: an initializer accepts CA files only from the Coordinator
 * its trust document pins (policy hash and reference values), whatever sits in between.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { startCoordinatorProcess } from "../../testing/simulation/processes.ts";
import { workspaceVm } from "../../testing/simulation/workspace.ts";
import { initdata } from "../coordinator/fixture.ts";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";
import { listTree } from "../helpers/list_tree.ts";
import { caSwappingRelay } from "../helpers/relays.ts";

/** A TCP relay to `target`: it sees the bytes, but the TLS session is the Coordinator's. */
async function tcpRelay(target: string): Promise<{ address: string; close(): Promise<void> }> {
  const [host, port] = target.split(":");
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host!);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

Deno.test({
  name: "initializers attest the Coordinator: impostors, wrong reference values and relays fail",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const coordinator = await startCoordinator(ws);
    // Genuine simulated hardware and measurement, but the attacker's Coordinator policy.
    const evilDigest = await sha256(initdata("a coordinator that hands out the attacker's CA"));
    const impostor = await startCoordinatorProcess({
      historyDir: `${ws.dir}/impostor-history`,
      vm: workspaceVm(ws, evilDigest),
      readyFile: `${ws.dir}/impostor-ready.json`,
      cwd: ws.dir,
    });
    const web = ws.deployment.pods.web.digest;
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);

      await t.step("an impostor Coordinator is refused and nothing is written", async () => {
        const out = `${ws.dir}/pod-impostor`;
        const r = await runInitializerProcess(ws, impostor, web, out, 1);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /does not run the pinned Coordinator policy/);
        assert.match(r.stderr, new RegExp(encodeHex(evilDigest)));
        assert.deepEqual(await listTree(out), []);
      });

      await t.step(
        "the genuine Coordinator with other pinned reference values is refused",
        async () => {
          const out = `${ws.dir}/pod-other-rv`;
          const trust = ws.deployment.coordinatorTrust().replace(
            /"TrustedMeasurement":"[0-9a-f]{96}"/,
            `"TrustedMeasurement":"${"ee".repeat(48)}"`,
          );
          const r = await runInitializerProcess(ws, coordinator, web, out, 1, [], trust);
          assert.equal(r.code, 1);
          assert.match(r.stderr, /MEASUREMENT/i);
          assert.deepEqual(await listTree(out), []);
        },
      );

      await t.step("a relay that swaps the CA files is refused", async () => {
        const relay = await caSwappingRelay(coordinator.meshAddress);
        const out = `${ws.dir}/pod-relayed`;
        try {
          const r = await runInitializerProcess(ws, { meshAddress: relay.address }, web, out, 1);
          assert.equal(r.code, 1);
          assert.match(r.stderr, /report_?data/i);
          assert.deepEqual(await listTree(out), []);
        } finally {
          await relay.close();
        }
      });

      await t.step("through a plain TCP relay the pod gets the genuine CAs", async () => {
        const relay = await tcpRelay(coordinator.meshAddress);
        const out = `${ws.dir}/pod-tcp`;
        try {
          const r = await runInitializerProcess(ws, { meshAddress: relay.address }, web, out);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(
            await Deno.readTextFile(`${out}/tls-config/mesh-ca.pem`),
            await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`),
          );
          assert.equal(
            await Deno.readTextFile(`${out}/tls-config/coordinator-root-ca.pem`),
            await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`),
          );
        } finally {
          await relay.close();
        }
      });
    } finally {
      await impostor.stop();
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});

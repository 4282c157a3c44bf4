import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { createWorkspace, runCli, runInitializerProcess, startCoordinator } from "./harness.ts";
import { inboundPort, startEchoApp, startProxy, tlsExchange } from "../meshproxy/helpers.ts";

/** Waits (up to 20 s) until `check` holds. */
async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pod's mesh credentials as its initializer wrote them. */
async function credentials(dir: string) {
  const read = (f: string) => Deno.readTextFile(`${dir}/tls-config/${f}`);
  return {
    key: await read("key.pem"),
    cert: await read("certChain.pem"),
    ca: await read("mesh-ca.pem"),
  };
}

Deno.test({
  name:
    "after a manifest update the mesh proxy refuses the pre-update Coordinator-issued certificate at the handshake and accepts one attested after it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const coordinator = await startCoordinator(ws);
    const echo = await startEchoApp();
    const pods = ws.deployment.pods;
    /** Attests pod `name` (web or db) through a real initializer process into `${ws.dir}/<out>`. */
    const attest = async (name: "web" | "db", out: string) => {
      const r = await runInitializerProcess(ws, coordinator, pods[name].digest, `${ws.dir}/${out}`);
      assert.equal(r.code, 0, r.stderr);
      return await credentials(`${ws.dir}/${out}`);
    };
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      const dbOld = await attest("db", "db-old");
      const webOld = await attest("web", "web-old");
      // The db pod's sidecar, on the credentials the Coordinator issued to db.
      proxy = await startProxy({ podPorts: "7000" }, `${ws.dir}/db-old/tls-config`, {
        upstreamPorts: new Map([[7000, echo.port]]),
      });
      const server = proxy;
      const port = inboundPort(server, "port-7000");

      await t.step(
        "before the update, web's Coordinator-issued certificate is accepted",
        async () => {
          const ok = await tlsExchange(port, "ping", {
            key: webOld.key,
            cert: webOld.cert,
            ca: dbOld.ca,
          });
          assert.equal(ok.received, "ping", JSON.stringify(ok));
        },
      );

      // The workload owner's update (a SAN added to db): a new transition, a new mesh CA.
      await Deno.writeFile(
        `${ws.dir}/manifest.json`,
        ws.deployment.manifest((m) => {
          (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(pods.db.digest)]!.SANs
            .push("db.internal");
        }),
      );
      const update = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(update.code, 0, update.stderr);
      const dbNew = await attest("db", "db-new");
      const webNew = await attest("web", "web-new");
      assert.notEqual(dbNew.ca, dbOld.ca, "the update rotated the mesh CA");
      assert.equal(webNew.ca, dbNew.ca);
      assert.equal(dbNew.ca, await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`));

      await t.step("the proxy reloads the credentials of the re-attested db pod", async () => {
        for (const f of ["mesh-ca.pem", "certChain.pem", "key.pem"]) {
          await Deno.copyFile(
            `${ws.dir}/db-new/tls-config/${f}`,
            `${ws.dir}/db-old/tls-config/${f}`,
          );
        }
        await waitFor(
          "the reload",
          () =>
            server.metrics.get("meshproxy_credential_reloads_total", { result: "accepted" }) >= 2,
        );
      });

      await t.step("the pre-update certificate is refused at the handshake", async () => {
        const before = echo.accepted();
        const old = await tlsExchange(port, "ping", {
          key: webOld.key,
          cert: webOld.cert,
          ca: dbOld.ca + dbNew.ca,
        });
        assert.equal(old.received, "", `old certificate: ${JSON.stringify(old)}`);
        assert.equal(echo.accepted(), before, "the refused client never reached the application");
        const failures = ["untrusted_certificate", "rejected_or_aborted"].reduce(
          (n, reason) =>
            n + server.metrics.get("meshproxy_handshake_failures_total", {
              direction: "ingress",
              listener: "port-7000",
              reason,
            }),
          0,
        );
        assert.equal(failures, 1, server.metrics.render());
      });

      await t.step("a certificate of a pod attested after the update is accepted", async () => {
        const ok = await tlsExchange(port, "ping", {
          key: webNew.key,
          cert: webNew.cert,
          ca: dbNew.ca,
        });
        assert.equal(ok.received, "ping", JSON.stringify(ok));
      });

      await t.step(
        "the server's new certificate is refused by a client on the old mesh CA",
        async () => {
          const stale = await tlsExchange(port, "ping", {
            key: webOld.key,
            cert: webOld.cert,
            ca: dbOld.ca,
          });
          assert.equal(stale.received, "");
          assert.match(stale.error ?? "", /certificate|verify|issuer/i);
        },
      );
    } finally {
      await proxy?.close();
      await echo.close();
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});

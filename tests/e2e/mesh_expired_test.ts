/**
 * A mesh certificate the real Coordinator issued is refused at the ingress handshake once it has
 * expired (issue 14). Coordinator A (normal validity) gets the manifest; Coordinator B, a second
 * process on the same history that recovers from A, runs with the test-only short validity (a
 * knob refused outside the simulated TEE), so both issue under the same mesh CA. db's proxy
 * serves with A's one-year certificate; web's certificate from B is accepted while valid and
 * refused once expired; a fresh one from A is accepted again. Nothing fakes the clock.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createWorkspace, runInitializerProcess, startCoordinator } from "./harness.ts";
import { runCli } from "./harness.ts";
import { inboundPort, startEchoApp, startProxy, tlsExchange } from "../meshproxy/helpers.ts";
import { TEST_ONLY_VALIDITY_FLAG } from "../../coordinator/ca/test_only_validity.ts";

/** The validity B issues with: long enough to be used once on a loaded machine. */
const SHORT_VALIDITY_SECONDS = 20;

async function waitUntilReady(probePort: number, logs: readonly string[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`http://127.0.0.1:${probePort}/probe/readiness`);
    await r.body?.cancel();
    if (r.status === 200) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`the second Coordinator never became ready:\n${logs.join("\n")}`);
}

Deno.test({
  name:
    "an expired Coordinator-issued mesh certificate is refused at the ingress handshake; a valid one from the same CA is accepted",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const a = await startCoordinator(ws);
    let b: Awaited<ReturnType<typeof startCoordinator>> | undefined;
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
    const echo = await startEchoApp();
    const pods = ws.deployment.pods;
    const attest = async (
      name: "web" | "db",
      coordinator: { meshAddress: string },
      out: string,
    ) => {
      const dir = `${ws.dir}/${out}`;
      const r = await runInitializerProcess(ws, coordinator, pods[name].digest, dir);
      assert.equal(r.code, 0, r.stderr);
      const read = (f: string) => Deno.readTextFile(`${dir}/tls-config/${f}`);
      return {
        dir: `${dir}/tls-config`,
        key: await read("key.pem"),
        cert: await read("certChain.pem"),
        ca: await read("mesh-ca.pem"),
      };
    };
    try {
      const set = await runCli(ws, ["set", "-c", a.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);
      b = await startCoordinator(ws, `${ws.dir}/history`, [
        "--peer",
        a.meshAddress,
        `--${TEST_ONLY_VALIDITY_FLAG}`,
        String(SHORT_VALIDITY_SECONDS),
      ]);
      await waitUntilReady(b.probePort, b.logs);

      const db = await attest("db", a, "db");
      proxy = await startProxy({ podPorts: "7000" }, db.dir, {
        upstreamPorts: new Map([[7000, echo.port]]),
      });
      const server = proxy;
      const port = inboundPort(server, "port-7000");
      const failures = () =>
        ["expired_certificate", "untrusted_certificate", "rejected_or_aborted"].reduce(
          (n, reason) =>
            n + server.metrics.get("meshproxy_handshake_failures_total", {
              direction: "ingress",
              listener: "port-7000",
              reason,
            }),
          0,
        );

      const web = await attest("web", b, "web-short");
      const leaf = new X509Certificate(web.cert);
      const notAfter = new Date(leaf.validTo);

      await t.step("B issued under the same mesh CA, with the short validity", () => {
        assert.equal(web.ca, db.ca, "one mesh CA for both Coordinators");
        const validity = (notAfter.getTime() - new Date(leaf.validFrom).getTime()) / 1000;
        // notBefore is backdated by the CA's clock-skew allowance.
        assert.ok(
          validity >= SHORT_VALIDITY_SECONDS && validity <= SHORT_VALIDITY_SECONDS + 600,
          `validity ${validity} s`,
        );
        assert.ok(notAfter.getTime() - Date.now() < SHORT_VALIDITY_SECONDS * 1000);
      });

      await t.step("while valid, web's certificate is accepted", async () => {
        assert.ok(Date.now() < notAfter.getTime() - 1_000, "still valid when presented");
        const ok = await tlsExchange(port, "ping", { key: web.key, cert: web.cert, ca: db.ca });
        assert.equal(ok.received, "ping", JSON.stringify(ok));
      });

      await t.step("once expired, the same certificate is refused at the handshake", async () => {
        const wait = notAfter.getTime() + 1_500 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const acceptedBefore = echo.accepted();
        const failuresBefore = failures();
        const refused = await tlsExchange(port, "ping", {
          key: web.key,
          cert: web.cert,
          ca: db.ca,
        });
        assert.equal(refused.received, "", `expired certificate: ${JSON.stringify(refused)}`);
        assert.equal(echo.accepted(), acceptedBefore, "the refused client never reached the app");
        assert.equal(failures(), failuresBefore + 1, server.metrics.render());
      });

      await t.step("a fresh certificate for web from A is accepted", async () => {
        const fresh = await attest("web", a, "web-fresh");
        const ok = await tlsExchange(port, "ping", {
          key: fresh.key,
          cert: fresh.cert,
          ca: db.ca,
        });
        assert.equal(ok.received, "ping", JSON.stringify(ok));
      });
    } finally {
      await proxy?.close();
      await echo.close();
      await b?.stop();
      await a.stop();
      await ws.cleanup();
    }
  },
});

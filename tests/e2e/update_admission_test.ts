/**
 * End to end with a Coordinator process: owner-signed updates that would weaken the deployment or
 * disown the running Coordinator are refused with their JSON path, duplicate JSON keys are
 * refused in signed documents and in requests, and a hostile request's error answer and log line
 * stay small (issue 11, items 4 and 5).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import { decodeHex, encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { attestCoordinator, sendManifest } from "../../atls/coordinator_client.ts";
import { createWorkspace, runCli, startCoordinator } from "./harness.ts";

/** POSTs `body` (raw text) to `address` + `path` over TLS; returns status and answer text. */
function rawPost(address: string, path: string, body: string) {
  const [host, port] = address.split(":");
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request(
      { host, port: Number(port), path, method: "POST", rejectUnauthorized: false },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => text += c);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.setHeader("content-type", "application/json");
    req.end(body);
  });
}

Deno.test({
  name: "owner-signed updates that upstream refuses are refused with their JSON path",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const ws = await createWorkspace();
    const d = ws.deployment;
    const coordinator = await startCoordinator(ws);
    const verifiers = new ManifestVerifiers();
    const policies = [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc];
    const db = encodeHex(d.pods.db.digest);
    const coordinatorDigest = encodeHex(d.coordinator.digest);
    /** Attests against the active manifest and sends `bytes` signed by the owner. */
    const send = async (bytes: Uint8Array) => {
      const active = await Deno.readFile(`${ws.dir}/manifest.json`);
      const a = await attestCoordinator(
        coordinator.userAddress,
        parseManifest(active),
        (m, e, o) => verifiers.verify(m, e, o),
      );
      const previous = a.state.latestTransition!;
      return sendManifest(a.client, {
        manifest: bytes,
        policies,
        previousTransition: previous,
        signature: decodeHex(await d.ownerSignature(bytes, previous)),
      });
    };
    const refused = (path: RegExp) => (e: unknown) => {
      assert.equal((e as { status?: number }).status, 400, String(e));
      assert.match((e as Error).message, path);
      return true;
    };
    // The deployment's reference value object is shared by every manifest it builds: copy first.
    const edit = (fn: (m: Record<string, unknown>) => void) =>
      d.manifest((m) => {
        m.ReferenceValues = structuredClone(m.ReferenceValues);
        fn(m);
      });
    const snp0 = (m: Record<string, unknown>) =>
      (m.ReferenceValues as { snp: { GuestPolicy: Record<string, unknown> }[] }).snp[0]!;
    const roles = (m: Record<string, unknown>) =>
      m.Policies as Record<string, { Role: string; SANs: string[] }>;
    try {
      const set = await runCli(ws, ["set", "-c", coordinator.userAddress, ws.yamlPath]);
      assert.equal(set.code, 0, set.stderr);

      await t.step("GuestPolicy.Debug = true is refused", async () => {
        await assert.rejects(
          send(edit((m) => snp0(m).GuestPolicy.Debug = true)),
          refused(/ReferenceValues\.snp\[0\]\.GuestPolicy\.Debug: a debug guest is refused/),
        );
      });

      await t.step("GuestPolicy.MigrateMA = true is refused", async () => {
        await assert.rejects(
          send(edit((m) => snp0(m).GuestPolicy.MigrateMA = true)),
          refused(/ReferenceValues\.snp\[0\]\.GuestPolicy\.MigrateMA: a migration agent/),
        );
      });

      await t.step("an update naming another policy as the coordinator is refused", async () => {
        await assert.rejects(
          send(edit((m) => {
            roles(m)[coordinatorDigest]!.Role = "";
            roles(m)[db]!.Role = "coordinator";
          })),
          refused(new RegExp(`Policies\\.${coordinatorDigest}\\.Role: the update does not keep`)),
        );
      });

      await t.step("a duplicate key in a signed manifest is refused at its path", async () => {
        const text = new TextDecoder().decode(d.manifest()).replace(
          /"WorkloadOwnerPubKeys": \[/,
          `"WorkloadOwnerPubKeys": [],\n  "WorkloadOwnerPubKeys": [`,
        );
        await assert.rejects(
          send(new TextEncoder().encode(text)),
          refused(/WorkloadOwnerPubKeys: duplicate key/),
        );
        const twice = new TextDecoder().decode(d.manifest()).replace(
          `"${db}": {`,
          `"${db}": {"SANs": ["x"], "WorkloadSecretID": "", "Role": ""},\n    "${db}": {`,
        );
        await assert.rejects(
          send(new TextEncoder().encode(twice)),
          refused(new RegExp(`Policies\\.${db}: duplicate key`)),
        );
      });

      await t.step("a duplicate key in the request itself is refused (400)", async () => {
        const body = `{"manifest":"${encodeBase64(d.manifest())}","manifest":"e30=",` +
          `"policies":[],"previous_transition":"${"00".repeat(32)}","signature":""}`;
        const answer = await rawPost(coordinator.userAddress, "/manifest", body);
        assert.equal(answer.status, 400, answer.text);
        assert.match(answer.text, /body\.manifest: duplicate key/);
      });

      await t.step("400,000 unknown fields are refused before parsing", async () => {
        const fields = Array.from({ length: 400_000 }, (_, i) => `"f${i}":0`).join(",");
        const started = performance.now();
        const answer = await rawPost(coordinator.userAddress, "/manifest", `{${fields}}`);
        assert.equal(answer.status, 400, answer.text);
        assert.match(answer.text, /more than 256 object keys: refused before parsing/);
        assert.ok(answer.text.length < 512, `answer of ${answer.text.length} bytes`);
        // Liveness is answered right after (the event loop was not blocked by a parse).
        const live = await fetch(`http://127.0.0.1:${coordinator.probePort}/probe/liveness`);
        assert.equal(live.status, 200);
        await live.body?.cancel();
        console.log(
          `a ${fields.length} byte body refused in ${Math.round(performance.now() - started)} ms`,
        );
      });

      await t.step("250 unknown fields give a bounded answer and log line", async () => {
        const fields = Array.from({ length: 250 }, (_, i) => `"field${i}":0`).join(",");
        const answer = await rawPost(coordinator.userAddress, "/manifest", `{${fields}}`);
        assert.equal(answer.status, 400);
        assert.match(answer.text, /more problems not listed/);
        assert.ok(answer.text.length < 2048, `answer of ${answer.text.length} bytes`);
        const longest = Math.max(...coordinator.logs.map((l) => l.length));
        assert.ok(longest < 4096, `a log line of ${longest} characters`);
      });

      await t.step("a second coordinator policy next to the running one is accepted", async () => {
        const both = edit((m) => roles(m)[db]!.Role = "coordinator");
        const r = await send(both);
        assert.match(r.transition, /^[0-9a-f]{64}$/);
        await Deno.writeFile(`${ws.dir}/manifest.json`, both);
        const verify = await runCli(ws, ["verify", "-c", coordinator.userAddress]);
        assert.equal(verify.code, 0, verify.stderr);
      });
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});

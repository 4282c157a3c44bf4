/**
 * Whoever answers in the Coordinator's place (the network is the infrastructure's) can send an
 * `/attest` answer or evidence that does not parse. That is evidence that fails verification
 * (exit 1; the initializer retries), not malformed input of the user (exit 2), and nothing is
 * written.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { VerificationError } from "../../util/errors/mod.ts";
import { encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import { attestCoordinator } from "../../atls/coordinator_client.ts";
import { parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { isPermanent } from "../../initializer/run.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { runCliAgainst } from "../../testing/cli/capture.ts";
import { createWorkspace } from "../../testing/simulation/workspace.ts";
import { listTree } from "../helpers/list_tree.ts";

/** An `/attest` answer of the right shape whose SNP report is 4 bytes long. */
const SHORT_REPORT = {
  evidence: { platform: "snp", report: encodeBase64(new Uint8Array(4)) },
  hpkePublicKey: encodeHex(new Uint8Array(32)),
  manifests: [],
  policies: {},
  rootCa: "",
  meshCa: "",
  latestTransition: "",
  recoveryNeeded: false,
  signatures: [],
};

/** A TLS server that answers every request with `answers[current]`. */
async function impostor(answers: Record<string, unknown>) {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const state = { current: Object.keys(answers)[0]! };
  const server = https.createServer({ key: id.keyPem, cert: id.certPem }, (req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      const answer = answers[state.current];
      res.end(typeof answer === "string" ? answer : JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer(name: string) {
      state.current = name;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

Deno.test({
  name: "an unparseable /attest answer or evidence is a verification failure: exit 1, " +
    "nothing written, the initializer retries",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const server = await impostor({
      shortReport: SHORT_REPORT,
      notAnAnswer: { hello: 1 },
      notJson: "<html>a captive portal</html>",
    });
    try {
      const before = await listTree(ws.dir);
      const cases = [["shortReport", "report"], ["notAnAnswer", "evidence"], [
        "notJson",
        "response",
      ]];
      for (const [answer, field] of cases) {
        server.answer(answer!);
        for (const command of [["verify"], ["set", ws.yamlPath]] as const) {
          const run = await runCliAgainst(server.address, ws.dir, command);
          assert.equal(run.code, 1, `${answer} ${command[0]}: ${run.stdout}${run.stderr}`);
          assert.match(run.stderr, new RegExp(`error: coordinator\\.${field}: the Coordinator's`));
        }
      }
      assert.deepEqual(await listTree(ws.dir), before, "nothing written");

      server.answer("shortReport");
      const trust = parseCoordinatorTrust(ws.deployment.coordinatorTrust());
      const verifiers = new ManifestVerifiers();
      const error = await attestCoordinator(
        server.address,
        trust.manifest,
        (m, e, o) => verifiers.verify(m, e, o),
      ).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof VerificationError, String(error));
      assert.equal(isPermanent(error), false, "the initializer tries again");
    } finally {
      await server.close();
      await ws.cleanup();
    }
  },
});

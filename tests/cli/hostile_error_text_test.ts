/**
 * Whoever answers in the Coordinator's place (the network is the infrastructure's) chooses the
 * text of its error answers. The CLI prints that text in its error line; it must stay that one
 * line: no line break that forges a success line after it, no terminal control that erases the
 * error and prints one.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import { runCliAgainst } from "../../testing/cli/capture.ts";
import { createWorkspace } from "../../testing/simulation/workspace.ts";

/** A control, line-separator or bidirectional formatting character left as it is. */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const UNESCAPED = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/;

const FORGED = "\r\x1b[2K✔ Coordinator attested (snp, coordinator policy matches)\n" +
  "✔ Manifest set (transition 0123456789abcdef…, 3 policies)\u2028\x9b2K\u202e";

/** A TLS server that answers every request with `status` and `body`. */
async function impostor(status: number, body: unknown) {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const server = https.createServer({ key: id.keyPem, cert: id.certPem }, (req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

Deno.test({
  name: "an impostor's error text is printed on one line, its controls escaped",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    const answers: [number, number, unknown][] = [
      [403, 1, { error: `refused${FORGED}`, field: `nonce${FORGED}` }],
      [503, 3, { error: `busy${FORGED}` }],
      [400, 2, { error: `bad${FORGED}`, field: "nonce" }],
    ];
    try {
      for (const [status, code, body] of answers) {
        const server = await impostor(status, body);
        try {
          for (const command of [["verify"], ["set", ws.yamlPath], ["recover"]] as const) {
            const run = await runCliAgainst(server.address, ws.dir, command);
            const what = `${status} ${command[0]}: ${JSON.stringify(run.stderr)}`;
            assert.equal(run.code, code, what);
            assert.doesNotMatch(run.stderr, UNESCAPED, what);
            assert.equal(run.stderr.split("\n").length, 1, what);
            assert.match(run.stderr, /^error: .*coordinator answered \d{3}: .*\\u000d\\u001b\[2K✔/);
            assert.doesNotMatch(run.stdout, /✔/, what);
          }
        } finally {
          await server.close();
        }
      }
    } finally {
      await ws.cleanup();
    }
  },
});

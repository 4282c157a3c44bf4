/**
 * `sendManifest` and `sendRecover` (what `set` and `recover` send over the pinned connection):
 * an answer that is not JSON (a host answering in the Coordinator's place cannot, the key is
 * pinned, but a Coordinator's proxy or a crash page can) is the sender's failure, exit 1 naming
 * `coordinator.response`, as for `/attest`; before, it was a ParseError (exit 2, "bad input"), as
 * if the owner's own files were malformed. A 400 stays the Coordinator refusing our request.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { sendManifest, sendRecover } from "../../atls/coordinator_client.ts";
import { CoordinatorBadRequestError, PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { VerificationError } from "../../util/errors/mod.ts";
import type { RecoverRequestJson } from "../../protocol/messages.ts";
import { answeringTlsServer } from "../helpers/answering_tls_server.ts";

/** A TLS server answering every request with `status` and the raw `body`. */
function answering(status: number, body: string) {
  return answeringTlsServer((res) => {
    res.writeHead(status, { "content-type": "text/html" });
    res.end(body);
  });
}

const MANIFEST = {
  manifest: new Uint8Array([123, 125]),
  policies: [],
  previousTransition: new Uint8Array(32),
  signature: new Uint8Array(64),
};
const RECOVER: RecoverRequestJson = {
  sealedSeed: { enc: "", ciphertext: "" },
  ownerPublicKey: "",
  signature: "",
};

Deno.test("an answer to POST /manifest or /recover that is not JSON is exit 1 naming coordinator.response", async () => {
  const server = await answering(200, "<html>proxy error</html>");
  try {
    for (
      const [what, send] of [
        ["manifest", (c: PinnedHttpsClient) => sendManifest(c, MANIFEST)],
        ["recover", (c: PinnedHttpsClient) => sendRecover(c, RECOVER)],
      ] as const
    ) {
      const client = new PinnedHttpsClient(server.address, { timeoutMs: 10_000 });
      const error = await send(client).then(() => undefined, (e: unknown) => e);
      client.close();
      assert.ok(error instanceof VerificationError, `${what}: ${String(error)}`);
      assert.equal(error.field, "coordinator.response", what);
      assert.equal(exitCodeFor(error), 1, what);
    }
  } finally {
    await server.close();
  }
});

Deno.test("a 400 answer stays the Coordinator refusing our request (exit 2)", async () => {
  const server = await answering(400, JSON.stringify({ error: "bad manifest", field: "manifest" }));
  try {
    const client = new PinnedHttpsClient(server.address, { timeoutMs: 10_000 });
    const error = await sendManifest(client, MANIFEST).then(() => undefined, (e: unknown) => e);
    client.close();
    assert.ok(error instanceof CoordinatorBadRequestError, String(error));
    assert.equal(error.field, "manifest");
    assert.equal(exitCodeFor(error), 2);
  } finally {
    await server.close();
  }
});

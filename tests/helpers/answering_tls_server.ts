/**
 * A stand-in HTTPS server for client tests: it answers every request the same way, after reading
 * the request's body.
 *
 * @module
 */
import https from "node:https";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";

/**
 * Serves HTTPS on a free port of 127.0.0.1 with a fresh attested TLS identity (no evidence):
 * each request is read to its end, then `answer` writes the response. `close` stops the server
 * and ends its connections.
 */
export async function answeringTlsServer(answer: (res: ServerResponse) => void) {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const server = https.createServer({ key: id.keyPem, cert: id.certPem }, (req, res) => {
    req.resume();
    req.on("end", () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

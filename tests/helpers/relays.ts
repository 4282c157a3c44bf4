/**
 * Network attackers for tests, on 127.0.0.1: relays that sit between a pod and the Coordinator.
 *
 * @module
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import { PinnedHttpsClient } from "../../atls/pinned_client.ts";

/** A running relay. */
interface Relay {
  /** `127.0.0.1:<port>` to send requests to instead of the Coordinator. */
  readonly address: string;
  /** Stops the relay. */
  close(): Promise<void>;
}

/** A relay that plants its own CA, with that CA's certificate. */
interface CaSwappingRelay extends Relay {
  /** PEM of the attacker's CA certificate the relay puts in place of the mesh CA. */
  readonly attackerCaPem: string;
}

/**
 * A TLS-terminating relay: it forwards each POST to `target` over its own connection, but
 * replaces `meshCa` in every answer that has one with its own CA certificate.
 */
export async function caSwappingRelay(target: string): Promise<CaSwappingRelay> {
  const attacker = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined, "ca");
  const upstream = new PinnedHttpsClient(target);
  const server = https.createServer(
    { key: attacker.keyPem, cert: attacker.certPem },
    (req, res) => {
      let body = "";
      req.on("data", (chunk: Uint8Array) => body += new TextDecoder().decode(chunk));
      req.on("end", async () => {
        try {
          const answer = await upstream.request(
            "POST",
            req.url!,
            body ? JSON.parse(body) : undefined,
          ) as Record<string, unknown>;
          if ("meshCa" in answer) answer.meshCa = attacker.certPem;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(answer));
        } catch (error) {
          res.writeHead(502, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: String(error) }));
        }
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    attackerCaPem: attacker.certPem,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The egress against a hostile server that holds no mesh certificate but makes its own: the
 * mesh CA's subject as issuer, the expected SAN, its own key. With a well-formed certificate Deno's
 * `node:tls` refuses it (the signature does not verify); with a malformed extKeyUsage (webpki:
 * `BadDer`) Deno falls back to comparing issuer and subject *names* and accepted it, so the
 * application's bytes went to the impostor. The server is `openssl s_server` (Deno's own TLS
 * server refuses to load such a certificate).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { freePort } from "../helpers/free_port.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { whyNoOpenssl } from "../helpers/openssl.ts";
import { selfMadeMeshCertificate } from "./forged_certificate.ts";
import { plainExchange, podDir, startProxy } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const CASES = [
  // A malformed extKeyUsage value (an OCTET STRING where a SEQUENCE belongs).
  ["malformed extKeyUsage", new Uint8Array([0x04, 0x00])],
  // A well-formed serverAuth extKeyUsage (refused by Deno already: the signature is checked).
  ["well-formed extKeyUsage", new Uint8Array([0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 1])],
] as const;

for (const [label, eku] of CASES) {
  Deno.test({
    name: `egress refuses a self-made server certificate naming the mesh CA (${label})`,
    ...opts,
    fn: async () => {
      const why = await whyNoOpenssl();
      if (why) {
        console.warn(`\n!!! SKIPPED forged-server egress test: no openssl (${why}) !!!\n`);
        return;
      }
      await withTempDir(async (root) => {
        const ca = await meshAuthority();
        const clientDir = await podDir(root, "bot", await issuePod(ca, ["bot", "*"]));
        const fake = await selfMadeMeshCertificate("CN=impostor", "web-svc", eku);
        await Deno.writeTextFile(`${root}/impostor.pem`, fake.cert);
        await Deno.writeTextFile(`${root}/impostor.key`, fake.key);
        const port = await freePort();
        const server = new Deno.Command("openssl", {
          args: [
            "s_server",
            "-accept",
            `127.0.0.1:${port}`,
            "-cert",
            `${root}/impostor.pem`,
            "-key",
            `${root}/impostor.key`,
            "-ign_eof",
          ],
          stdin: "piped",
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const seen = (async () => {
          let text = "";
          for await (const chunk of server.stdout) text += new TextDecoder().decode(chunk);
          return text;
        })();
        await waitForPort(port);
        const at = `127.0.0.1:${await freePort()}`;
        const client = await startProxy(
          { ingress: "DISABLED", egress: `web#${at}#web-svc:7000` },
          clientDir,
          { resolve: () => ({ host: "127.0.0.1", port }) },
        );
        try {
          const answer = await plainExchange("127.0.0.1", Number(at.split(":")[1]), "SECRET-1");
          assert.equal(answer, "", "the application's connection is closed unserved");
          assert.equal(
            client.metrics.get("meshproxy_handshake_failures_total", {
              direction: "egress",
              listener: "web",
              reason: "untrusted_certificate",
            }),
            1,
            client.metrics.render(),
          );
        } finally {
          await client.close();
          try {
            server.kill();
          } catch { /* exited */ }
          await server.status;
        }
        assert.doesNotMatch(
          await seen,
          /SECRET-1/,
          "the impostor received the application's bytes",
        );
      });
    },
  });
}

/** Waits until something accepts TCP connections on `port` (the server's startup). */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const probe = await Deno.connect({ hostname: "127.0.0.1", port });
      probe.close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * The ingress against a hostile client that holds no mesh certificate but makes its own: the mesh
 * CA's subject as issuer, a victim's SAN, its own key (the counterpart of
 * `egress_forged_server_test.ts`, where Deno's `node:tls` client accepted such a certificate with a
 * malformed extKeyUsage by its issuer's name alone). The ingress's client-certificate check refuses
 * both shapes during the handshake (measured: TLS alert 42, bad certificate), so nothing reaches the
 * application and no `X-Forwarded-Client-Cert` names the victim. The client is `openssl s_client`
 * (Deno's own TLS client refuses to load such a certificate).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { whyNoOpenssl } from "../helpers/openssl.ts";
import { selfMadeMeshCertificate } from "./forged_certificate.ts";
import { podDir, startHttpApp } from "./helpers.ts";
import { IngressListener } from "../../meshproxy/ingress.ts";
import { listenerLimits } from "../../meshproxy/limits.ts";
import { loadCredentials } from "../../meshproxy/credentials.ts";
import { ProxyMetrics } from "../../meshproxy/metrics.ts";
import { Logger } from "../../util/log/logger.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const CASES = [
  // A malformed extKeyUsage value (an OCTET STRING where a SEQUENCE belongs).
  ["malformed extKeyUsage", new Uint8Array([0x04, 0x00])],
  // A well-formed clientAuth extKeyUsage.
  ["well-formed extKeyUsage", new Uint8Array([0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 2])],
] as const;

for (const [label, eku] of CASES) {
  Deno.test({
    name: `ingress refuses a self-made client certificate naming the mesh CA (${label})`,
    ...opts,
    fn: async () => {
      const why = await whyNoOpenssl();
      if (why) {
        console.warn(`\n!!! SKIPPED forged-client ingress test: no openssl (${why}) !!!\n`);
        return;
      }
      await withTempDir(async (root) => {
        const app = await startHttpApp();
        const ca = await meshAuthority();
        const metrics = new ProxyMetrics();
        const listener = new IngressListener({
          name: "p",
          mode: "mtls",
          listenHost: "127.0.0.1",
          listenPort: 0,
          upstreamHost: "127.0.0.1",
          upstreamPort: app.port,
          credentials: await loadCredentials(
            await podDir(root, "web", await issuePod(ca, ["web"])),
          ),
          metrics,
          logger: new Logger("t", { level: "error" }),
          limits: listenerLimits({}, 1),
        });
        await listener.start();
        const fake = await selfMadeMeshCertificate("CN=contrast-workload", "victim", eku);
        await Deno.writeTextFile(`${root}/impostor.pem`, fake.cert);
        await Deno.writeTextFile(`${root}/impostor.key`, fake.key);
        try {
          const client = new Deno.Command("openssl", {
            args: [
              "s_client",
              "-connect",
              `127.0.0.1:${listener.port}`,
              "-cert",
              `${root}/impostor.pem`,
              "-key",
              `${root}/impostor.key`,
              "-quiet",
              "-ign_eof",
            ],
            stdin: "piped",
            stdout: "piped",
            stderr: "null",
          }).spawn();
          const writer = client.stdin.getWriter();
          await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: web\r\n\r\n"));
          // s_client exits once the proxy closes the connection; were the impostor served, the
          // connection would stay open (keep-alive): it is killed after 5 s and its output read.
          const timer = setTimeout(() => {
            try {
              client.kill();
            } catch { /* exited */ }
          }, 5_000);
          const out = await client.output();
          clearTimeout(timer);
          const text = new TextDecoder().decode(out.stdout);
          assert.doesNotMatch(text, /victim|200 OK/, "the application answered the impostor");
          assert.equal(app.accepted!(), 0, "no connection reached the application");
          // Counted as a failed handshake (the reason Deno reports differs by shape: an
          // unreadable certificate is untrusted_certificate, a bad signature a bare reset).
          const failures = (reason: string) =>
            metrics.get("meshproxy_handshake_failures_total", {
              direction: "ingress",
              listener: "p",
              reason,
            });
          assert.equal(
            failures("untrusted_certificate") + failures("rejected_or_aborted"),
            1,
            metrics.render(),
          );
        } finally {
          await listener.close();
          await app.close();
        }
      });
    },
  });
}

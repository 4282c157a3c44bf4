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
import * as x509 from "@peculiar/x509";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import { podDir, startHttpApp } from "./helpers.ts";
import { IngressListener } from "../../meshproxy/ingress.ts";
import { listenerLimits } from "../../meshproxy/limits.ts";
import { loadCredentials } from "../../meshproxy/credentials.ts";
import { ProxyMetrics } from "../../meshproxy/metrics.ts";
import { Logger } from "../../util/log/logger.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Why `openssl s_client` cannot be used here, or undefined when it can. */
async function whyNoOpenssl(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("openssl", { args: ["version"], stdout: "null" }).output();
    return out.success ? undefined : "openssl version failed";
  } catch (error) {
    return (error as Error).message;
  }
}

/** A self-made client certificate naming the mesh CA as issuer, with `san` and the EKU bytes. */
async function impostor(san: string, ekuValue: Uint8Array<ArrayBuffer>) {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0102",
    subject: "CN=contrast-workload",
    issuer: "CN=system:coordinator:intermediate,O=contrast",
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: san }]),
      new x509.Extension("2.5.29.37", false, ekuValue),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { cert: cert.toString("pem"), key: encodePem("PRIVATE KEY", pkcs8) };
}

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
        const fake = await impostor("victim", eku);
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

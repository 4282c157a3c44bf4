/**
 * The registry client (`fetch` with `Deno.createHttpClient({ caCerts })`) against a server whose
 * certificate names the configured CA as its issuer but is signed by the server's own key and
 * malformed (an OCTET STRING where the extKeyUsage SEQUENCE belongs: webpki `BadDer`). Deno 2.9's
 * `node:tls` client accepts such a certificate without a signature check when its issuer name
 * equals a trusted CA's subject (the mesh egress had to check the server itself, b90bf3d);
 * `fetch` has no such fallback (measured: refused), and this keeps it so, because a registry
 * that answers tag lookups is trusted through TLS alone. Control: a certificate the CA really
 * issued is reached. The server is `openssl s_server -www` (Deno's TLS servers refuse to load the
 * malformed certificate).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { RegistryClient } from "../../oci/registry_client.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import { UnavailableError } from "../../util/errors/mod.ts";
import { freePort } from "../helpers/free_port.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { whyNoOpenssl } from "../helpers/openssl.ts";

const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const CA_NAME = "CN=contrast test registry CA";

async function keyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]) as CryptoKeyPair;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  return encodePem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
  );
}

/** A server certificate for 127.0.0.1 naming the CA as issuer, signed by `signer`. */
async function leaf(
  keys: CryptoKeyPair,
  signer: CryptoKey,
  eku: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0a0b",
    subject: "CN=registry",
    issuer: CA_NAME,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: signer,
    signingAlgorithm: ECDSA,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }]),
      new x509.Extension("2.5.29.37", false, eku),
    ],
  });
  return cert.toString("pem") + "\n";
}

/** Waits until something accepts TCP connections on `port`. */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const SERVER_AUTH = new Uint8Array([0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 1]);
const MALFORMED = new Uint8Array([0x04, 0x00]);
const why = await whyNoOpenssl();

Deno.test({
  name: "the registry client refuses a malformed certificate that only names the trusted CA",
  ignore: why !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const caKeys = await keyPair();
      const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "01",
        name: CA_NAME,
        notBefore: new Date(Date.now() - 3_600_000),
        notAfter: new Date(Date.now() + 3_600_000),
        keys: caKeys,
        signingAlgorithm: ECDSA,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      });
      const serverKeys = await keyPair();
      await Deno.writeTextFile(`${dir}/server.key`, await keyPem(serverKeys));
      const cases = [
        // Control: issued by the CA, well-formed.
        ["issued by the CA", await leaf(serverKeys, caKeys.privateKey, SERVER_AUTH), true],
        // The impostor: the CA's name, its own signature, unreadable to webpki.
        ["forged, malformed", await leaf(serverKeys, serverKeys.privateKey, MALFORMED), false],
      ] as const;
      for (const [label, pem, reached] of cases) {
        await Deno.writeTextFile(`${dir}/server.pem`, pem);
        const port = await freePort();
        const server = new Deno.Command("openssl", {
          args: [
            ...["s_server", "-accept", `127.0.0.1:${port}`, "-www"],
            ...["-cert", `${dir}/server.pem`, "-key", `${dir}/server.key`],
          ],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn();
        const client = new RegistryClient({ caCertificates: [ca.toString("pem")], retries: 0 });
        try {
          await waitForPort(port);
          const answer = client.getManifest(
            { registry: `127.0.0.1:${port}`, repository: "app" },
            "v1",
            "image",
          );
          if (reached) {
            // `s_server -www` answers every GET with a status page (no digest header).
            const fetched = await answer;
            assert.match(new TextDecoder().decode(fetched.bytes), /s_server/, label);
          } else {
            await assert.rejects(
              answer,
              (e: unknown) =>
                e instanceof UnavailableError && /cannot reach registry/.test(e.message) &&
                /certificate/i.test(e.message),
              label,
            );
          }
        } finally {
          client.close();
          try {
            server.kill();
          } catch { /* exited */ }
          await server.status;
        }
      }
    }),
});

if (why !== undefined) console.warn(`SKIPPED forged_ca_name_test: no openssl (${why})`);

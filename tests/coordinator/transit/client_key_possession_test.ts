/**
 * The transit API authorises a caller by the mesh certificate its TLS handshake presented
 * (`coordinator/transit/authorize.ts`), trusting the handshake to prove that the caller holds its
 * key. A pod's mesh certificate is not secret (every mesh peer it talks to receives it), so this
 * keeps that proof: `tools/tlsimpostor` presents a genuine pod certificate while signing the
 * handshake with another key (TLS 1.3 and 1.2) and must get no answer; control: with the
 * certificate's own key it is served. (Deno 2.9's TLS *client* skips the handshake signature for
 * certificates webpki cannot parse; its server does not, measured; a malformed certificate
 * naming the mesh CA is refused at the handshake too.)
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { findGo, impostorTest, runImpostorClient } from "../../helpers/tlsimpostor.ts";
import { b64, podCredentials, transitCoordinator } from "./fixture.ts";

const go = await findGo();

/**
 * A certificate with `publicKey` naming the mesh CA (`issuer`) as issuer, signed by a key of its
 * own, with the pod's claims extension copied, and a malformed extKeyUsage (webpki: `BadDer`).
 */
async function forgedLike(genuinePem: string): Promise<string> {
  const genuine = new x509.X509Certificate(x509.PemConverter.decode(genuinePem)[0]!);
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0c0d",
    subject: genuine.subject,
    issuer: genuine.issuer,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: await genuine.publicKey.export(),
    signingKey: keys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [
      ...genuine.extensions.filter((e) => e.type !== "2.5.29.37"),
      new x509.Extension("2.5.29.37", false, new Uint8Array([0x04, 0x00])),
    ],
  });
  return cert.toString("pem") + "\n";
}

impostorTest(
  "transit: a caller presenting a pod's certificate without its key gets nothing",
  go,
  async (binary, dir) => {
    const { d, c, view, port } = await transitCoordinator();
    try {
      const web = await podCredentials(await view(), d.pods.web!.digest);
      await Deno.writeTextFile(`${dir}/web.pem`, web.certPem);
      await Deno.writeTextFile(`${dir}/web.key`, web.keyPem);
      await Deno.writeTextFile(`${dir}/forged.pem`, await forgedLike(web.certPem));
      const call = (cert: string, mode: string, max: string) =>
        runImpostorClient(binary, [
          ...["-connect", `127.0.0.1:${port()}`, "-path", "/v1/transit/encrypt/web-secret"],
          ...["-body", JSON.stringify({ plaintext: b64("x") })],
          ...["-cert", cert, "-key", `${dir}/web.key`, "-mode", mode, "-max", max],
        ]);
      for (const max of ["13", "12"]) {
        assert.equal(await call(`${dir}/web.pem`, "own", max), "STATUS 200", `TLS 1.${max[1]}`);
        for (const [label, cert] of [["genuine", "web.pem"], ["forged", "forged.pem"]]) {
          const answer = await call(`${dir}/${cert}`, "other", max);
          assert.match(answer, /^ERROR /, `${label}, TLS 1.${max[1]}: ${answer}`);
        }
      }
    } finally {
      await c.close();
    }
  },
);

if (go === undefined) {
  console.warn("SKIPPED client_key_possession_test: no Go toolchain to build tools/tlsimpostor");
}

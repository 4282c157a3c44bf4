import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { verifyPeerLeaf } from "../../meshproxy/peer_trust.ts";
import { parseCertificate } from "../../x509/certificate.ts";
import { VerificationError } from "../../util/errors/mod.ts";
import { issuePod, meshAuthority } from "../../bench/meshproxy/credentials.ts";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const HOUR = 3_600_000;

async function keys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(EC, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** A self-signed CA and a leaf it signs with the given extensions. */
async function caAndLeaf(extensions: x509.Extension[], now = Date.now()) {
  const caKeys = await keys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=test mesh CA",
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + HOUR),
    keys: caKeys,
    signingAlgorithm: SIGN,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=peer",
    issuer: ca.subject,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + HOUR),
    publicKey: (await keys()).publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGN,
    extensions,
  });
  return {
    ca: parseCertificate(new Uint8Array(ca.rawData), "ca"),
    leaf: new Uint8Array(leaf.rawData),
  };
}

function leafDer(chainPem: string): Uint8Array {
  return parseCertificate(chainPem.split(/(?<=-----END CERTIFICATE-----)/)[0]!, "leaf").der;
}

async function refused(promise: Promise<void>, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof VerificationError, `${error.name}: ${error.message}`);
    assert.match(error.message, reason);
    return true;
  });
}

Deno.test("verifyPeerLeaf accepts a mesh leaf for both roles", async () => {
  const ca = await meshAuthority();
  const pod = await issuePod(ca, ["bot"]);
  const meshCa = parseCertificate(ca.meshCaPem, "meshCa");
  await verifyPeerLeaf(leafDer(pod.certChain), meshCa, new Date(), "clientAuth");
  await verifyPeerLeaf(leafDer(pod.certChain), meshCa, new Date(), "serverAuth");
});

Deno.test("verifyPeerLeaf refuses another (or an earlier) mesh CA's leaf", async () => {
  const ca = await meshAuthority();
  const rotated = await ca.rotateMeshCa();
  const pod = await issuePod(ca, ["bot"]);
  await refused(
    verifyPeerLeaf(
      leafDer(pod.certChain),
      parseCertificate(rotated.meshCaPem, "meshCa"),
      new Date(),
      "clientAuth",
    ),
    /peer certificate/,
  );
});

Deno.test("verifyPeerLeaf refuses a leaf outside its validity", async () => {
  const ca = await meshAuthority();
  const pod = await issuePod(ca, ["bot"], { notAfter: new Date(Date.now() + 60_000) });
  const meshCa = parseCertificate(ca.meshCaPem, "meshCa");
  await refused(
    verifyPeerLeaf(leafDer(pod.certChain), meshCa, new Date(Date.now() + 120_000), "clientAuth"),
    /valid from .* not at/,
  );
});

Deno.test("verifyPeerLeaf refuses a CA certificate and a leaf without the role's usage", async () => {
  const asCa = await caAndLeaf([new x509.BasicConstraintsExtension(true, undefined, true)]);
  await refused(
    verifyPeerLeaf(asCa.leaf, asCa.ca, new Date(), "clientAuth"),
    /is a CA certificate/,
  );
  const serverOnly = await caAndLeaf([
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ]);
  await refused(
    verifyPeerLeaf(serverOnly.leaf, serverOnly.ca, new Date(), "clientAuth"),
    /lacks the clientAuth extended key usage/,
  );
  await verifyPeerLeaf(serverOnly.leaf, serverOnly.ca, new Date(), "serverAuth");
  const noEku = await caAndLeaf([]);
  await verifyPeerLeaf(noEku.leaf, noEku.ca, new Date(), "clientAuth");
});

Deno.test("verifyPeerLeaf refuses bytes that are no certificate", async () => {
  const ca = await meshAuthority();
  await refused(
    verifyPeerLeaf(
      new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      parseCertificate(ca.meshCaPem, "meshCa"),
      new Date(),
      "clientAuth",
    ),
    /peer certificate.*unreadable/,
  );
});

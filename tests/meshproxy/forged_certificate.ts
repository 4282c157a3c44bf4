/**
 * A certificate a hostile peer makes itself to pass as a mesh workload: the mesh CA's subject as
 * issuer, the SAN it wants to claim, an extKeyUsage value of the test's choosing (malformed or
 * well-formed), signed by its own key. Shared by the egress (forged server) and ingress (forged
 * client) tests.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { encodePem } from "../../util/bytes/mod.ts";

/** The mesh CA intermediate's subject, as the Coordinator names it. */
const MESH_CA_SUBJECT = "CN=system:coordinator:intermediate,O=contrast";

/**
 * A self-made certificate with subject `subject`, the mesh CA as issuer, the DNS SAN `san` and
 * `ekuValue` as the extKeyUsage extension's value: its PEM and its key's PKCS#8 PEM.
 */
export async function selfMadeMeshCertificate(
  subject: string,
  san: string,
  ekuValue: Uint8Array<ArrayBuffer>,
): Promise<{ cert: string; key: string }> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0102",
    subject,
    issuer: MESH_CA_SUBJECT,
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

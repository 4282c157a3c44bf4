/**
 * The pinned client's security rests on the TLS handshake proving that the server holds the
 * private key of the certificate it presents: the client pins that certificate's key and checks
 * that the Coordinator's evidence binds it, so a man in the middle who presents the genuine
 * Coordinator's certificate (public: every client receives it) without its key must fail the
 * handshake. The client connects with `rejectUnauthorized: false` (no Web PKI chain). Deno's
 * `node:tls` still checks the handshake signature against the presented certificate, but
 * `Deno.connectTls` under `--unsafely-ignore-certificate-errors` does not (deno_tls'
 * `NoCertificateVerification` answers "valid" for every handshake signature; measured: it
 * completes the handshake with `tools/tlsimpostor`'s other key), so this guards the property
 * against a change of client or runtime: `tools/tlsimpostor` presents a certificate and signs
 * the handshake with another key, over TLS 1.3 and 1.2 (the client speaks TLS 1.3 only since the
 * mesh request is bound to the connection's TLS 1.3 exporter, so over TLS 1.2 even the genuine key
 * is refused, before any request).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import { PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { decodePem, encodePem, sha256 } from "../../util/bytes/mod.ts";
import { ContrastError, UnavailableError } from "../../util/errors/mod.ts";
import { findGo, impostorTest, startImpostor } from "../helpers/tlsimpostor.ts";

const go = await findGo();

impostorTest(
  "the pinned client refuses a server that presents a certificate without holding its key",
  go,
  async (binary, dir) => {
    // The shape the Coordinator serves: with an evidence extension (here a report of zeros). The
    // "other" case below shows webpki parses it, so its handshake signature is checked.
    const identity = await createAttestedTlsIdentity(await generateTlsKeyPair(), {
      platform: "snp",
      report: new Uint8Array(1184),
      aux: new Uint8Array(64).fill(7),
    });
    await Deno.writeTextFile(`${dir}/cert.pem`, identity.certPem);
    await Deno.writeTextFile(`${dir}/key.pem`, identity.keyPem);
    const spkiSha256 = await sha256(identity.spki);
    for (const max of ["13", "12"]) {
      const base = ["-cert", `${dir}/cert.pem`, "-key", `${dir}/key.pem`, "-max", max];
      // Control: the same server with the certificate's own key is reached and pinned (TLS 1.3),
      // or refused before any request for its version (TLS 1.2: the client's minVersion).
      const own = await startImpostor(binary, [...base, "-mode", "own"]);
      try {
        const client = new PinnedHttpsClient(own.address, { timeoutMs: 10_000 });
        if (max === "13") {
          assert.deepEqual(await client.request("POST", "/attest", {}), {});
          assert.deepEqual(client.pinnedSpkiSha256, spkiSha256, "TLS 1.3: pinned");
        } else {
          await assert.rejects(
            client.request("POST", "/attest", {}),
            (e: unknown) => e instanceof UnavailableError && /ProtocolVersion/.test(e.message),
          );
          assert.equal(client.serverCertificate, undefined, "TLS 1.2: nothing learnt");
        }
        client.close();
      } finally {
        await own.stop();
      }
      // The impostor: same certificate, handshake signed with another key.
      const other = await startImpostor(binary, [...base, "-mode", "other"]);
      try {
        await assertRefusedEitherWay(other.address, spkiSha256, `TLS 1.${max[1]}`);
      } finally {
        await other.stop();
      }
    }
  },
);

/**
 * Asserts that the pinned client, both learning the server's key and pinned to `spkiSha256`,
 * gets no answer from the server at `address` (a ContrastError) and learns no certificate;
 * `what` names the case in the messages.
 */
async function assertRefusedEitherWay(
  address: string,
  spkiSha256: Uint8Array,
  what: string,
): Promise<void> {
  for (const pinned of [undefined, spkiSha256]) {
    const client = new PinnedHttpsClient(address, {
      timeoutMs: 10_000,
      ...(pinned ? { pinnedSpkiSha256: pinned } : {}),
    });
    const error = await client.request("POST", "/attest", {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    const which = `${what}, ${pinned ? "pinned" : "learning"}`;
    assert.ok(error instanceof ContrastError, `${which}: answered (${String(error)})`);
    assert.equal(client.serverCertificate, undefined, `${which}: nothing learnt`);
    client.close();
  }
}

/**
 * A certificate carrying `publicKey` (the genuine Coordinator's key, which is public) that webpki
 * cannot parse (an OCTET STRING where the extKeyUsage SEQUENCE belongs: `BadDer`), signed by a key
 * of the impostor's (it does not hold the Coordinator's).
 */
async function malformedWithKey(publicKey: CryptoKey): Promise<string> {
  const impostor = await generateTlsKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0102",
    subject: "CN=contrast-coordinator",
    issuer: "CN=contrast-coordinator",
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey,
    signingKey: impostor.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.Extension("2.5.29.37", false, new Uint8Array([0x04, 0x00]))],
  });
  return cert.toString("pem") + "\n";
}

/** The genuine certificate `pem` with one byte after it (webpki: `TrailingData`). */
function withTrailingByte(pem: string): string {
  const der = decodePem(pem, "CERTIFICATE", "certificate")[0]!.der;
  const longer = new Uint8Array(der.length + 1);
  longer.set(der);
  return encodePem("CERTIFICATE", longer);
}

// Deno 2.9's TLS client skips the handshake signature check when webpki cannot parse the server
// certificate (deno_tls `filter_invalid_encoding_err`: `BadEncoding` counts as "signature valid",
// a fallback meant for X.509 v1 certificates). So a certificate webpki calls malformed but our
// parser reads, carrying the genuine key, needs no private key at all: before the client checked
// the certificate's self-signature itself, it completed the handshake with the impostor and the
// pin (and the evidence's binding of the TLS key) passed.
impostorTest(
  "the pinned client refuses a malformed certificate with the genuine key from a keyless server",
  go,
  async (binary, dir) => {
    const keys = await generateTlsKeyPair();
    const identity = await createAttestedTlsIdentity(keys, undefined);
    const spkiSha256 = await sha256(identity.spki);
    const forged = {
      "malformed extKeyUsage": await malformedWithKey(keys.publicKey),
      "trailing byte": withTrailingByte(identity.certPem),
    };
    for (const [label, pem] of Object.entries(forged)) {
      await Deno.writeTextFile(`${dir}/forged.pem`, pem);
      for (const max of ["13", "12"]) {
        const other = await startImpostor(binary, [
          ...["-cert", `${dir}/forged.pem`, "-mode", "other", "-max", max],
        ]);
        try {
          await assertRefusedEitherWay(other.address, spkiSha256, `${label}, TLS 1.${max[1]}`);
        } finally {
          await other.stop();
        }
      }
    }
  },
);

if (go === undefined) {
  console.warn("SKIPPED key_possession_test: no Go toolchain to build tools/tlsimpostor");
}

/**
 * SANs are read from the certificate DER, not node's `subjectaltname` text (which joins SANs with
 * ", " unquoted, so a URI containing ", DNS:coordinator" would read as a second SAN).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { issuePodWithSans, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import { certificateSans, sanMatches } from "../../meshproxy/san.ts";
import { decodePem } from "../../util/bytes/pem.ts";
import { ParseError } from "../../util/errors/mod.ts";

async function leafDer(sans: Parameters<typeof issuePodWithSans>[1]): Promise<Uint8Array> {
  const pod = await issuePodWithSans(await meshAuthority(), sans);
  return decodePem(pod.certChain, "CERTIFICATE", "certChain")[0]!.der;
}

Deno.test("SANs come from the DER: a URI with ', DNS:coordinator' stays one URI", async () => {
  const der = await leafDer([
    { kind: "dns", value: "web" },
    { kind: "uri", value: "spiffe://x/a, DNS:coordinator" },
    { kind: "ip", value: "10.0.0.1" },
    { kind: "ip", value: "2001:db8::1" },
  ]);
  const sans = certificateSans(der);
  assert.deepEqual(sans, [
    "DNS:web",
    "URI:spiffe://x/a, DNS:coordinator",
    "IP:10.0.0.1",
    "IP:2001:db8:0:0:0:0:0:1",
  ]);
  assert.equal(sanMatches(sans, "coordinator"), false, "the URI does not make it coordinator");
  assert.equal(sanMatches(sans, "web"), true);
  assert.equal(sanMatches(sans, "10.0.0.1"), true);
  // What node's text form shows for the same certificate (the reason this is not used).
  assert.match(
    new X509Certificate(der).subjectAltName ?? "",
    /URI:spiffe:\/\/x\/a, DNS:coordinator/,
  );
});

Deno.test("one SAN reads as one; a truncated certificate is a ParseError", async () => {
  const der = await leafDer([{ kind: "dns", value: "web" }]);
  assert.deepEqual(certificateSans(der), ["DNS:web"]);
  assert.throws(() => certificateSans(der.subarray(0, der.length - 10)), ParseError);
});

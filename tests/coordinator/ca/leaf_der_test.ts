import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import { encodeTime, ipAddressBytes } from "../../../coordinator/ca/leaf_der.ts";
import { CertificateAuthority } from "../../../coordinator/ca/certificate_authority.ts";
import { SeedEngine } from "../../../seed/seed_engine.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { encodeHex } from "../../../util/bytes/mod.ts";

Deno.test("ipAddressBytes: IPv4, IPv6 with ::, embedded IPv4; non-addresses rejected by field", () => {
  assert.equal(encodeHex(ipAddressBytes("10.0.0.1")), "0a000001");
  assert.equal(encodeHex(ipAddressBytes("::1")), "0".repeat(31) + "1");
  assert.equal(encodeHex(ipAddressBytes("::")), "0".repeat(32));
  assert.equal(
    encodeHex(ipAddressBytes("2001:db8::8:800:200c:417a")),
    "20010db80000000000080800200c417a",
  );
  assert.equal(encodeHex(ipAddressBytes("::ffff:192.0.2.1")), "00000000000000000000ffffc0000201");
  assert.equal(
    encodeHex(ipAddressBytes("1:2:3:4:5:6:1.2.3.4")),
    "00010002000300040005000601020304",
  );
  for (const bad of ["web", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3", "::g", "1.2.3.256"]) {
    assert.throws(() => ipAddressBytes(bad), (e) => e instanceof ParseError && e.field === "sans");
  }
});

Deno.test("encodeTime: UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280)", () => {
  const text = (d: Uint8Array) => new TextDecoder().decode(d.subarray(2));
  const utc = encodeTime(new Date("2026-12-06T08:01:39.750Z"));
  assert.equal(utc[0], 0x17);
  assert.equal(text(utc), "261206080139Z");
  const general = encodeTime(new Date("2050-01-01T00:00:00Z"));
  assert.equal(general[0], 0x18);
  assert.equal(text(general), "20500101000000Z");
});

Deno.test("a leaf with an IPv6 SAN and a validity past 2049 parses, and its key ids match @peculiar/x509's", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
  const pod = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const leaf = await ca.issueLeaf({
    publicKey: pod.publicKey,
    sans: [{ kind: "ip", value: "fd00::1" }, { kind: "dns", value: "web" }],
    notAfter: new Date("2060-01-01T00:00:00Z"),
    commonName: "a,b=c",
  });
  const cert = new x509.X509Certificate(leaf.der as Uint8Array<ArrayBuffer>);
  assert.equal(cert.toString("pem") + "\n", leaf.pem);
  assert.equal(cert.notAfter.toISOString(), "2060-01-01T00:00:00.000Z");
  assert.equal(cert.subjectName.getField("CN")[0], "a,b=c");
  assert.equal(cert.issuer, ca.meshCa.subject);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert.deepEqual(san.names.items.map((n) => [n.type, n.value]), [["ip", "fd00::1"], [
    "dns",
    "web",
  ]]);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)!;
  assert.equal(ski.keyId, (await x509.SubjectKeyIdentifierExtension.create(pod.publicKey)).keyId);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  assert.equal(aki.keyId, ca.meshCa.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
  assert.ok(await cert.verify({ publicKey: ca.meshCa.publicKey, signatureOnly: true }));
});

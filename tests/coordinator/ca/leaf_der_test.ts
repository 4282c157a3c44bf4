import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import {
  encodeLeafTbs,
  encodeSignedCertificate,
  encodeTime,
  ipAddressBytes,
  leafTemplate,
} from "../../../coordinator/ca/leaf_der.ts";
import {
  claimsExtensionOid,
  claimsExtensionOidDer,
  claimsExtensionWriter,
  encodeClaimsExtension,
} from "../../../protocol/claims_extension.ts";
import type { AttestationClaims } from "../../../evidence/types.ts";
import type { SubjectAltName } from "../../../manifest/sans.ts";
import { encodeElement, encodeOid, readSignedDer, Tag } from "../../../x509/der.ts";
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

// The nested encoder the one-array writer replaced: one array per element, `encodeElement` of
// `x509/der.ts` around each. The writer must give these bytes for every leaf.
const nested = {
  version: Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02),
  algorithm: encodeElement(Tag.sequence, encodeOid("1.2.840.10045.4.3.3")),
  extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
    return encodeElement(
      Tag.sequence,
      encodeOid(oid),
      ...(critical ? [Uint8Array.of(Tag.boolean, 0x01, 0xff)] : []),
      encodeElement(Tag.octetString, value),
    );
  },
  time(date: Date): Uint8Array {
    const digits = date.toISOString().slice(0, 19).replace(/[-T:]/g, "") + "Z";
    const year = date.getUTCFullYear();
    return year >= 1950 && year < 2050
      ? encodeElement(Tag.utcTime, new TextEncoder().encode(digits.slice(2)))
      : encodeElement(Tag.generalizedTime, new TextEncoder().encode(digits));
  },
  name(commonName: string): Uint8Array {
    const attribute = encodeElement(
      Tag.sequence,
      encodeOid("2.5.4.3"),
      encodeElement(Tag.utf8String, new TextEncoder().encode(commonName)),
    );
    return encodeElement(Tag.sequence, encodeElement(Tag.set, attribute));
  },
  tbs(issuer: Uint8Array, aki: Uint8Array, leaf: {
    serial: Uint8Array;
    notBefore: Date;
    notAfter: Date;
    commonName: string;
    spki: Uint8Array;
    ski: Uint8Array;
    sans: readonly SubjectAltName[];
    claims?: AttestationClaims;
  }): Uint8Array {
    const names = encodeElement(
      Tag.sequence,
      ...leaf.sans.map((san) =>
        san.kind === "ip"
          ? encodeElement(0x87, ipAddressBytes(san.value))
          : encodeElement(san.kind === "uri" ? 0x86 : 0x82, new TextEncoder().encode(san.value))
      ),
    );
    const extensions = [
      nested.extension("2.5.29.19", true, encodeElement(Tag.sequence)),
      nested.extension("2.5.29.15", true, Uint8Array.of(Tag.bitString, 2, 7, 0x80)),
      nested.extension(
        "2.5.29.37",
        false,
        encodeElement(
          Tag.sequence,
          encodeOid("1.3.6.1.5.5.7.3.1"),
          encodeOid("1.3.6.1.5.5.7.3.2"),
        ),
      ),
      nested.extension("2.5.29.17", false, names),
      nested.extension("2.5.29.14", false, encodeElement(Tag.octetString, leaf.ski)),
      aki,
      ...(leaf.claims
        ? [
          nested.extension(
            claimsExtensionOid(leaf.claims.platform),
            false,
            encodeClaimsExtension(leaf.claims),
          ),
        ]
        : []),
    ];
    return encodeElement(
      Tag.sequence,
      nested.version,
      encodeElement(Tag.integer, leaf.serial),
      nested.algorithm,
      issuer,
      encodeElement(Tag.sequence, nested.time(leaf.notBefore), nested.time(leaf.notAfter)),
      nested.name(leaf.commonName),
      leaf.spki,
      encodeElement(0xa3, encodeElement(Tag.sequence, ...extensions)),
    );
  },
  unsigned(bytes: Uint8Array): Uint8Array {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    return trimmed[0]! & 0x80
      ? encodeElement(Tag.integer, Uint8Array.of(0), trimmed)
      : encodeElement(Tag.integer, trimmed);
  },
  certificate(tbs: Uint8Array, signature: Uint8Array): Uint8Array {
    const half = signature.length / 2;
    const value = encodeElement(
      Tag.sequence,
      nested.unsigned(signature.subarray(0, half)),
      nested.unsigned(signature.subarray(half)),
    );
    return encodeElement(
      Tag.sequence,
      tbs,
      nested.algorithm,
      encodeElement(Tag.bitString, Uint8Array.of(0), value),
    );
  },
};

Deno.test("encodeLeafTbs writes the nested encoder's bytes: SAN kinds and counts, claims, names, validity at 1950/2050, length-field boundaries", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
  const meshCa = new Uint8Array(ca.meshCa.rawData);
  const aki = encodeElement(Tag.sequence, encodeOid("2.5.29.35"), Uint8Array.of(4, 3, 1, 2, 3));
  const template = leafTemplate(meshCa, aki);
  assert.deepEqual(template.issuer, new Uint8Array(ca.meshCa.subjectName.toArrayBuffer()));
  let seed = 11;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pod = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pod.publicKey));
  const sanPool: SubjectAltName[] = [
    { kind: "dns", value: "web" },
    { kind: "dns", value: "*.default.svc.cluster.local" },
    { kind: "dns", value: "a".repeat(130) },
    { kind: "dns", value: "bücher.example" },
    { kind: "uri", value: "spiffe://contrast/web" },
    { kind: "uri", value: "urn:contrast:policy:" + "ab".repeat(32) },
    { kind: "ip", value: "10.0.0.1" },
    { kind: "ip", value: "fd00::1" },
    { kind: "ip", value: "::ffff:192.0.2.1" },
  ];
  const dates = [
    new Date("1949-12-31T23:59:59.999Z"),
    new Date("1950-01-01T00:00:00Z"),
    new Date("2026-12-07T11:16:27.750Z"),
    new Date("2049-12-31T23:59:59.999Z"),
    new Date("2050-01-01T00:00:00Z"),
    new Date("0999-03-04T05:06:07Z"),
    new Date("9999-12-31T23:59:59Z"),
  ];
  const claimsOf = (round: number): AttestationClaims | undefined => {
    if (round % 4 === 3) return undefined;
    const details: Record<string, string> = {};
    // Few to many details: the claims value and the whole TBS cross 127/255-byte lengths too.
    for (let i = 0; i < next(20); i++) {
      details[`k${i}${"é".repeat(next(3))}`] = "v".repeat(next(90));
    }
    return {
      platform: round % 2 ? "snp" : "tdx",
      reportData: new Uint8Array(64).fill(round),
      hostData: new Uint8Array(round % 2 ? 32 : 48).fill(2),
      measurement: new Uint8Array(48).fill(3),
      referenceValueIndex: next(400),
      details,
    };
  };
  for (let round = 0; round < 200; round++) {
    const sans = Array.from(
      { length: 1 + next(round % 10 === 0 ? 40 : 5) },
      () => sanPool[next(sanPool.length)]!,
    );
    const serial = crypto.getRandomValues(new Uint8Array(1 + next(20)));
    serial[0] = (serial[0]! & 0x7f) | 0x01;
    const leaf = {
      serial,
      notBefore: dates[next(dates.length)]!,
      notAfter: dates[next(dates.length)]!,
      commonName: ["contrast-workload", "a,b=c", "ß".repeat(next(80))][next(3)]!,
      spki,
      ski: crypto.getRandomValues(new Uint8Array(20)),
      sans,
      claims: claimsOf(round),
    };
    const expected = nested.tbs(template.issuer, aki, leaf);
    const got = encodeLeafTbs(template, {
      ...leaf,
      subjectKeyIdentifier: leaf.ski,
      claims: leaf.claims && {
        oid: claimsExtensionOidDer(leaf.claims.platform),
        value: claimsExtensionWriter(leaf.claims),
      },
    });
    assert.deepEqual(got, expected, `round ${round}`);
  }
});

Deno.test("encodeLeafTbs refuses a validity year without an X.509 time form, naming the field", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
  const template = leafTemplate(new Uint8Array(ca.meshCa.rawData), new Uint8Array(0));
  const leaf = {
    serial: Uint8Array.of(1),
    notBefore: new Date("2026-01-01T00:00:00Z"),
    notAfter: new Date("2027-01-01T00:00:00Z"),
    commonName: "contrast-workload",
    spki: new Uint8Array(0),
    subjectKeyIdentifier: new Uint8Array(20),
    sans: [{ kind: "dns" as const, value: "web" }],
  };
  assert.throws(
    () => encodeLeafTbs(template, { ...leaf, notAfter: new Date("+010000-01-01T00:00:00Z") }),
    (e) => e instanceof ParseError && e.field === "notAfter" && /10000/.test(e.message),
  );
  assert.throws(
    () => encodeLeafTbs(template, { ...leaf, notBefore: new Date(NaN) }),
    (e) => e instanceof ParseError && e.field === "notBefore",
  );
  assert.throws(
    () => encodeLeafTbs(template, { ...leaf, sans: [{ kind: "ip", value: "web" }] }),
    (e) => e instanceof ParseError && e.field === "sans",
  );
});

Deno.test("encodeSignedCertificate writes the nested encoder's bytes for r and s with leading zeros and high bits", () => {
  const tbs = encodeElement(Tag.sequence, new Uint8Array(300).fill(7));
  const half = (first: number[]) => {
    const out = new Uint8Array(48).fill(0x5a);
    out.set(first);
    return out;
  };
  const starts = [[0x80], [0x7f], [0, 0x80], [0, 0x7f], [0, 0, 0, 1], [0xff, 0xff]];
  for (const r of starts) {
    for (const s of starts) {
      const signature = new Uint8Array(96);
      signature.set(half(r));
      signature.set(half(s), 48);
      const got = encodeSignedCertificate(tbs, signature);
      assert.deepEqual(got, nested.certificate(tbs, signature));
      assert.deepEqual(readSignedDer(got, "leaf", "Certificate", "tbsCertificate").tbs.raw, tbs);
    }
  }
  // All-zero halves: INTEGER 0, one content byte.
  const zero = new Uint8Array(96);
  assert.deepEqual(encodeSignedCertificate(tbs, zero), nested.certificate(tbs, zero));
});

Deno.test("encodeTime: whole seconds at the 1950 and 2050 boundaries; years past 9999 refused", () => {
  const text = (d: Uint8Array) => `${d[0]}:${new TextDecoder().decode(d.subarray(2))}`;
  assert.equal(text(encodeTime(new Date("1949-12-31T23:59:59.999Z"))), "24:19491231235959Z");
  assert.equal(text(encodeTime(new Date("1950-01-01T00:00:00Z"))), "23:500101000000Z");
  assert.equal(text(encodeTime(new Date("2049-12-31T23:59:59.999Z"))), "23:491231235959Z");
  assert.equal(text(encodeTime(new Date("9999-12-31T23:59:59Z"))), "24:99991231235959Z");
  assert.throws(
    () => encodeTime(new Date("+010000-01-01T00:00:00Z")),
    (e) => e instanceof ParseError && e.field === "date",
  );
});

import assert from "node:assert/strict";
import "reflect-metadata";
import * as px from "@peculiar/x509";
import { VerificationError } from "../../util/errors/mod.ts";
import { parseCertificate } from "../../x509/certificate.ts";
import {
  ecdsaDerToRaw,
  importEcdsaPublicKey,
  verifyCertificateSignature,
  verifyEcdsa,
} from "../../x509/signature.ts";
import { conformanceTest } from "../conformance.ts";
import { issue, makeKeys, makeRoot } from "./pki_fixture.ts";
import { AMD_PRODUCTS, conformanceCert, conformanceCerts } from "./vectors.ts";

conformanceTest(
  "RSA-PSS SHA-384 (salt 48): AMD ARK, ASK and ASVK verify for every product",
  async () => {
    for (const product of AMD_PRODUCTS) {
      const ark = await conformanceCert(`amd/${product}/ark.pem`, "ark");
      await verifyCertificateSignature(ark, ark, "ark");
      await verifyCertificateSignature(
        await conformanceCert(`amd/${product}/ask.pem`, "ask"),
        ark,
        "ask",
      );
      await verifyCertificateSignature(
        await conformanceCert(`amd/${product}/asvk.pem`, "asvk"),
        ark,
        "asvk",
      );
    }
  },
);

conformanceTest("rejects an AMD ASK whose signature has one flipped byte", async () => {
  const ark = await conformanceCert("amd/milan/ark.pem", "ark");
  const ask = await conformanceCert("amd/milan/ask.pem", "ask");
  const der = new Uint8Array(ask.der);
  der[der.length - 10]! ^= 0x01;
  await assert.rejects(
    verifyCertificateSignature(parseCertificate(der, "ask"), ark, "ask"),
    (e) => {
      assert.ok(e instanceof VerificationError);
      assert.equal(e.field, "ask");
      assert.match(e.message, /RSA-PSS\/SHA-384\/salt 48 signature does not verify/);
      return true;
    },
  );
});

conformanceTest("rejects an AMD ASK whose signed part has one flipped byte", async () => {
  const ark = await conformanceCert("amd/milan/ark.pem", "ark");
  const ask = await conformanceCert("amd/milan/ask.pem", "ask");
  const der = new Uint8Array(ask.der);
  const at = ask.tbs.byteOffset - ask.der.byteOffset + 200; // inside the subject public key
  der[at]! ^= 0x01;
  await assert.rejects(
    verifyCertificateSignature(parseCertificate(der, "ask"), ark, "ask"),
    VerificationError,
  );
});

conformanceTest("rejects a Genoa ASK checked against the Milan ARK", async () => {
  const milan = await conformanceCert("amd/milan/ark.pem", "ark");
  const genoaAsk = await conformanceCert("amd/genoa/ask.pem", "ask");
  await assert.rejects(verifyCertificateSignature(genoaAsk, milan, "ask"), VerificationError);
});

conformanceTest("ECDSA P-384 VCEK keys and P-256 Intel PCK chains verify", async () => {
  const vcek = await conformanceCert("snp/turin-v5-oak/vcek.der", "vcek");
  const ask = await conformanceCert("snp/turin-v5-oak/ask.pem", "ask");
  await verifyCertificateSignature(vcek, ask, "vcek");
  const chain = await conformanceCerts("tdx/v4-gcp-cos113-padded/pck_chain_from_quote.pem", "pck");
  await verifyCertificateSignature(chain[0]!, chain[1]!, "pck");
  await verifyCertificateSignature(chain[1]!, chain[2]!, "pckCa");
  await verifyCertificateSignature(chain[2]!, chain[2]!, "root");
});

for (const kind of ["P-256", "P-384", "RSA-PSS", "RSA-PKCS1", "Ed25519"] as const) {
  Deno.test(`verifies generated ${kind} certificates and rejects a foreign key`, async () => {
    const root = await makeRoot(`root ${kind}`, kind);
    const other = await makeRoot(`other ${kind}`, kind);
    const leaf = await issue({ cn: "leaf", keys: await makeKeys("P-256"), issuer: root });
    await verifyCertificateSignature(leaf.cert, root.cert, "leaf");
    await assert.rejects(
      verifyCertificateSignature(leaf.cert, other.cert, "leaf"),
      VerificationError,
    );
  });
}

Deno.test("rejects a key of the wrong type for the signature algorithm", async () => {
  const root = await makeRoot("ec root", "P-256");
  const rsa = await makeRoot("rsa root", "RSA-PSS");
  const leaf = await issue({ cn: "leaf", keys: await makeKeys("P-256"), issuer: root });
  await assert.rejects(
    verifyCertificateSignature(leaf.cert, rsa.cert, "leaf"),
    /cannot verify ecdsa/,
  );
});

Deno.test("rejects SHA-1 signatures as unsupported, never as a pass", async () => {
  const keys = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-1",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const x509 = await px.X509CertificateGenerator.createSelfSigned({
    name: "CN=sha1",
    keys,
    signingAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" } as Algorithm,
  });
  const cert = parseCertificate(new Uint8Array(x509.rawData), "sha1");
  await assert.rejects(verifyCertificateSignature(cert, cert, "sha1"), (e) => {
    assert.ok(e instanceof VerificationError);
    assert.match(e.message, /unsupported signature algorithm 1\.2\.840\.113549\.1\.1\.5/);
    return true;
  });
});

Deno.test("rejects a certificate whose outer and signed algorithm identifiers differ", async () => {
  const root = await makeRoot("root", "P-384");
  const der = new Uint8Array(root.cert.der);
  // The outer AlgorithmIdentifier ecdsa-with-SHA384 (…04 03 03) becomes …04 03 02 (SHA-256).
  const outer = root.cert.signatureAlgorithm;
  const lastOidByte = root.cert.der.byteOffset === 0
    ? outer.raw.byteOffset - root.cert.der.byteOffset + outer.raw.length - 1
    : -1;
  der[lastOidByte] = 0x02;
  const forged = parseCertificate(der, "forged");
  await assert.rejects(
    verifyCertificateSignature(forged, root.cert, "forged"),
    /signature algorithms differ/,
  );
});

Deno.test("verifyEcdsa accepts raw, DER, x‖y, uncompressed and SPKI keys and rejects tampering", async () => {
  for (const curve of ["P-256", "P-384"] as const) {
    const hash = curve === "P-256" ? "SHA-256" : "SHA-384";
    const { keys } = await makeKeys(curve);
    const data = new TextEncoder().encode("attestation report body");
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash }, keys.privateKey, data),
    );
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
    const point = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
    const size = curve === "P-256" ? 32 : 48;
    const der = encodeEcdsaDer(raw.subarray(0, size), raw.subarray(size));
    assert.deepEqual(ecdsaDerToRaw(der, curve, "sig"), raw);
    for (const publicKey of [keys.publicKey, spki, point, point.subarray(1)]) {
      assert.equal(await verifyEcdsa({ publicKey, curve, hash, signatureRaw: raw, data }), true);
    }
    assert.equal(
      await verifyEcdsa({ publicKey: spki, curve, hash, signatureDer: der, data }),
      true,
    );
    const flipped = new Uint8Array(raw);
    flipped[3]! ^= 1;
    assert.equal(
      await verifyEcdsa({ publicKey: spki, curve, hash, signatureRaw: flipped, data }),
      false,
    );
    const otherData = new TextEncoder().encode("attestation report bodY");
    assert.equal(
      await verifyEcdsa({ publicKey: spki, curve, hash, signatureRaw: raw, data: otherData }),
      false,
    );
    assert.equal(
      await verifyEcdsa({ publicKey: spki, curve, hash, signatureRaw: raw.subarray(1), data }),
      false,
    );
    assert.equal(
      await verifyEcdsa({ publicKey: spki, curve, hash, signatureDer: der.subarray(0, 10), data }),
      false,
    );
  }
});

Deno.test("verifyEcdsa refuses a key of another curve and ambiguous signature input", async () => {
  const { keys } = await makeKeys("P-256");
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  await assert.rejects(importEcdsaPublicKey(spki, "P-384"), VerificationError);
  await assert.rejects(
    verifyEcdsa({ publicKey: spki, curve: "P-256", hash: "SHA-256", data: new Uint8Array(1) }),
    /exactly one/,
  );
  const offCurve = new Uint8Array(64).fill(7);
  await assert.rejects(importEcdsaPublicKey(offCurve, "P-256"), VerificationError);
});

Deno.test("ecdsaDerToRaw rejects non-DER and oversized integers", () => {
  const big = new Uint8Array(33).fill(0x11);
  assert.throws(
    () => ecdsaDerToRaw(encodeEcdsaDer(big, Uint8Array.of(1)), "P-256", "sig"),
    /longer than 32/,
  );
  assert.throws(() => ecdsaDerToRaw(Uint8Array.of(0x30, 0x80, 0, 0), "P-256", "sig"), /indefinite/);
  // A negative r.
  assert.throws(
    () =>
      ecdsaDerToRaw(Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01), "P-256", "sig"),
    /negative/,
  );
});

function encodeEcdsaDer(r: Uint8Array, s: Uint8Array): Uint8Array {
  const int = (v: Uint8Array) => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const body = v[i]! & 0x80 ? [0, ...v.subarray(i)] : [...v.subarray(i)];
    return [0x02, body.length, ...body];
  };
  const body = [...int(r), ...int(s)];
  return Uint8Array.from([0x30, body.length, ...body]);
}

import assert from "node:assert/strict";
import { ContrastError, ParseError } from "../../util/errors/mod.ts";
import { encodePem } from "../../util/bytes/mod.ts";
import {
  certificateFingerprint,
  KeyUsageBit,
  normaliseSerial,
  parseCertificate,
  parseCertificates,
} from "../../x509/certificate.ts";
import { conformanceTest } from "../conformance.ts";
import { AMD_PRODUCTS, conformanceCert, manifestRoots } from "./vectors.ts";
import { conformanceFile } from "../conformance.ts";

conformanceTest(
  "parses AMD ARKs with the fingerprints, serials and constraints documented",
  async () => {
    const roots = await manifestRoots();
    for (const product of AMD_PRODUCTS) {
      const ark = await conformanceCert(`amd/${product}/ark.pem`, "ark");
      assert.equal(await certificateFingerprint(ark), roots.amd[product]);
      assert.match(ark.subject, new RegExp(`CN=ARK-${product}`, "i"));
      assert.equal(ark.subject, ark.issuer);
      assert.ok(ark.selfIssued);
      assert.deepEqual(ark.basicConstraints, { ca: true });
      assert.ok(ark.keyUsage?.has(KeyUsageBit.keyCertSign));
      assert.equal(ark.publicKey.kind, "rsa");
      assert.equal(ark.publicKey.kind === "rsa" && ark.publicKey.bits, 4096);
    }
    const milan = await conformanceCert("amd/milan/ark.pem", "ark");
    assert.equal(milan.serialNumber, "10000");
    assert.equal(milan.notBefore.toISOString(), "2020-10-22T17:23:05.000Z");
    assert.equal(milan.notAfter.toISOString(), "2045-10-22T17:23:05.000Z");
  },
);

conformanceTest("parses a DER VCEK and exposes its raw AMD extensions", async () => {
  const vcek = await conformanceCert("snp/milan-v2-virtee/vcek.der", "vcek");
  assert.match(vcek.subject, /CN=SEV-VCEK/);
  assert.equal(vcek.serialNumber, "0");
  assert.equal(vcek.publicKey.kind, "ec");
  assert.equal(vcek.publicKey.kind === "ec" && vcek.publicKey.curve, "P-384");
  // productName (1.3.6.1.4.1.3704.1.2) is an IA5String "Milan-B0".
  const product = vcek.extension("1.3.6.1.4.1.3704.1.2");
  assert.ok(product);
  assert.equal(new TextDecoder().decode(product.subarray(2)), "Milan-B0");
  assert.equal(vcek.extension("1.2.3.4"), undefined);
  assert.equal(vcek.basicConstraints, undefined);
});

conformanceTest(
  "parses a PEM chain in order and the same certificate from DER and PEM",
  async () => {
    const text = await Deno.readTextFile(
      conformanceFile("tdx/v4-phala-b0c06f-uptodate/pck_chain_from_quote.pem"),
    );
    const chain = parseCertificates(text, "pck");
    assert.equal(chain.length, 3);
    assert.match(chain[0]!.subject, /Intel SGX PCK Certificate/);
    assert.match(chain[2]!.subject, /Intel SGX Root CA/);
    assert.equal(chain[1]!.field, "pck[1]");
    const fromDer = parseCertificate(chain[2]!.der, "root");
    const fromPem = parseCertificate(encodePem("CERTIFICATE", chain[2]!.der), "root");
    assert.equal(await fromDer.fingerprint(), await fromPem.fingerprint());
    const rootDer = await Deno.readFile(conformanceFile("intel/Intel_SGX_Root_CA.der"));
    assert.equal(
      await parseCertificate(rootDer, "root").fingerprint(),
      await fromDer.fingerprint(),
    );
  },
);

conformanceTest("rejects a truncated certificate, naming the field", async () => {
  const ark = await conformanceCert("amd/milan/ark.pem", "ark");
  assert.throws(() => parseCertificate(ark.der.subarray(0, ark.der.length - 1), "ark"), (e) => {
    assert.ok(e instanceof ParseError);
    assert.match(e.field, /^ark/);
    return true;
  });
});

conformanceTest("rejects a certificate followed by trailing bytes", async () => {
  const ark = await conformanceCert("amd/milan/ark.pem", "ark");
  const extended = new Uint8Array([...ark.der, 0]);
  assert.throws(() => parseCertificate(extended, "ark"), /trailing bytes/);
});

conformanceTest("parseCertificate rejects PEM text with two certificates", async () => {
  const text = await Deno.readTextFile(
    conformanceFile("tdx/v4-phala-b0c06f-uptodate/tcb_info_issuer_chain.pem"),
  );
  assert.throws(() => parseCertificate(text, "tcbSigning"), /expected one certificate, found 2/);
});

Deno.test("rejects text without a certificate block", () => {
  assert.throws(() => parseCertificates("hello", "chain"), ParseError);
  assert.throws(
    () => parseCertificate("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----", "c"),
    ParseError,
  );
});

Deno.test("normalises serial numbers (case, colons, leading zeros)", () => {
  assert.equal(normaliseSerial("00:0A:bC"), "abc");
  assert.equal(normaliseSerial("000"), "0");
});

conformanceTest("mutated certificates give only typed errors", async () => {
  const base = (await conformanceCert("snp/milan-v2-virtee/vcek.der", "vcek")).der;
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 1000; n++) {
    const bytes = new Uint8Array(base);
    const flips = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < flips; k++) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    const cut = rand() < 0.2 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
    try {
      const cert = parseCertificate(cut, "vcek");
      void cert.basicConstraints;
      void cert.keyUsage;
      void cert.subject;
      try {
        void cert.publicKey;
      } catch (e) {
        assert.ok(e instanceof ContrastError, String(e));
      }
    } catch (e) {
      assert.ok(e instanceof ContrastError, `untyped error: ${String(e)}`);
    }
  }
});

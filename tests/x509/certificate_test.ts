import assert from "node:assert/strict";
import { ContrastError, ParseError } from "../../util/errors/mod.ts";
import { encodePem, joinBytes } from "../../util/bytes/mod.ts";
import { encodeElement, encodeOid, readElement, Tag } from "../../x509/der.ts";
import { settlesWithin } from "../helpers/settles_within.ts";
import {
  certificateFingerprint,
  KeyUsageBit,
  normaliseSerial,
  parseCertificate,
  parseCertificates,
  parseExtensionList,
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

/** DER of a SEQUENCE of `n` extensions with distinct OIDs 1.2.a.b and empty values. */
function extensionList(n: number, duplicateLast = false): Uint8Array {
  const items: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const j = duplicateLast && i === n - 1 ? 0 : i;
    const oid = encodeOid(`1.2.${Math.floor(j / 100)}.${j % 100}`);
    items.push(encodeElement(Tag.sequence, oid, encodeElement(Tag.octetString, new Uint8Array())));
  }
  return encodeElement(Tag.sequence, joinBytes(items));
}

Deno.test("parseExtensionList refuses a duplicate extension, also the last of many", () => {
  assert.equal(parseExtensionList(readElement(extensionList(300), 0, "x"), "x").length, 300);
  assert.throws(
    () => parseExtensionList(readElement(extensionList(300, true), 0, "x"), "x"),
    (e) =>
      e instanceof ParseError && e.field === "x[299]" &&
      /duplicate extension 1\.2\.0\.0/.test(e.reason),
  );
});

Deno.test("parseExtensionList reads 80 000 extensions in linear time", async () => {
  // A certificate in a quote's PCK chain holds whatever extensions its maker chose. Duplicates
  // were found by searching the list parsed so far: quadratic, 9.3 s for 40 000 extensions and
  // about 37 s for the 80 000 that fit in 800 KB; a set takes ~1 s for them. The bound below only
  // catches the quadratic behaviour (a hang guard, not a speed measurement).
  const der = extensionList(80_000);
  const worker = new Worker(new URL("./extensions_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const answer = new Promise<unknown>((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
    });
    worker.postMessage(der);
    assert.equal(await settlesWithin(answer, 20_000), 80_000);
  } finally {
    worker.terminate();
  }
});

/**
 * Known-answer tests for every wire format contrast defines. The expected bytes and digests are
 * written out by hand here (field by field, digests computed once with an independent SHA-2
 * implementation, Python's hashlib), so any change to a layout, a label, a field order or a length
 * encoding fails these tests, even if the encoder and decoder change together.
 */
import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import {
  coordinatorReportData,
  encodeCoordinatorBinding,
  meshReportData,
  peerReportData,
} from "../../protocol/report_data.ts";
import { digestNative } from "../../util/bytes/digest_native.ts";
import { recoveryMessage } from "../../protocol/signatures.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import {
  decodeClaimsExtension,
  encodeClaimsExtension,
  OID_SNP_CLAIMS,
  OID_TDX_CLAIMS,
} from "../../protocol/claims_extension.ts";
import { decodeOctetStringSequence, encodeOctetStringSequence } from "../../x509/der.ts";

const hex = (...parts: string[]) => decodeHex(parts.join(""));
const repeat = (byte: string, n: number) => byte.repeat(n);

// Inputs shared by the report-data vectors.
const NONCE = hex(repeat("01", 32));
const CHANNEL_BINDING = hex(repeat("04", 32));
const SPKI = hex("3003020105"); // any bytes: only their SHA-256 is bound
const HPKE = hex(repeat("02", 32));
const LATEST = hex(repeat("03", 32));
const ROOT_PEM = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";
const MESH_PEM = "-----BEGIN CERTIFICATE-----\nmesh\n-----END CERTIFICATE-----\n";
// SHA-256 of the inputs above.
const SHA256_SPKI = "417c7763c4e320a6b747b3cb0c6d22f93741b29a32b48594b8eb4c144fe6d729";
const SHA256_HPKE = "75877bb41d393b5fb8455ce60ecd8dda001d06316496b14dfa7f895656eeca4a";
const SHA256_ROOT_PEM = "4b94d7af335871baee6fcc0ac2388c08ff705778646711712cd456200f709dde";
const SHA256_MESH_PEM = "4d2164ed17b95562a4e97f89d9919bfdb1a52d1c58299991ee94c75ac759fb15";

Deno.test("KAT contrast/coordinator/v1: the exact bound bytes and their SHA-512", async () => {
  const binding = {
    nonce: NONCE,
    tlsSpki: SPKI,
    hpkePublicKey: HPKE,
    latestTransition: LATEST,
    caPems: [ROOT_PEM, MESH_PEM],
  };
  const expected = hex(
    "636f6e74726173742f636f6f7264696e61746f722f7631", // "contrast/coordinator/v1"
    "00",
    repeat("01", 32), // nonce
    SHA256_SPKI,
    SHA256_HPKE,
    repeat("03", 32), // latest transition
    "02", // count of CA PEMs
    SHA256_ROOT_PEM,
    SHA256_MESH_PEM,
  );
  assert.equal(encodeHex(await encodeCoordinatorBinding(binding)), encodeHex(expected));
  assert.equal(expected.length, 24 + 32 * 4 + 1 + 32 * 2);
  assert.equal(
    encodeHex(await coordinatorReportData(binding)),
    "547ec14a1125dcdc8b10a13ffc6510c962b5318617bd08f5e2b4d2664517136983e3e1983537ea92530ed1edb3592eeb3207bbb29c89445b6cce7cfe2e77f591",
  );
});

Deno.test("KAT contrast/coordinator/v1 before the first manifest: zero nonce and transition, no CAs", async () => {
  const binding = { nonce: new Uint8Array(32), tlsSpki: SPKI, hpkePublicKey: HPKE, caPems: [] };
  assert.equal(
    encodeHex(await encodeCoordinatorBinding(binding)),
    "636f6e74726173742f636f6f7264696e61746f722f763100" + repeat("00", 32) + SHA256_SPKI +
      SHA256_HPKE + repeat("00", 32) + "00",
  );
  assert.equal(
    encodeHex(await coordinatorReportData(binding)),
    "d02271fd2a781a8907262509fce59f8aca6d7e333d454fa4d9400ab497b2e9d64ab8c46ff53c9af9c643af85d1fac5f2619e95940a5d6afe91d4f1e17ac8683a",
  );
});

// Expected value computed independently of this code, with Python's hashlib:
//   m = b"contrast/mesh/v2\x00" + bytes([4]) * 32 + hashlib.sha256(bytes.fromhex("3003020105")).digest()
//   hashlib.sha512(m).hexdigest()
Deno.test("KAT contrast/mesh/v2: SHA-512(label 0x00 ‖ channel binding ‖ SHA-256(leaf SPKI))", async () => {
  const binding = { channelBinding: CHANNEL_BINDING, leafSpki: SPKI };
  const expected =
    "62506330c59745d5bb760f2c3f7b3472e1455bc77dadd766a08f15e83d579e3b48c97b183c45b78c5cd69a1433abd3925404978e33ae37bbb3087ba2943a1e75";
  assert.equal(encodeHex(await meshReportData(binding)), expected);
  // The Coordinator hashes natively (node:crypto): the same bytes.
  assert.equal(encodeHex(await meshReportData(binding, digestNative)), expected);
});

Deno.test("KAT contrast/peer/v1: SHA-512(label 0x00 ‖ nonce ‖ SHA-256(HPKE key))", async () => {
  assert.equal(
    encodeHex(await peerReportData({ nonce: NONCE, hpkePublicKey: HPKE })),
    "5b982fb30c1cc41b2b0faaa8d87b86a8645dcd45165e9c95d4ff5790d1d4a844d53b7e9b92b74fb9f6d3b5431603caa830be24b31cd4b973d95e4088420dec41",
  );
});

Deno.test("KAT contrast/recover/v1: the exact bytes a seedshare owner signs", () => {
  const sealed = { enc: hex(repeat("04", 32)), ciphertext: hex("0505050505") };
  assert.equal(
    encodeHex(recoveryMessage(HPKE, LATEST, sealed)),
    "636f6e74726173742f7265636f7665722f7631" + // "contrast/recover/v1"
      "00" +
      repeat("02", 32) + // Coordinator HPKE key
      repeat("03", 32) + // latest transition
      "0020" + // u16be(len enc) = 32
      repeat("04", 32) + // enc
      "0505050505", // ciphertext
  );
});

Deno.test("KAT transition hash: SHA-256(SHA-256(manifest) ‖ previous), genesis = 32 zero bytes", async () => {
  assert.equal(encodeHex(GENESIS_TRANSITION), repeat("00", 32));
  const first = new TextEncoder().encode('{"Policies":{}}');
  const second = new TextEncoder().encode('{"Policies":{"a":1}}');
  const h1 = await manifestHash(first);
  assert.equal(encodeHex(h1), "ad420d1653bc336a925f43068d0b50d237b44ccbc16ebfa8a5fc43756d50ed7d");
  const t1 = await transitionHash(h1, GENESIS_TRANSITION);
  assert.equal(encodeHex(t1), "c5c2f621d202f914084176919caceebf713f46e5d62667d8b046c7e8cef823f2");
  const h2 = await manifestHash(second);
  assert.equal(encodeHex(h2), "07ab615c79807ea22ab06d76335d50e2bafd2d6f18b866827aa81b301f7fb51f");
  assert.equal(
    encodeHex(await transitionHash(h2, t1)),
    "24a731764ab5b61d973fbe754e028438d81c8c4096f743e1a3b9b9cddd48f5e0",
  );
});

Deno.test("KAT claims extension (1.3.9901.2.1 / .2): the exact DER of ContrastAttestationClaims", () => {
  const claims = {
    platform: "snp" as const,
    hostData: hex(repeat("aa", 32)),
    measurement: hex(repeat("bb", 48)),
    reportData: hex(repeat("cc", 64)),
    referenceValueIndex: 200,
    details: { b: "2", a: "1" },
  };
  const expected = "3081af" + // SEQUENCE, 175 bytes
    "020101" + // version INTEGER 1
    "0420" + repeat("aa", 32) + // hostData OCTET STRING (32)
    "0430" + repeat("bb", 48) + // measurement OCTET STRING (48)
    "0440" + repeat("cc", 64) + // reportData OCTET STRING (64)
    "020200c8" + // referenceValueIndex INTEGER 200 (leading zero: non-negative)
    "3010" + // details SEQUENCE OF, sorted by name
    "3006" + "0c0161" + "0c0131" + // { UTF8String "a", UTF8String "1" }
    "3006" + "0c0162" + "0c0132"; // { UTF8String "b", UTF8String "2" }
  assert.equal(encodeHex(encodeClaimsExtension(claims)), expected);
  assert.equal(OID_SNP_CLAIMS, "1.3.9901.2.1");
  assert.equal(OID_TDX_CLAIMS, "1.3.9901.2.2");
  const decoded = decodeClaimsExtension(OID_TDX_CLAIMS, decodeHex(expected));
  assert.equal(decoded.platform, "tdx");
  assert.equal(decoded.referenceValueIndex, 200);
  assert.deepEqual(decoded.details, { a: "1", b: "2" });
  assert.equal(encodeHex(decoded.measurement), repeat("bb", 48));
});

Deno.test("KAT evidence extension of the attested TLS certificate: SEQUENCE { OCTET STRING report, OCTET STRING aux }", () => {
  assert.equal(
    encodeHex(encodeOctetStringSequence([hex("010203"), new Uint8Array()])),
    "3007" + "0403010203" + "0400",
  );
  const report = hex(repeat("11", 300));
  const long = "30820134" + "0482012c" + repeat("11", 300) + "0402eeff";
  assert.equal(encodeHex(encodeOctetStringSequence([report, hex("eeff")])), long);
  const [r, aux] = decodeOctetStringSequence(decodeHex(long), "evidence");
  assert.equal(encodeHex(r!), repeat("11", 300));
  assert.equal(encodeHex(aux!), "eeff");
});

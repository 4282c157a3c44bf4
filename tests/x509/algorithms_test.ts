import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { readSignatureAlgorithm } from "../../x509/algorithms.ts";
import { encodeElement, readElement, Tag } from "../../x509/der.ts";
import { alg, PSS, seq } from "./der_builders.ts";

const NULL = Uint8Array.of(0x05, 0x00);
const explicit = (n: number, inner: Uint8Array) => encodeElement(0xa0 + n, inner);
const int = (n: number) => encodeElement(Tag.integer, Uint8Array.of(n));
const read = (der: Uint8Array) => readSignatureAlgorithm(readElement(der, 0, "sigAlg"), "sigAlg");

const MGF1 = "1.2.840.113549.1.1.8";
const SHA384 = "2.16.840.1.101.3.4.2.2";
const SHA256 = "2.16.840.1.101.3.4.2.1";

function pssParams(options: { hash?: string; mgfHash?: string; salt?: number; trailer?: number }) {
  const parts: Uint8Array[] = [];
  if (options.hash) parts.push(explicit(0, alg(options.hash, NULL)));
  if (options.mgfHash) parts.push(explicit(1, alg(MGF1, alg(options.mgfHash, NULL))));
  if (options.salt !== undefined) parts.push(explicit(2, int(options.salt)));
  if (options.trailer !== undefined) parts.push(explicit(3, int(options.trailer)));
  return seq(...parts);
}

Deno.test("reads AMD's RSA-PSS parameters: SHA-384, MGF1-SHA-384, salt 48", () => {
  const params = pssParams({ hash: SHA384, mgfHash: SHA384, salt: 48, trailer: 1 });
  assert.deepEqual(read(alg(PSS, params)), { kind: "rsa-pss", hash: "SHA-384", saltLength: 48 });
});

Deno.test("reads ECDSA, PKCS#1 v1.5 and Ed25519 identifiers", () => {
  assert.deepEqual(read(alg("1.2.840.10045.4.3.2")), { kind: "ecdsa", hash: "SHA-256" });
  assert.deepEqual(read(alg("1.2.840.10045.4.3.3")), { kind: "ecdsa", hash: "SHA-384" });
  assert.deepEqual(read(alg("1.2.840.113549.1.1.12", NULL)), {
    kind: "rsa-pkcs1",
    hash: "SHA-384",
  });
  assert.deepEqual(read(alg("1.2.840.113549.1.1.11")), { kind: "rsa-pkcs1", hash: "SHA-256" });
  assert.deepEqual(read(alg("1.3.101.112")), { kind: "ed25519" });
});

Deno.test("rejects RSA-PSS without parameters (SHA-1 defaults)", () => {
  assert.throws(() => read(alg(PSS)), VerificationError);
  assert.throws(() => read(alg(PSS, pssParams({ salt: 20 }))), /default SHA-1/);
});

Deno.test("rejects RSA-PSS whose MGF1 hash differs from the signature hash", () => {
  const params = pssParams({ hash: SHA384, mgfHash: SHA256, salt: 48 });
  assert.throws(
    () => read(alg(PSS, params)),
    /MGF1 hash SHA-256 differs from the signature hash SHA-384/,
  );
  assert.throws(() => read(alg(PSS, pssParams({ hash: SHA384, salt: 48 }))), /SHA-1 \(default\)/);
});

Deno.test("rejects RSA-PSS with a trailer field other than 1", () => {
  const params = pssParams({ hash: SHA384, mgfHash: SHA384, salt: 48, trailer: 2 });
  assert.throws(() => read(alg(PSS, params)), /trailer must be 1/);
});

Deno.test("rejects RSA-PSS with a SHA-1 hash and out-of-order parameters", () => {
  assert.throws(
    () => read(alg(PSS, pssParams({ hash: "1.3.14.3.2.26", mgfHash: SHA384 }))),
    /SHA-1/,
  );
  const swapped = seq(explicit(2, int(48)), explicit(0, alg(SHA384, NULL)));
  assert.throws(() => read(alg(PSS, swapped)), ParseError);
});

Deno.test("rejects unknown and weak signature algorithms and bad parameters", () => {
  assert.throws(
    () => read(alg("1.2.840.10045.4.1")),
    /unsupported signature algorithm 1\.2\.840\.10045\.4\.1/,
  );
  assert.throws(() => read(alg("1.2.840.113549.1.1.5", NULL)), VerificationError); // sha1WithRSA
  assert.throws(() => read(alg("1.2.840.10045.4.3.2", NULL)), /ECDSA parameters must be absent/);
  assert.throws(() => read(alg("1.2.840.113549.1.1.11", int(1))), /RSA parameters must be NULL/);
});

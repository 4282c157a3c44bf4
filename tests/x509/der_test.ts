import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import {
  children,
  encodeElement,
  encodeOid,
  encodeSmallInteger,
  readBitStringBytes,
  readElement,
  readOid,
  readSignedDer,
  readSingle,
  readSmallInteger,
  readTime,
  readUnsignedInteger,
  Tag,
} from "../../x509/der.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (t: string) => new TextEncoder().encode(t);

Deno.test("readElement reads short and long definite lengths", () => {
  const short = readElement(bytes(0x04, 0x02, 0xaa, 0xbb), 0, "f");
  assert.deepEqual(short.value, bytes(0xaa, 0xbb));
  const long = encodeElement(Tag.octetString, new Uint8Array(300));
  const el = readElement(long, 0, "f");
  assert.equal(el.value.length, 300);
  assert.equal(el.end, long.length);
});

Deno.test("encodeElement writes the shortest definite length at every size boundary", () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x81, 0x80]],
    [255, [0x81, 0xff]],
    [256, [0x82, 0x01, 0x00]],
    [65535, [0x82, 0xff, 0xff]],
    [65536, [0x83, 0x01, 0x00, 0x00]],
    [16777216, [0x84, 0x01, 0x00, 0x00, 0x00]],
  ];
  for (const [length, header] of cases) {
    const half = Math.floor(length / 2);
    const content = new Uint8Array(length).map((_, i) => i & 0xff);
    const encoded = encodeElement(
      Tag.octetString,
      content.subarray(0, half),
      content.subarray(half),
    );
    assert.deepEqual([...encoded.subarray(0, 1 + header.length)], [Tag.octetString, ...header]);
    assert.equal(encoded.length, 1 + header.length + length);
    const el = readElement(encoded, 0, "f");
    assert.deepEqual(el.value, content, `length ${length}`);
    assert.equal(el.end, encoded.length);
  }
  assert.deepEqual(encodeElement(Tag.sequence), bytes(0x30, 0x00));
});

Deno.test("readElement rejects indefinite, non-minimal, oversized and truncated lengths", () => {
  assert.throws(() => readElement(bytes(0x30, 0x80, 0, 0), 0, "f"), /indefinite/);
  assert.throws(() => readElement(bytes(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0, "f"), /shortest form/);
  assert.throws(() => readElement(bytes(0x04, 0x82, 0x00, 0x90), 0, "f"), /shortest form/);
  assert.throws(() => readElement(bytes(0x04, 0x85, 1, 1, 1, 1, 1), 0, "f"), /too large/);
  assert.throws(() => readElement(bytes(0x04, 0x05, 1, 2), 0, "f"), /needs 5 bytes/);
  assert.throws(() => readElement(bytes(0x04), 0, "f"), /truncated/);
  assert.throws(() => readElement(bytes(0x1f, 0x01, 0x00), 0, "f"), /high tag/);
});

Deno.test("readSingle rejects a wrong tag and trailing bytes, naming the field", () => {
  assert.throws(() => readSingle(bytes(0x04, 0x00), Tag.sequence, "cert.spki"), (e) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.field, "cert.spki");
    assert.match(e.reason, /expected DER tag 0x30, found 0x04/);
    return true;
  });
  assert.throws(
    () => readSingle(bytes(0x04, 0x00, 0x00), Tag.octetString, "f"),
    /1 trailing bytes/,
  );
});

Deno.test("children names the failing child", () => {
  const seq = readElement(bytes(0x30, 0x04, 0x02, 0x01, 0x05, 0x02), 0, "seq");
  assert.throws(() => children(seq, "seq"), (e) => e instanceof ParseError && e.field === "seq[1]");
});

Deno.test("readOid decodes multi-byte arcs and rejects malformed ones", () => {
  const oid = (...b: number[]) => readElement(bytes(0x06, b.length, ...b), 0, "oid");
  assert.equal(
    readOid(oid(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a), "o"),
    "1.2.840.113549.1.1.10",
  );
  assert.equal(readOid(oid(0x2b, 0x81, 0x04, 0x00, 0x22), "o"), "1.3.132.0.34");
  assert.equal(readOid(oid(0x88, 0x37, 0x01), "o"), "2.999.1");
  assert.throws(() => readOid(oid(0x2a, 0x80, 0x01), "o"), /shortest form/);
  assert.throws(() => readOid(oid(0x2a, 0x86), "o"), /ends inside an arc/);
  assert.throws(() => readOid(readElement(bytes(0x06, 0x00), 0, "o"), "o"), /empty/);
  assert.throws(
    () => readOid(readElement(bytes(0x04, 0x01, 0x2a), 0, "o"), "o"),
    /expected DER tag 0x06/,
  );
});

Deno.test("integers: magnitude without sign padding; negative and padded ones rejected", () => {
  const int = (...b: number[]) => readElement(bytes(0x02, b.length, ...b), 0, "i");
  assert.deepEqual(readUnsignedInteger(int(0x00, 0x80), "i"), bytes(0x80));
  assert.deepEqual(readUnsignedInteger(int(0x00), "i"), bytes(0x00));
  assert.equal(readSmallInteger(int(0x01, 0x00), "i"), 256);
  assert.throws(() => readUnsignedInteger(int(0x80), "i"), /negative/);
  assert.throws(() => readUnsignedInteger(int(0x00, 0x01), "i"), /shortest form/);
  assert.throws(() => readUnsignedInteger(readElement(bytes(0x02, 0x00), 0, "i"), "i"), /empty/);
  assert.throws(() => readSmallInteger(int(1, 2, 3, 4, 5, 6, 7), "i"), /too large/);
});

Deno.test("bit strings with unused bits are refused for keys and signatures", () => {
  assert.deepEqual(
    readBitStringBytes(readElement(bytes(0x03, 0x02, 0x00, 0xff), 0, "b"), "b"),
    bytes(0xff),
  );
  assert.throws(
    () => readBitStringBytes(readElement(bytes(0x03, 0x02, 0x01, 0xfe), 0, "b"), "b"),
    /unused bits/,
  );
  assert.throws(() => readBitStringBytes(readElement(bytes(0x03, 0x00), 0, "b"), "b"), /empty/);
});

Deno.test("times: UTCTime years 1950–2049, GeneralizedTime, strict forms only", () => {
  const utc = (t: string) => readElement(encodeElement(Tag.utcTime, text(t)), 0, "t");
  const gen = (t: string) => readElement(encodeElement(Tag.generalizedTime, text(t)), 0, "t");
  assert.equal(readTime(utc("491231235959Z"), "t").toISOString(), "2049-12-31T23:59:59.000Z");
  assert.equal(readTime(utc("500101000000Z"), "t").toISOString(), "1950-01-01T00:00:00.000Z");
  assert.equal(readTime(gen("20501231235959Z"), "t").toISOString(), "2050-12-31T23:59:59.000Z");
  assert.throws(() => readTime(utc("4912312359Z"), "t"), /not YYMMDDHHMMSSZ/);
  assert.throws(() => readTime(utc("491231235959+0100"), "t"), /not YYMMDDHHMMSSZ/);
  assert.throws(() => readTime(gen("20501231235959.5Z"), "t"), /not YYYYMMDDHHMMSSZ/);
  assert.throws(() => readTime(utc("490230000000Z"), "t"), /not a valid date/);
  assert.throws(() => readTime(utc("491231245959Z"), "t"), /not a valid date/);
  assert.throws(() => readTime(readElement(bytes(0x04, 0x00), 0, "t"), "t"), /expected a time/);
});

Deno.test("random byte strings give only ParseErrors from the DER reader", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 20_000; n++) {
    const input = Uint8Array.from(
      { length: Math.floor(rand() * 24) },
      () => Math.floor(rand() * 256),
    );
    if (rand() < 0.5 && input.length > 0) input[0] = rand() < 0.5 ? 0x30 : 0x06;
    try {
      const el = readElement(input, 0, "f");
      if (el.tag === 0x30) children(el, "f");
      if (el.tag === 0x06) readOid(el, "f");
    } catch (e) {
      assert.ok(e instanceof ParseError, String(e));
    }
  }
});

Deno.test("encodeSmallInteger and encodeOid round-trip through the DER readers", () => {
  for (const n of [0, 1, 127, 128, 255, 256, 65535, 2 ** 31]) {
    const el = readSingle(encodeSmallInteger(n), Tag.integer, "n");
    assert.equal(readSmallInteger(el, "n"), n);
  }
  assert.deepEqual([...encodeSmallInteger(128)], [0x02, 0x02, 0x00, 0x80]);
  for (const oid of ["1.2.840.113549.1.1.10", "1.3.6.1.4.1.3704.1.3.8", "2.5.29.19"]) {
    assert.equal(readOid(readSingle(encodeOid(oid), Tag.oid, "oid"), "oid"), oid);
  }
});

Deno.test("readSignedDer splits a signed structure and refuses a wrong shape, naming the part", () => {
  const tbs = encodeElement(Tag.sequence, encodeSmallInteger(1));
  const alg = encodeElement(Tag.sequence, encodeOid("1.2.840.10045.4.3.3"));
  const sig = encodeElement(Tag.bitString, Uint8Array.of(0, 9, 8));
  const signed = readSignedDer(
    encodeElement(Tag.sequence, tbs, alg, sig),
    "c",
    "Certificate",
    "tbs",
  );
  assert.deepEqual(signed.tbs.raw, tbs);
  assert.deepEqual(signed.signatureAlgorithm.raw, alg);
  assert.deepEqual([...signed.signature], [9, 8]);
  assert.throws(
    () => readSignedDer(encodeElement(Tag.sequence, tbs, alg), "c", "Certificate", "tbs"),
    (e) => e instanceof ParseError && e.field === "c" && /Certificate needs 3/.test(e.message),
  );
  const unused = encodeElement(Tag.bitString, Uint8Array.of(1, 9));
  assert.throws(
    () => readSignedDer(encodeElement(Tag.sequence, tbs, alg, unused), "c", "Certificate", "tbs"),
    (e) => e instanceof ParseError && e.field === "c.signatureValue",
  );
  assert.throws(
    () =>
      readSignedDer(
        encodeElement(Tag.sequence, encodeSmallInteger(1), alg, sig),
        "c",
        "CertificateList",
        "tbs",
      ),
    (e) => e instanceof ParseError && e.field === "c.tbs",
  );
});

import assert from "node:assert/strict";
import {
  ByteReader,
  bytesEqual,
  concatBytes,
  constantTimeEqual,
  decodeBase64,
  decodeHex,
  decodePem,
  encodeBase64,
  encodeHex,
  encodePem,
  joinBytes,
} from "../../../util/bytes/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { digest, sha256 } from "../../../util/bytes/digest.ts";
import { digestSync } from "../../../util/bytes/digest_sync.ts";
import { digestNative } from "../../../util/bytes/digest_native.ts";

Deno.test("hex round-trips and rejects odd length, non-hex and wrong length naming the field", () => {
  const bytes = new Uint8Array([0, 1, 0xab, 0xff]);
  assert.equal(encodeHex(bytes), "0001abff");
  assert.deepEqual(decodeHex("0001ABff"), bytes);
  assert.throws(() => decodeHex("abc", "x.y"), (e) => e instanceof ParseError && e.field === "x.y");
  assert.throws(() => decodeHex("zz", "f"), ParseError);
  assert.throws(() => decodeHex("00", "len", 2), /expected 2 bytes/);
});

Deno.test("base64 round-trips standard and url-safe input and rejects garbage", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(1000));
  assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
  assert.deepEqual(decodeBase64("-_8"), new Uint8Array([0xfb, 0xff]));
  assert.throws(() => decodeBase64("a$b"), ParseError);
  assert.throws(() => decodeBase64("a"), ParseError);
});

Deno.test("pem encodes and decodes several blocks, filtering by label", () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array(100).fill(7);
  const text = encodePem("CERTIFICATE", a) + "junk\n" + encodePem("PUBLIC KEY", b);
  assert.equal(decodePem(text).length, 2);
  assert.deepEqual(decodePem(text, "PUBLIC KEY")[0]!.der, b);
  assert.throws(() => decodePem("nothing", "CERTIFICATE", "ark"), /ark: no PEM block/);
});

Deno.test("bytesEqual tells equal from different at every position, lengths and alignments", () => {
  for (const n of [0, 1, 3, 4, 5, 31, 64, 1337]) {
    const blob = crypto.getRandomValues(new Uint8Array(n + 7));
    for (const offset of [0, 1, 3]) {
      const a = blob.subarray(offset, offset + n);
      const b = new Uint8Array(n + 2).subarray(2);
      b.set(a);
      assert.equal(bytesEqual(a, b), true, `${n}@${offset}`);
      for (let i = 0; i < n; i++) {
        b[i]! ^= 0x80;
        assert.equal(bytesEqual(a, b), false, `${n}@${offset}: byte ${i}`);
        b[i]! ^= 0x80;
      }
      assert.equal(bytesEqual(a, blob.subarray(offset, offset + n + 1)), false); // one byte longer
    }
  }
});

Deno.test("constantTimeEqual tells equal from different and different lengths", () => {
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0])), false);
});

Deno.test("ByteReader reads little-endian integers and names the field that does not fit", () => {
  const r = new ByteReader(new Uint8Array([1, 2, 0, 3, 0, 0, 0, 0, 0]), "report");
  assert.equal(r.u8("a"), 1);
  assert.equal(r.u16("b"), 2);
  assert.equal(r.u32("c"), 3);
  assert.throws(() => r.u64("d"), (e) => e instanceof ParseError && e.field === "report.d");
});

Deno.test("ByteReader rejects non-zero reserved bytes", () => {
  const r = new ByteReader(new Uint8Array([0, 0, 1]), "q");
  assert.throws(() => r.reserved("rsvd", 3), /q.rsvd: reserved byte at offset 2/);
});

Deno.test("digestSync gives WebCrypto's bytes for every algorithm and block boundary", async () => {
  for (const algorithm of ["SHA-256", "SHA-384", "SHA-512"] as const) {
    for (const size of [0, 1, 55, 56, 64, 111, 112, 128, 1000, 20_000]) {
      const data = crypto.getRandomValues(new Uint8Array(size));
      const expected = new Uint8Array(await crypto.subtle.digest(algorithm, data));
      assert.deepEqual(digestSync(algorithm, data), expected, `${algorithm} of ${size} bytes`);
      const native = digestNative(algorithm, data);
      assert.deepEqual(native, expected, `native ${algorithm} of ${size} bytes`);
      // A plain Uint8Array of its own memory (a Buffer's slice would share, not copy).
      assert.equal(Object.getPrototypeOf(native), Uint8Array.prototype);
      assert.equal(native.buffer.byteLength, native.length);
      assert.deepEqual(await digest(algorithm, data), expected);
    }
  }
  assert.equal(encodeHex(await sha256(new Uint8Array())), EMPTY_SHA256);
  assert.throws(() => digestSync("MD5" as "SHA-256", new Uint8Array()), TypeError);
  assert.throws(() => digestNative("MD5" as "SHA-256", new Uint8Array()), TypeError);
});

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The byte-by-byte codecs these functions replaced (engine built-ins now), as references. */
const reference = {
  encodeHex: (bytes: Uint8Array) =>
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
  encodeBase64: (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)),
  decodeBase64(text: string): Uint8Array | "error" {
    let clean = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return "error";
    clean = clean.replace(/=+$/, "");
    if (clean.length % 4 === 1) return "error";
    clean += "=".repeat((4 - (clean.length % 4)) % 4);
    return Uint8Array.from(atob(clean), (c) => c.charCodeAt(0));
  },
};

Deno.test("hex and base64 on the engine's codecs agree with the byte-by-byte references", () => {
  const alphabet = "AQIDBwxyz09+/-_= \n\t\u00a0*";
  for (let round = 0; round < 2000; round++) {
    const bytes = crypto.getRandomValues(new Uint8Array(round % 67));
    assert.equal(encodeHex(bytes), reference.encodeHex(bytes));
    assert.deepEqual(decodeHex(encodeHex(bytes).toUpperCase()), bytes);
    assert.equal(encodeBase64(bytes), reference.encodeBase64(bytes));
    // Random strings over base64 digits, both alphabets' extras, padding, whitespace and junk:
    // accepted and decoded alike, or refused alike (ParseError).
    const text = Array.from(
      crypto.getRandomValues(new Uint8Array(round % 13)),
      (r) => alphabet[r % alphabet.length],
    ).join("");
    const expected = reference.decodeBase64(text);
    if (expected === "error") {
      assert.throws(() => decodeBase64(text, "f"), ParseError, JSON.stringify(text));
    } else assert.deepEqual(decodeBase64(text, "f"), expected, JSON.stringify(text));
  }
  assert.throws(() => decodeHex("0g", "f"), ParseError);
  assert.throws(() => decodeHex("abc", "f"), ParseError);
});

Deno.test("joinBytes and concatBytes put the arrays one after the other, in a new array", () => {
  assert.deepEqual(joinBytes([]), new Uint8Array(0));
  const a = new Uint8Array([1, 2]);
  const chunks = [a, new Uint8Array(0), new Uint8Array([3])];
  const joined = joinBytes(chunks);
  assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
  assert.deepEqual(concatBytes(...chunks), joined);
  joined[0] = 9;
  assert.equal(a[0], 1, "the result is a copy");
  // Many small chunks (a long body as it streams in) join in one pass.
  const many = Array.from({ length: 200_000 }, (_, i) => new Uint8Array([i & 0xff]));
  assert.equal(joinBytes(many).length, 200_000);
});

import assert from "node:assert/strict";
import { decodePem, encodePem } from "../../../util/bytes/pem.ts";
import { settlesWithin } from "../../helpers/settles_within.ts";

/** The regular expression decodePem used before (quadratic on BEGIN lines without an END). */
const REGEX_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function regexBlocks(text: string): { label: string; body: string }[] {
  return [...text.matchAll(REGEX_BLOCK)].map((m) => ({ label: m[1]!, body: m[2]! }));
}

Deno.test("decodePem finds the blocks the former regular expression found, in tricky text too", () => {
  const a = encodePem("CERTIFICATE", Uint8Array.of(1, 2, 3));
  const b = encodePem("PUBLIC KEY", Uint8Array.of(4, 5));
  const c = encodePem("X509 CRL", Uint8Array.of(6));
  const texts = [
    a,
    a + b + c,
    "junk\n" + a + "junk" + b + "\n",
    "-----BEGIN CERTIFICATE-----\n" + a, // a BEGIN without END before a block
    a.replace("-----END CERTIFICATE-----", "-----END PUBLIC KEY-----") + b, // mismatched END
    "-----END CERTIFICATE-----\n" + a, // END before any BEGIN
    "-----BEGIN cert-----\nAQID\n-----END cert-----\n" + a, // lower-case label: not a block
    "-----BEGIN CERTIFICATE----------BEGIN PUBLIC KEY-----BQ==-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----AQID-----END CERTIFICATE----------END CERTIFICATE-----",
    "-----BEGIN A-----\n-----BEGIN B-----\nAQ==\n-----END A-----\nAg==\n-----END B-----\n",
    a + a + "-----BEGIN CERTIFICATE-----\nAQ==",
  ];
  for (const text of texts) {
    const expected = regexBlocks(text);
    if (expected.length === 0) {
      assert.throws(() => decodePem(text), /no PEM block/, JSON.stringify(text));
      continue;
    }
    let got: { label: string }[];
    try {
      got = decodePem(text);
    } catch (e) {
      // A block whose body is not base64 fails the same way the former code failed.
      assert.match((e as Error).message, /base64|invalid/i, JSON.stringify(text));
      continue;
    }
    assert.deepEqual(got.map((g) => g.label), expected.map((e) => e.label), JSON.stringify(text));
  }
});

Deno.test("decodePem reads a megabyte of BEGIN lines without END in linear time", async () => {
  // What a TDX quote's PCK chain (up to 1 MiB) can hold. The former regular expression scanned
  // to the end of the text from every BEGIN line: quadratic, 2.3 s for 256 KiB and about 40 s
  // for 1 MiB, blocking the thread; one pass takes ~0.1-0.2 s. The bound below only catches the
  // quadratic behaviour (a hang guard, not a speed measurement): it is 100 times the time taken.
  const line = "-----BEGIN CERTIFICATE-----\n";
  const distinct = Array.from({ length: 20_000 }, (_, i) => `-----BEGIN L${i}-----\n`).join("");
  const text = line.repeat(Math.floor((1 << 20) / line.length)) + distinct;
  const worker = new Worker(new URL("./pem_worker.ts", import.meta.url), { type: "module" });
  try {
    const answer = new Promise<unknown>((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
    });
    worker.postMessage(text);
    assert.equal(
      await settlesWithin(answer, 20_000),
      "pckChain: no PEM block labelled CERTIFICATE found",
    );
  } finally {
    worker.terminate();
  }
});

Deno.test("encodePem gives the former regex-and-join text for every length around the 48-byte line", () => {
  const former = (label: string, der: Uint8Array) => {
    const lines = der.toBase64().match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
  };
  const bytes = Uint8Array.from({ length: 1800 }, (_, i) => (i * 37 + 11) & 0xff);
  for (let length = 0; length <= 200; length++) {
    const der = bytes.subarray(0, length);
    assert.equal(encodePem("CERTIFICATE", der), former("CERTIFICATE", der), `${length} bytes`);
  }
  assert.equal(encodePem("CERTIFICATE", bytes), former("CERTIFICATE", bytes));
  assert.deepEqual(decodePem(encodePem("X509 CRL", bytes))[0]!.der, bytes);
});

import assert from "node:assert/strict";
import {
  checkFieldLines,
  HttpFramingError,
  leadingEmptyLines,
  newHeadScan,
  parseChunkSizeLine,
  parseRequestHead,
  scanHead,
} from "../../../coordinator/http/request_head.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Parses `text` as one complete head (scan and parse, as the connection reader does). */
function head(text: string) {
  const all = bytes(text);
  const skipped = leadingEmptyLines(all);
  const rest = all.subarray(skipped);
  const length = scanHead(rest, newHeadScan());
  assert.equal(length, rest.length, "test head must be complete");
  return parseRequestHead(rest.subarray(0, length));
}

function refused(text: string, status: number, field?: string) {
  assert.throws(
    () => head(text),
    (e: unknown) =>
      e instanceof HttpFramingError && e.status === status &&
      (field === undefined || e.field === field),
    `${JSON.stringify(text)} should be refused with ${status}`,
  );
}

Deno.test("reads method, path, length and connection semantics of well-formed heads", () => {
  assert.deepEqual(
    head("POST /mesh/certificate?x=1 HTTP/1.1\r\nHost: c\r\nContent-Length: 12\r\n\r\n"),
    {
      method: "POST",
      path: "/mesh/certificate",
      contentLength: 12,
      chunked: false,
      close: false,
      expectContinue: false,
    },
  );
  const chunked = head(
    "POST /a HTTP/1.1\r\nhost: c\r\nTransfer-Encoding:  Chunked \r\nConnection: keep-alive, Close\r\n\r\n",
  );
  assert.equal(chunked.chunked, true);
  assert.equal(chunked.close, true);
  assert.equal(chunked.contentLength, undefined);
  // HTTP/1.0: no Host needed, the connection closes after the answer.
  assert.equal(head("GET /probe/liveness HTTP/1.0\r\n\r\n").close, true);
  assert.equal(
    head("POST /a HTTP/1.1\r\nhost: c\r\nexpect: 100-Continue\r\ncontent-length: 1\r\n\r\n")
      .expectContinue,
    true,
  );
  // Empty lines before the request line are skipped (RFC 9112 §2.2).
  assert.equal(head("\r\n\r\nGET / HTTP/1.1\r\nhost: c\r\n\r\n").path, "/");
  // obs-text is allowed in values; tabs around them are trimmed.
  assert.equal(head("GET / HTTP/1.1\r\nhost: c\r\nx-a:\t\xe9\xff\t\r\n\r\n").method, "GET");
});

Deno.test("refuses heads a lenient parser could read another way, each with its status", () => {
  refused("GET / HTTP/1.1\r\nhost: c\r\nx-a: 1\n\r\n", 400, "head"); // bare LF
  refused("GET / HTTP/1.1\r\nhost: c\r\nx-a: 1\rx\r\n\r\n", 400, "head"); // bare CR
  refused("GET / HTTP/1.1\r\nhost: c\r\nx-a: 1\r\n folded\r\n\r\n", 400, "head"); // obs-fold
  refused("GET / HTTP/1.1\r\nhost: c\r\ncontent-length : 1\r\n\r\n", 400, "head");
  refused("GET / HTTP/1.1\r\nhost: c\r\nx-a: a\x00b\r\n\r\n", 400, "head");
  refused("GET / HTTP/1.1\r\nhost: c\r\nx-a: a\x7fb\r\n\r\n", 400, "head");
  refused("GET / HTTP/1.1\r\nhost: c\r\n: empty name\r\n\r\n", 400, "head");
  refused("GET  / HTTP/1.1\r\nhost: c\r\n\r\n", 400, "request-line");
  refused("GET / HTTP/1.1 \r\nhost: c\r\n\r\n", 400, "request-line");
  refused("GET http://c/ HTTP/1.1\r\nhost: c\r\n\r\n", 400, "request-line");
  refused("GET * HTTP/1.1\r\nhost: c\r\n\r\n", 400, "request-line");
  refused("GET /\xe9 HTTP/1.1\r\nhost: c\r\n\r\n", 400, "request-line");
  refused("G(T / HTTP/1.1\r\nhost: c\r\n\r\n", 400, "request-line");
  refused("GET / HTTP/2.0\r\nhost: c\r\n\r\n", 505, "request-line");
  refused("PRI * HTTP/2.0\r\n\r\n", 505, "request-line");
  refused("GET / HTTP/1.1\r\n\r\n", 400, "host");
  refused("GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n", 400, "host");
  refused("POST / HTTP/1.1\r\nhost: c\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\n", 400);
  refused("POST / HTTP/1.1\r\nhost: c\r\ncontent-length: 1, 1\r\n\r\n", 400, "content-length");
  refused("POST / HTTP/1.1\r\nhost: c\r\ncontent-length: +1\r\n\r\n", 400, "content-length");
  refused("POST / HTTP/1.1\r\nhost: c\r\ncontent-length: 1234567890123456\r\n\r\n", 400);
  refused(
    "POST / HTTP/1.1\r\nhost: c\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
    400,
    "transfer-encoding",
  );
  refused("POST / HTTP/1.1\r\nhost: c\r\ntransfer-encoding: gzip, chunked\r\n\r\n", 501);
  refused(
    "POST / HTTP/1.1\r\nhost: c\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n",
    501,
  );
  refused("POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n", 400, "transfer-encoding");
  refused("POST / HTTP/1.1\r\nhost: c\r\nexpect: something\r\n\r\n", 417, "expect");
  const many = Array.from({ length: 101 }, (_, i) => `x-${i}: v\r\n`).join("");
  refused(`GET / HTTP/1.1\r\nhost: c\r\n${many}\r\n`, 431, "head");
  assert.throws(() => leadingEmptyLines(bytes("\nGET")), HttpFramingError);
});

Deno.test("the head scan resumes across partial reads and waits for a split CRLF", () => {
  const text = bytes("GET / HTTP/1.1\r\nhost: c\r\n\r\nNEXT");
  const scan = newHeadScan();
  for (let end = 0; end < 27; end++) assert.equal(scanHead(text.subarray(0, end), scan), -1);
  assert.equal(scanHead(text.subarray(0, 28), scan), 27);
});

Deno.test("chunk size lines: hexadecimal, extensions ignored, anything else refused", () => {
  assert.equal(parseChunkSizeLine(bytes("1a")), 26);
  assert.equal(parseChunkSizeLine(bytes("FF ; name=value")), 255);
  assert.equal(parseChunkSizeLine(bytes("0")), 0);
  for (const bad of ["", "x", "1 2", "-1", "123456789", "1;\x01", "1\t"]) {
    assert.throws(() => parseChunkSizeLine(bytes(bad)), HttpFramingError, JSON.stringify(bad));
  }
  checkFieldLines(bytes("x-t: 1\r\n\r\n"), "trailer");
  assert.throws(() => checkFieldLines(bytes("x t: 1\r\n\r\n"), "trailer"), HttpFramingError);
});

Deno.test("field names are matched in any case, and only whole names; long values are read whole", () => {
  const mixed = head(
    "POST /p?a=1?b HTTP/1.1\r\nHoSt: c\r\nCONTENT-LENGTH: 7\r\ncOnNeCtIoN: Close\r\n\r\n",
  );
  assert.deepEqual(mixed, {
    method: "POST",
    path: "/p",
    contentLength: 7,
    chunked: false,
    close: true,
    expectContinue: false,
  });
  refused("GET / HTTP/1.1\r\nhost: a\r\nHOST: b\r\n\r\n", 400, "host");
  refused("GET / HTTP/1.1\r\nhost: a\r\nEXPECT: 100-continue\r\nExpect: x\r\n\r\n", 417, "expect");
  refused("POST / HTTP/1.1\r\nhost: c\r\nexpect: 100-continue\xe9\r\n\r\n", 417, "expect");
  // Names of the same length, or one character off, are other fields.
  const other = head(
    "GET / HTTP/1.1\r\nhost: c\r\nhosts: x\r\nhos: x\r\ncontent-lengtx: 5\r\n" +
      "content_length: 5\r\nconnectioN-x: close\r\nexpecT_: x\r\n\r\n",
  );
  assert.equal(other.contentLength, undefined);
  assert.equal(other.close, false);
  assert.equal(other.expectContinue, false);
  // A value longer than the 4,096 bytes read at a time is read whole.
  const tokens = `${"keep-alive, ".repeat(700)}close`;
  assert.equal(head(`GET / HTTP/1.1\r\nhost: c\r\nconnection: ${tokens}\r\n\r\n`).close, true);
  const path = `/${"a".repeat(9000)}`;
  assert.equal(head(`GET ${path}?q HTTP/1.1\r\nhost: c\r\n\r\n`).path, path);
});

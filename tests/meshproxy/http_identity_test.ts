import assert from "node:assert/strict";
import {
  classifyFirstBytes,
  HttpFramingError,
  HttpIdentityInjector,
  peerIdentityValue,
} from "../../meshproxy/http_identity.ts";
import { handshakeFailureReason } from "../../meshproxy/tls_failure.ts";
import { sanMatches } from "../../meshproxy/san.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ID = peerIdentityValue({
  fingerprintSha256: "AB".repeat(32),
  subject: 'CN=web,O="x"',
  sans: ["DNS:web", "DNS:*", "IP:10.0.0.1", "URI:spiffe://c/web"],
});

/** Feeds `input` split at every `step` bytes; returns the output text. */
function run(input: string, step = input.length): string {
  const injector = new HttpIdentityInjector(ID);
  const bytes = enc.encode(input);
  let out = "";
  for (let i = 0; i < bytes.length; i += step) {
    for (const piece of injector.push(bytes.subarray(i, i + step))) out += dec.decode(piece);
  }
  return out;
}

Deno.test("identity value: hash, quoted subject, SANs", () => {
  assert.equal(
    ID,
    `Hash=${
      "ab".repeat(32)
    };Subject="CN=web,O=\\"x\\"";DNS=web;DNS=*;IP=10.0.0.1;URI=spiffe://c/web`,
  );
});

Deno.test("every pipelined request gets the header, forged ones are removed, bodies pass intact", () => {
  const input = "POST /a HTTP/1.1\r\nHost: x\r\nx-forwarded-client-cert: forged\r\n" +
    "Content-Length: 5\r\n\r\nhello" +
    "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
    "GET /c HTTP/1.0\r\n\r\n";
  const expected = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n" +
    `X-Forwarded-Client-Cert: ${ID}\r\n\r\nhello` +
    `POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Client-Cert: ${ID}\r\n\r\n` +
    "3;ext=1\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
    `GET /c HTTP/1.0\r\nX-Forwarded-Client-Cert: ${ID}\r\n\r\n`;
  for (const step of [1, 2, 7, 1000]) assert.equal(run(input, step), expected, `step ${step}`);
  // A body that looks like a request is not rewritten.
  const body = "GET /x HTTP/1.1\r\nX-Forwarded-Client-Cert: inner\r\n\r\n";
  const out = run(`POST / HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  assert.ok(out.endsWith(body));
});

Deno.test("after CONNECT or Upgrade the stream passes unchanged", () => {
  const out = run(
    "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET / HTTP/1.1\r\n\r\n",
  );
  assert.ok(out.endsWith("\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
  assert.equal(out.split("X-Forwarded-Client-Cert").length, 2);
});

Deno.test("ambiguous or malformed framing is refused (no request smuggling)", () => {
  const bad: [string, RegExp][] = [
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", /smuggling/],
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", /conflicting/],
    ["POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", /bad Content-Length/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", /must end in chunked/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", /bad chunk size/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabX", /not followed by CRLF/],
    ["GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", /malformed header/],
    ["GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\nnot a request\r\n\r\n", /request line/],
    [`GET / HTTP/1.1\r\nX: ${"a".repeat(70_000)}`, /longer than/],
  ];
  for (const [input, pattern] of bad) {
    assert.throws(
      () => run(input),
      (e: unknown) => e instanceof HttpFramingError && pattern.test(e.message),
      input.slice(0, 60),
    );
  }
});

Deno.test("classification of first bytes", () => {
  assert.equal(classifyFirstBytes(enc.encode("GET / HTTP/1.1\r\n")), "http");
  assert.equal(classifyFirstBytes(enc.encode("GE")), "undecided");
  assert.equal(classifyFirstBytes(enc.encode("GET /index HT")), "undecided");
  assert.equal(classifyFirstBytes(enc.encode("SET a b\r\n")), "tcp");
  assert.equal(classifyFirstBytes(new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47])), "tcp");
  assert.equal(classifyFirstBytes(enc.encode("PRI * HTTP/2.0\r\n")), "tcp");
});

Deno.test("SAN matching: exact, wildcards, IPs", () => {
  assert.ok(sanMatches(["DNS:emoji-svc"], "EMOJI-svc"));
  assert.ok(sanMatches(["DNS:web", "DNS:*"], "emoji-svc"));
  assert.ok(sanMatches(["DNS:*.ns.svc"], "emoji.ns.svc"));
  assert.ok(!sanMatches(["DNS:*.ns.svc"], "a.b.ns.svc"));
  assert.ok(!sanMatches(["DNS:web"], "emoji-svc"));
  assert.ok(sanMatches(["IP:10.0.0.7"], "10.0.0.7"));
  assert.ok(!sanMatches(["DNS:*"], "10.0.0.7"), "an IP needs an IP SAN");
});

Deno.test("handshake failure reasons", () => {
  const r = (code: string, message: string) =>
    handshakeFailureReason(Object.assign(new Error(message), { code }));
  assert.equal(
    r("ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", "peer sent no certificates"),
    "no_client_certificate",
  );
  assert.equal(r("ECONNRESET", "socket hang up"), "rejected_or_aborted");
  assert.equal(r("", "invalid peer certificate: UnknownIssuer"), "untrusted_certificate");
  assert.equal(r("", "invalid peer certificate: Expired"), "expired_certificate");
  assert.equal(r("ERR_MESH_SAN_MISMATCH", "x"), "san_mismatch");
  assert.equal(r("", "received fatal alert: DecryptError"), "peer_refused");
  assert.equal(r("", "TLS handshake timeout"), "timeout");
  assert.equal(r("", "something else"), "other");
});

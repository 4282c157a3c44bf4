import assert from "node:assert/strict";
import {
  HttpConnectRefusedError,
  HttpFramingError,
  HttpIdentityInjector,
  PeerIdentityError,
  peerIdentityValue,
} from "../../meshproxy/http_identity.ts";
import { FirstLine } from "../../meshproxy/http_sniff.ts";
import { decodeLatin1, encodeLatin1 } from "../../meshproxy/latin1.ts";
import { ContrastError } from "../../util/errors/mod.ts";

/** The verdict on a connection's first bytes. */
function classifyFirstBytes(first: Uint8Array): string {
  return new FirstLine().push(first).verdict;
}
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

Deno.test("identity value: Envoy XFCC quoting; anything but printable ASCII is refused", () => {
  const peer = (subject: string, sans: string[]) => ({
    fingerprintSha256: "ab".repeat(32),
    subject,
    sans,
  });
  assert.equal(
    peerIdentityValue(
      peer("CN=a\\b", ["URI:spiffe://x/a;DNS=coordinator", "DNS:web", 'URI:x:"q"']),
    ),
    `Hash=${"ab".repeat(32)};Subject="CN=a\\\\b";URI="spiffe://x/a;DNS=coordinator";DNS=web;` +
      'URI="x:\\"q\\""',
  );
  assert.match(
    peerIdentityValue(peer("CN=a", ["URI:a,b", "URI:a=b", "URI:a b"])),
    /URI="a,b";URI="a=b";URI="a b"$/,
  );
  const cases: [string, string[], string][] = [
    ["CN=a\u010d\u010aX: forged", [], "peer.subject"],
    ["CN=a\r\nX: forged", [], "peer.subject"],
    ["CN=\u00e9", [], "peer.subject"],
    ["CN=a", ["DNS:web", "URI:spiffe://x/a\u010d\u010aX: y"], "peer.sans[1]"],
    ["CN=a", ["DNS:a\x7f"], "peer.sans[0]"],
    ["CN=a", ["IP:\x00"], "peer.sans[0]"],
  ];
  for (const [subject, sans, field] of cases) {
    assert.throws(() => peerIdentityValue(peer(subject, sans)), (e: PeerIdentityError) => {
      assert.ok(e instanceof PeerIdentityError);
      assert.equal(e.field, field);
      return true;
    });
  }
  assert.throws(
    () => peerIdentityValue({ fingerprintSha256: "x;DNS=a", subject: "", sans: [] }),
    PeerIdentityError,
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

Deno.test("identity headers spelt with underscores are removed too (CGI/WSGI read them as the same)", () => {
  // RFC 3875 gateways (Python's wsgiref, CGI) map `-` and `_` alike to HTTP_X_FORWARDED_CLIENT_CERT.
  const input = "POST /a HTTP/1.1\r\nX_Forwarded_Client_Cert: Hash=forged\r\n" +
    "x-forwarded_client-CERT: Hash=forged2\r\nX-Forwarded-Client-Certs: kept\r\n" +
    "Transfer-Encoding: chunked\r\n\r\n0\r\nX_FORWARDED_CLIENT_CERT: Hash=forged3\r\n\r\n";
  const expected = "POST /a HTTP/1.1\r\nX-Forwarded-Client-Certs: kept\r\n" +
    `Transfer-Encoding: chunked\r\nX-Forwarded-Client-Cert: ${ID}\r\n\r\n0\r\n\r\n`;
  for (const step of [1, 5, 1000]) assert.equal(run(input, step), expected, `step ${step}`);
  // Without a peer identity (a `false` port) nothing of the client's is left either.
  const plain = new HttpIdentityInjector(undefined);
  assert.equal(
    feed(plain, "GET / HTTP/1.0\r\nX_Forwarded_Client_Cert: Hash=forged;DNS=admin\r\n\r\n"),
    "GET / HTTP/1.0\r\n\r\n",
  );
});

/** Pushes client text through `injector`; returns the text released to the application. */
function feed(injector: HttpIdentityInjector, text: string): string {
  return injector.push(enc.encode(text)).map((p) => dec.decode(p)).join("");
}

/** Feeds the application's answer to `injector`; returns the client text it released. */
function answer(injector: HttpIdentityInjector, text: string): string {
  return injector.serverBytes(enc.encode(text)).map((p) => dec.decode(p)).join("");
}

Deno.test("an upgrade tunnels only once the application answered 101", () => {
  const upgrade = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const forged = "GET / HTTP/1.1\r\nX-Forwarded-Client-Cert: forged\r\n\r\n";
  // Switched: what follows is the new protocol's, unchanged.
  const ok = new HttpIdentityInjector(ID);
  assert.match(feed(ok, upgrade), /X-Forwarded-Client-Cert: Hash=/);
  assert.equal(feed(ok, "frame-bytes"), "", "held until the application answers");
  assert.equal(answer(ok, "HTTP/1.1 101 Switching"), "", "status line not complete yet");
  assert.equal(answer(ok, " Protocols\r\n\r\n"), "frame-bytes");
  assert.equal(feed(ok, forged), forged, "tunnel: passes unchanged");
  // Refused (e.g. 400 with keep-alive): the next request is parsed and rewritten.
  const refused = new HttpIdentityInjector(ID);
  feed(refused, upgrade);
  assert.equal(feed(refused, forged), "");
  const released = answer(refused, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
  assert.doesNotMatch(released, /forged/);
  assert.match(released, /^GET \/ HTTP\/1\.1\r\nX-Forwarded-Client-Cert: Hash=/);
  assert.ok(!refused.watchesServer);
  // An interim answer is ambiguous: closed.
  const interim = new HttpIdentityInjector(ID);
  feed(interim, upgrade);
  assert.throws(() => answer(interim, "HTTP/1.1 100 Continue\r\n\r\n"), HttpFramingError);
  // A 2xx (not 101) to an upgrade resumes parsing: the next request is rewritten.
  const ok200 = new HttpIdentityInjector(ID);
  feed(ok200, upgrade);
  assert.equal(feed(ok200, forged), "");
  const after200 = answer(ok200, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  assert.doesNotMatch(after200, /forged/);
  assert.match(after200, /^GET \/ HTTP\/1\.1\r\nX-Forwarded-Client-Cert: Hash=/);
});

Deno.test("CONNECT is never tunnelled: the connection is closed, first request or not", () => {
  for (const prefix of ["", "GET / HTTP/1.1\r\n\r\n"]) {
    const connect = new HttpIdentityInjector(ID);
    if (prefix) feed(connect, prefix);
    assert.throws(
      () => feed(connect, "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n"),
      HttpConnectRefusedError,
    );
  }
  // Also without a peer identity (TLS ports without client certificates).
  assert.throws(
    () => feed(new HttpIdentityInjector(undefined), "CONNECT a:1 HTTP/1.1\r\n\r\n"),
    HttpConnectRefusedError,
  );
});

Deno.test("an upgrade that cannot be tied to its answer is not honoured", () => {
  const forged = "GET / HTTP/1.1\r\nX-Forwarded-Client-Cert: forged\r\n\r\n";
  // Not the first request: the Upgrade header is removed, parsing goes on.
  const later = new HttpIdentityInjector(ID);
  feed(later, "GET / HTTP/1.1\r\n\r\n");
  const out = feed(later, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n" + forged);
  assert.doesNotMatch(out, /Upgrade|forged/);
  assert.equal(out.split("X-Forwarded-Client-Cert: Hash=").length, 3);
  // The application spoke first: same.
  const spoke = new HttpIdentityInjector(ID, { serverSpoke: true });
  assert.doesNotMatch(feed(spoke, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), /Upgrade/);
  // h2c: never (HTTP/2 cannot be rewritten).
  const h2c = new HttpIdentityInjector(ID);
  assert.doesNotMatch(feed(h2c, "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"), /Upgrade/);
  // CONNECT after the first request, an upgrade with a body, HTTP/2 prior knowledge: closed.
  const connect = new HttpIdentityInjector(ID);
  feed(connect, "GET / HTTP/1.1\r\n\r\n");
  assert.throws(() => feed(connect, "CONNECT a:1 HTTP/1.1\r\n\r\n"), HttpFramingError);
  assert.throws(
    () =>
      feed(
        new HttpIdentityInjector(ID),
        "GET / HTTP/1.1\r\nUpgrade: x\r\nContent-Length: 1\r\n\r\n",
      ),
    /with a body/,
  );
  assert.throws(() => run("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), /request line/);
});

Deno.test("every client copy of the identity header is removed; none added without a peer", () => {
  const input = "\r\n\r\nGET /a HTTP/1.1\r\nx-forwarded-client-cert: a\r\n" +
    "X-FORWARDED-CLIENT-CERT: b\r\nX-Forwarded-Client-Cert:c\r\nHost: h\r\n\r\n" +
    "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "2f\r\nGET /x HTTP/1.1\r\nX-Forwarded-Client-Cert: d\r\n\r\n\r\n" +
    "0\r\nX-Forwarded-Client-Cert: e\r\nT: 1\r\n\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
  for (const step of [1, 3, 1000]) {
    const out = run(input, step);
    assert.doesNotMatch(out, /: [abce]\r\n/, `step ${step}`);
    assert.match(out, /X-Forwarded-Client-Cert: d\r\n/, "a chunk's data is body, unchanged");
    assert.equal(out.split(`X-Forwarded-Client-Cert: ${ID}`).length, 4);
    assert.match(out, /^GET \/a HTTP\/1\.1\r\nHost: h\r\n/, "leading blank lines dropped");
  }
  const stripOnly = new HttpIdentityInjector(undefined);
  assert.equal(
    feed(stripOnly, "GET / HTTP/1.1\r\nX-Forwarded-Client-Cert: forged\r\nHost: h\r\n\r\n"),
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
  );
  // Repeated equal lengths are one length (RFC 9110 8.6).
  assert.match(run("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi"), /hi$/);
});

Deno.test("ambiguous or malformed framing is refused (no request smuggling)", () => {
  const bad: [string, RegExp][] = [
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", /smuggling/],
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", /conflicting/],
    ["POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", /bad Content-Length/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", /must end in one chunked/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", /one chunked/],
    ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", /HTTP\/1\.0/],
    ["POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", /bad Content-Length/],
    ["GET / HTTP/1.1\nX-Forwarded-Client-Cert: forged\n\n", /bare LF/],
    ["GET / HTTP/1.1\r\nHost: h\nX-Forwarded-Client-Cert: forged\r\n\r\n", /bare LF/],
    ["GET / HTTP/1.1\r\nHost: h\rX-Forwarded-Client-Cert: f\r\n\r\n", /bare CR/],
    ["GET / HTTP/1.1\r\nHost: h\r\n X-Forwarded-Client-Cert: f\r\n\r\n", /obs-fold/],
    ["GET / HTTP/1.1\r\nX-Forwarded-Client-Cert: a\r\n\tb\r\n\r\n", /obs-fold/],
    ["GET / HTTP/1.1\r\nX-Forwarded-Client-Cert : f\r\n\r\n", /malformed header/],
    ["GET / HTTP/1.1\r\nno colon here\r\n\r\n", /malformed header/],
    ["GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", /control character/],
    ["GET / HTTP/1.2\r\n\r\n", /request line/],
    ["GET  / HTTP/1.1\r\n\r\n", /request line/],
    [" GET / HTTP/1.1\r\n\r\n", /request line/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nX\r\n", /bare LF/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n", /trailer/],
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
  assert.equal(classifyFirstBytes(enc.encode("x".repeat(200_000))), "undecided");
  assert.equal(classifyFirstBytes(enc.encode(`GET /${"a".repeat(70_000)} HTTP/1.1\r\n`)), "refuse");
  assert.equal(classifyFirstBytes(enc.encode("SET a b\r\n")), "tcp");
  assert.equal(classifyFirstBytes(new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47])), "tcp");
  // HTTP/2 prior knowledge is HTTP to the sniffer; the rewrite then refuses it (closed).
  assert.equal(classifyFirstBytes(enc.encode("PRI * HTTP/2.0\r\n")), "http");
  // Leading blank lines are skipped like servers do; a bare-LF line is still a request line.
  assert.equal(classifyFirstBytes(enc.encode("\r\n")), "undecided");
  assert.equal(classifyFirstBytes(enc.encode("\r\n\r\nGET / HTTP/1.1\r\n")), "http");
  assert.equal(classifyFirstBytes(enc.encode(" \tGET / HTTP/1.1\n")), "refuse");
  assert.equal(classifyFirstBytes(enc.encode("\rGET / HTTP/1.1\r\n")), "refuse");
  assert.equal(classifyFirstBytes(enc.encode("get /x http/1.1\n")), "http");
  // A method and a blank: anything may still follow until the line ends.
  assert.equal(classifyFirstBytes(enc.encode("X-CUSTOM_m3thod /a b c")), "undecided");
  assert.equal(classifyFirstBytes(enc.encode("EHLO mail.example\r\n")), "tcp");
  assert.equal(classifyFirstBytes(enc.encode("*3\r\n$3\r\nSET\r\n")), "tcp");
  assert.equal(classifyFirstBytes(enc.encode("GET/")), "tcp");
  assert.equal(classifyFirstBytes(new Uint8Array([0x16, 3, 1])), "tcp");
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

Deno.test("the first line is forwarded as it arrives; the line end decides", () => {
  const first = new FirstLine();
  const a = first.push(enc.encode("\r\nGET /x"));
  assert.deepEqual([a.verdict, "forward" in a && dec.decode(a.forward)], [
    "undecided",
    "\r\nGET /x",
  ]);
  const b = first.push(enc.encode(" HTTP/1.1\r\nHost: h\r\n\r\n"));
  assert.equal(b.verdict, "http");
  if (b.verdict !== "http") return;
  assert.equal(dec.decode(b.forward), " HTTP/1.1");
  assert.equal(dec.decode(b.line), "GET /x HTTP/1.1");
  assert.equal(dec.decode(b.rest), "\r\nHost: h\r\n\r\n");
});

Deno.test("header and request-line bytes 0x80-0xff pass byte for byte (no windows-1252)", () => {
  const high = Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i);
  const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const request = new Uint8Array([
    ...ascii("GET /"),
    ...high,
    ...ascii(" HTTP/1.1\r\nX-Name: "),
    0xe2,
    0x82,
    0xac,
    0x20,
    0x9b,
    0x86,
    0x95,
    0x20,
    ...high,
    ...ascii("\r\nX-Forwarded-Client-Cert: forged\r\n\r\n"),
  ]);
  assert.equal(classifyFirstBytes(request), "http");
  const expected = new Uint8Array([
    ...request.subarray(0, request.length - "X-Forwarded-Client-Cert: forged\r\n\r\n".length),
    ...ascii(`X-Forwarded-Client-Cert: ${ID}\r\n\r\n`),
  ]);
  for (const step of [1, 5, request.length]) {
    const injector = new HttpIdentityInjector(ID);
    const out: number[] = [];
    for (let i = 0; i < request.length; i += step) {
      for (const piece of injector.push(request.subarray(i, i + step))) out.push(...piece);
    }
    assert.deepEqual(new Uint8Array(out), expected, `step ${step}`);
  }
});

Deno.test("latin1: decoding is one to one, encoding refuses characters above U+00FF", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = decodeLatin1(all);
  assert.deepEqual([...text].map((c) => c.charCodeAt(0)), [...all]);
  assert.deepEqual(encodeLatin1(text, "f"), all);
  assert.deepEqual(decodeLatin1(all.subarray(0x80, 0x82)), "\x80\x81");
  for (const bad of ["\u010d\u010a", "\u20ac", "a\u{1f600}"]) {
    assert.throws(() => encodeLatin1(bad, "request.headers"), (e: ContrastError) => {
      assert.equal(e.field, "request.headers");
      assert.match(e.reason, /is not a byte/);
      return true;
    });
  }
});

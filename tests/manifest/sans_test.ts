import assert from "node:assert/strict";
import { classifySan, isDnsName, isIPv4, isIPv6 } from "../../manifest/sans.ts";

Deno.test("classifies IPv4, IPv6, URIs and DNS names", () => {
  const kinds: Record<string, string> = {
    "10.1.2.3": "ip",
    "255.255.255.255": "ip",
    "::1": "ip",
    "fe80::1:2": "ip",
    "2001:db8:0:0:0:0:2:1": "ip",
    "::ffff:192.0.2.1": "ip",
    "spiffe://contrast/ns/web": "uri",
    "https://example.com/x": "uri",
    "coordinator": "dns",
    "*": "dns",
    "*.svc.cluster.local": "dns",
    "web-0.web.default.svc": "dns",
  };
  for (const [text, kind] of Object.entries(kinds)) {
    const r = classifySan(text);
    assert.ok("kind" in r, `${text}: ${JSON.stringify(r)}`);
    assert.equal(r.kind, kind, text);
    assert.equal(r.value, text);
  }
});

Deno.test("rejects text that is none of the three", () => {
  for (
    const bad of [
      "",
      "a b",
      "host:8080",
      // Before, a dotted host with a port read as a URI with the scheme "db.example.com".
      "db.example.com:5432",
      "10.0.0.7:5432",
      "-x",
      "x-",
      "a..b",
      "a.*.b",
      "1.2.3.256",
      "10.0.0",
      "http://[::1",
    ]
  ) {
    assert.ok("error" in classifySan(bad), bad);
  }
  assert.equal(isIPv4("256.1.1.1"), false);
  assert.equal(isIPv4("01.1.1.1"), false);
  assert.equal(isIPv6("1:2:3:4:5:6:7:8:9"), false);
  assert.equal(isIPv6("1::2::3"), false);
  assert.equal(isIPv6("12345::"), false);
  assert.equal(isDnsName("a".repeat(64)), false);
  assert.equal(
    isDnsName(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`),
    false,
  );
});

Deno.test("URI SANs are printable ASCII without blanks or commas", () => {
  for (
    const bad of [
      "spiffe://x/a, DNS:coordinator",
      "spiffe://x/a,DNS:coordinator",
      "spiffe://x/a b",
      "spiffe://x/a\u010d\u010aX-Forwarded-Client-Cert: forged",
      "spiffe://x/a\r\nX: y",
      "spiffe://x/\u00e9",
      "spiffe://x/a\x7f",
      "spiffe://x/a\t",
    ]
  ) {
    const r = classifySan(bad);
    assert.ok("error" in r, JSON.stringify(bad));
    assert.match(r.error, /printable ASCII without blanks or commas/);
  }
  // `;` and `=` are allowed (the identity header quotes them).
  const ok = classifySan("spiffe://x/a;DNS=coordinator");
  assert.ok("kind" in ok && ok.kind === "uri");
});

Deno.test("URI SANs under urn:contrast: are refused: the Coordinator names SAN-less policies there", () => {
  // Before, an entry (or generate's extra-sans annotation) could claim another policy's
  // urn:contrast:policy:<digest>, the identity its peers' X-Forwarded-Client-Cert shows for it.
  for (
    const bad of [
      `urn:contrast:policy:${"ab".repeat(32)}`,
      `URN:Contrast:policy:${"ab".repeat(32)}`,
      "urn:contrast:anything",
    ]
  ) {
    const r = classifySan(bad);
    assert.ok("error" in r, bad);
    assert.match(r.error, /urn:contrast: are the Coordinator's own/, bad);
  }
  for (const fine of ["urn:example:contrast:x", "urn:contrastx:y"]) {
    const r = classifySan(fine);
    assert.ok("kind" in r && r.kind === "uri", fine);
  }
});

import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { basicAuthorization, parseAuthChallenges } from "../../oci/auth.ts";

Deno.test("parses Bearer and Basic challenges with quoted parameters", () => {
  const [bearer] = parseAuthChallenges(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
  );
  assert.equal(bearer!.scheme, "bearer");
  assert.equal(bearer!.params.get("realm"), "https://auth.docker.io/token");
  assert.equal(bearer!.params.get("service"), "registry.docker.io");
  assert.equal(bearer!.params.get("scope"), "repository:library/nginx:pull");
  const [basic] = parseAuthChallenges('Basic realm="a \\"quoted\\" realm"');
  assert.equal(basic!.scheme, "basic");
  assert.equal(basic!.params.get("realm"), 'a "quoted" realm');
  const both = parseAuthChallenges('Basic realm="x", Bearer realm="https://t", service=reg');
  assert.deepEqual(both.map((c) => c.scheme), ["basic", "bearer"]);
  assert.equal(both[1]!.params.get("service"), "reg");
});

Deno.test("rejects an empty or malformed WWW-Authenticate header", () => {
  assert.throws(() => parseAuthChallenges(""), ParseError);
  assert.throws(() => parseAuthChallenges('"only quotes"'), ParseError);
});

Deno.test("encodes Basic credentials as base64 of user:password", () => {
  assert.equal(basicAuthorization({ username: "a", password: "b:c" }), `Basic ${btoa("a:b:c")}`);
});

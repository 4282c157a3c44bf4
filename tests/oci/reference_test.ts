import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { apiHost, parseImageReference, pinnedReference } from "../../oci/reference.ts";

const D = `sha256:${"a1".repeat(32)}`;

function parts(text: string) {
  const r = parseImageReference(text);
  return [r.registry, r.repository, r.tag, r.digest];
}

Deno.test("applies Docker Hub defaults: docker.io, library/ and latest", () => {
  assert.deepEqual(parts("nginx"), ["docker.io", "library/nginx", "latest", undefined]);
  assert.deepEqual(parts("nginx:1.27"), ["docker.io", "library/nginx", "1.27", undefined]);
  assert.deepEqual(parts("bitnami/redis"), ["docker.io", "bitnami/redis", "latest", undefined]);
  assert.deepEqual(parts("docker.io/nginx"), ["docker.io", "library/nginx", "latest", undefined]);
  assert.deepEqual(parts("index.docker.io/library/nginx:1"), [
    "docker.io",
    "library/nginx",
    "1",
    undefined,
  ]);
  assert.equal(parseImageReference("nginx").name, "docker.io/library/nginx");
  assert.equal(apiHost("docker.io"), "registry-1.docker.io");
});

Deno.test("parses registries with ports, localhost, IPv6 and nested repositories", () => {
  assert.deepEqual(parts("localhost/app"), ["localhost", "app", "latest", undefined]);
  assert.deepEqual(parts("localhost:5000/a/b:v1"), ["localhost:5000", "a/b", "v1", undefined]);
  assert.deepEqual(parts("127.0.0.1:5000/app"), ["127.0.0.1:5000", "app", "latest", undefined]);
  assert.deepEqual(parts("[::1]:5000/app:x"), ["[::1]:5000", "app", "x", undefined]);
  assert.deepEqual(parts("ghcr.io/edgelesssys/contrast/initializer:v1.0"), [
    "ghcr.io",
    "edgelesssys/contrast/initializer",
    "v1.0",
    undefined,
  ]);
  assert.deepEqual(parts("my-registry.example.com/a__b/c.d-e:T_1"), [
    "my-registry.example.com",
    "a__b/c.d-e",
    "T_1",
    undefined,
  ]);
});

Deno.test("parses digests, alone or after a tag, and pins references", () => {
  assert.deepEqual(parts(`ghcr.io/a/b@${D}`), ["ghcr.io", "a/b", undefined, D]);
  assert.deepEqual(parts(`nginx:1.27@${D}`), ["docker.io", "library/nginx", "1.27", D]);
  const r = parseImageReference(`localhost:5000/app:v1`);
  assert.equal(pinnedReference(r, D), `localhost:5000/app@${D}`);
});

Deno.test("rejects malformed references with a ParseError naming the field", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["Nginx", /lowercase/],
    ["ghcr.io/Org/app", /lowercase/],
    ["nginx:", /invalid tag/],
    ["nginx:-bad", /invalid tag/],
    [`nginx:${"x".repeat(129)}`, /invalid tag/],
    ["nginx@sha256:abc", /invalid digest/],
    [`nginx@sha512:${"a".repeat(128)}`, /unsupported digest algorithm/],
    [`nginx@sha256:${"A1".repeat(32)}`, /invalid digest/],
    ["a//b", /empty path component/],
    ["ghcr.io/", /empty path component|missing repository/],
    ["a/b_-c", /invalid repository path component/],
    ["-a/b", /invalid repository path component/],
    ["my host/app", /whitespace/],
    ["localhost:99999/app", /invalid port/],
    ["localhost:0/app", /invalid port/],
    ["exa_mple.com/app", /invalid host/],
    ["[::1/app", /IPv6/],
    [":tag", /missing repository/],
    [`r.io/${"a/".repeat(130)}b`, /longer than 255/],
  ];
  for (const [text, reason] of bad) {
    assert.throws(
      () => parseImageReference(text, "spec.containers[0].image"),
      (e: unknown) =>
        e instanceof ParseError && e.field === "spec.containers[0].image" && reason.test(e.reason),
      text,
    );
  }
});

import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import {
  createSha256,
  digestOf,
  parseDigest,
  verifyDigest,
  verifyingStream,
} from "../../oci/digest.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import { collect } from "../../oci/compression.ts";

const data = new TextEncoder().encode("hello");
const HELLO = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

Deno.test("computes and parses sha256 digests", async () => {
  assert.equal(await digestOf(data), HELLO);
  assert.equal(parseDigest(HELLO).hex, HELLO.slice(7));
  assert.equal(parseDigest(HELLO).bytes.length, 32);
});

Deno.test("rejects malformed and unsupported digests", () => {
  assert.throws(
    () => parseDigest("sha256:abc", "layers[0].digest"),
    (e: unknown) => e instanceof ParseError && e.field === "layers[0].digest",
  );
  assert.throws(() => parseDigest(`sha512:${"a".repeat(128)}`), /unsupported digest algorithm/);
  assert.throws(() => parseDigest(HELLO.toUpperCase()), ParseError);
});

Deno.test("verifies content against its digest, rejecting a single flipped bit", async () => {
  await verifyDigest(data, parseDigest(HELLO), "blob");
  const flipped = data.slice();
  flipped[0]! ^= 1;
  await assert.rejects(verifyDigest(flipped, parseDigest(HELLO), "blob"), VerificationError);
});

Deno.test("a verifying stream passes matching content and errors on a mismatch", async () => {
  const stream = (b: Uint8Array) => new Blob([b as Uint8Array<ArrayBuffer>]).stream();
  assert.deepEqual(
    await collect(stream(data).pipeThrough(verifyingStream(parseDigest(HELLO), "x"))),
    data,
  );
  await assert.rejects(
    collect(stream(new Uint8Array([1])).pipeThrough(verifyingStream(parseDigest(HELLO), "diff"))),
    (e: unknown) => e instanceof VerificationError && e.field === "diff",
  );
});

Deno.test("incremental sha256 equals the one-shot digest for any chunking", async () => {
  const big = new Uint8Array(100_000).map((_, i) => i * 7);
  const h = createSha256();
  for (let i = 0; i < big.length; i += 9_999) h.update(big.subarray(i, i + 9_999));
  assert.equal(`sha256:${encodeHex(h.digest())}`, await digestOf(big));
});

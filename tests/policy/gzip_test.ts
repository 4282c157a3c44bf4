import assert from "node:assert/strict";
import { constants, deflateRawSync, gunzipSync } from "node:zlib";
import { gunzipBounded, PrefixedGzip, prefixedGzip } from "../../policy/gzip.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** Decompresses with the system's gzip (another implementation than zlib-in-Deno), if present. */
async function systemGunzip(gz: Uint8Array): Promise<Uint8Array | undefined> {
  let child;
  try {
    child = new Deno.Command("gzip", { args: ["-dc"], stdin: "piped", stdout: "piped" }).spawn();
  } catch {
    console.warn("SKIPPED: no gzip binary for the cross-implementation check");
    return undefined;
  }
  const writer = child.stdin.getWriter();
  await writer.write(gz);
  await writer.close();
  const out = await child.output();
  assert.ok(out.success, "gzip -dc refused the member");
  return out.stdout;
}

Deno.test("prefixedGzip gives one gzip member of prefix + suffix that every decoder reads", async () => {
  const prefixes = [
    enc(""),
    enc("rules\n".repeat(10_000)),
    new Uint8Array(70_000).map((_, i) => (i * 2654435761) >>> 24),
  ];
  const suffixes = [enc(""), enc('{"a": 1}\n'), enc("data ".repeat(20_000))];
  for (const prefix of prefixes) {
    const members = await prefixedGzip(prefix)(suffixes);
    assert.equal(members.length, suffixes.length);
    for (const [i, suffix] of suffixes.entries()) {
      const whole = concat(prefix, suffix);
      const gz = members[i]!;
      assert.deepEqual(new Uint8Array(gunzipSync(gz)), whole);
      assert.deepEqual(await gunzipBounded(gz, whole.length + 1), whole);
      const system = await systemGunzip(gz);
      if (system) assert.deepEqual(system, whole);
      assert.deepEqual((await prefixedGzip(prefix)([suffix]))[0], gz, "deterministic");
    }
  }
});

Deno.test("prefixedGzip: a suffix's member is the same whatever else is compressed with it", async () => {
  const gzip = prefixedGzip(enc("rules\n".repeat(1_000)));
  const a = enc('{"containers": [{"name": "a"}]}\n'.repeat(500));
  const b = new Uint8Array(50_000).map((_, i) => (i * 2654435761) >>> 24); // incompressible
  const c = enc("");
  const [alone] = await gzip([a]);
  const batch = await gzip([b, a, c, a, b]);
  // Data a repeats data before it: without the full flush the second `a` would be compressed as
  // a back-reference into the first, and its member would not decode on its own.
  assert.deepEqual(batch[1], alone);
  assert.deepEqual(batch[3], alone);
  assert.deepEqual(batch[0], batch[4]);
  assert.deepEqual(batch[2], (await gzip([c]))[0]);
  assert.deepEqual(await gzip([]), []);
});

Deno.test("prefixedGzip output is refused when its CRC or length trailer is wrong", async () => {
  const [gz] = await prefixedGzip(enc("prefix ".repeat(100)))([enc("suffix")]);
  for (const at of [gz!.length - 8, gz!.length - 1]) {
    const bad = gz!.slice();
    bad[at]! ^= 1;
    await assert.rejects(gunzipBounded(bad, 1 << 20), /corrupt/);
  }
});

Deno.test("prefixedGzip: each suffix's blocks are a one-shot level-2 raw DEFLATE of it ended by a full flush", async () => {
  // An independent reference for the bytes (not only their decoding): whatever the stream did
  // before, a suffix's part is what zlib gives for that suffix alone.
  const prefix = enc("rules\n".repeat(1_000));
  const gzip = prefixedGzip(prefix);
  const suffixes = [
    enc('{"containers": [{"name": "a"}]}\n'.repeat(500)),
    enc(""),
    new Uint8Array(70_000).map((_, i) => (i * 2654435761) >>> 24),
    enc(""),
    enc(""),
    enc("x"),
    enc('policy_data := {\n  \\"a\\": 1\n}\n'.repeat(3_000)),
  ];
  const members = await gzip(suffixes);
  const { prefixBytes } = new PrefixedGzip(prefix);
  for (const [i, suffix] of suffixes.entries()) {
    const body = new Uint8Array(
      deflateRawSync(suffix, { level: 2, finishFlush: constants.Z_FULL_FLUSH }),
    );
    const member = members[i]!;
    assert.deepEqual(member.subarray(0, prefixBytes.length), prefixBytes, `suffix ${i}: head`);
    assert.deepEqual(
      member.subarray(prefixBytes.length, prefixBytes.length + body.length),
      body,
      `suffix ${i}: blocks`,
    );
    assert.equal(member.length, prefixBytes.length + body.length + 2 + 8, `suffix ${i}: end`);
  }
});

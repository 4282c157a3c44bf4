import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import {
  collect,
  compress,
  decompressStream,
  detectCompression,
  gzip,
  zstdStored,
} from "../../oci/compression.ts";

const data = new TextEncoder().encode("layer data ".repeat(40_000)); // > one zstd block

Deno.test("gzip and zstd round-trip, and plain data passes through", async () => {
  for (const c of ["gzip", "zstd", "none"] as const) {
    const packed = await compress(data, c);
    assert.equal(detectCompression(packed), c);
    assert.deepEqual(await collect(decompressStream(packed, "layer")), data, c);
  }
});

Deno.test("stored zstd frames are read by the real zstd tool", async () => {
  const frame = zstdStored(data);
  const child = new Deno.Command("zstd", {
    args: ["-d", "-c", "-q"],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(frame);
  await writer.close();
  const out = await child.output();
  assert.ok(out.success);
  assert.deepEqual(out.stdout, data);
  assert.deepEqual(
    await collect(decompressStream(zstdStored(new Uint8Array(0)), "x")),
    new Uint8Array(0),
  );
});

Deno.test("gzip output is deterministic", async () => {
  assert.deepEqual(await gzip(data), await gzip(data));
});

Deno.test("rejects corrupt and truncated gzip and zstd with a ParseError naming the layer", async () => {
  const gz = await gzip(data);
  const corrupt = gz.slice();
  corrupt[20]! ^= 0xff;
  const zs = zstdStored(data);
  const cases: [Uint8Array, RegExp][] = [
    [corrupt, /invalid gzip/],
    [gz.subarray(0, gz.length - 10), /invalid gzip|truncated/],
    [zs.subarray(0, 1000), /invalid zstd|truncated zstd/],
    [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff]), /zstd/],
  ];
  for (const [bytes, reason] of cases) {
    await assert.rejects(
      collect(decompressStream(bytes, "layer sha256:x")),
      (e: unknown) =>
        e instanceof ParseError && e.field === "layer sha256:x" && reason.test(e.reason),
    );
  }
});

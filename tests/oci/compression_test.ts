import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { concatBytes } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import {
  collect,
  compress,
  decompressStream,
  detectCompression,
  gzip,
  zstdStored,
} from "../../oci/compression.ts";
import { MAX_ZSTD_WINDOW } from "../../oci/zstd_guard.ts";

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

/** `data` compressed by the real zstd tool with `args`. */
async function zstdTool(input: Uint8Array, args: string[]): Promise<Uint8Array> {
  const child = new Deno.Command("zstd", {
    args: ["-c", "-q", ...args],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  assert.ok(out.success);
  return out.stdout;
}

/** A zstd frame (window descriptor `2^windowLog`) of `blocks` RLE blocks of `size` bytes each. */
function rleFrame(windowLog: number, blocks: number, size: number): Uint8Array {
  const bytes = [0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3];
  for (let i = 0; i < blocks; i++) {
    const header = (size << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
    bytes.push(header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x41);
  }
  return new Uint8Array(bytes);
}

Deno.test("a zstd frame declaring a window above 8 MiB is refused before the decoder allocates it", async () => {
  // Before: 10 bytes declaring a 1 GiB window made the decoder allocate (and fill) 1 GiB.
  const singleSegmentGiB = new Uint8Array([
    0x28,
    0xb5,
    0x2f,
    0xfd,
    0xa0,
    0,
    0,
    0,
    0x40,
    0x09,
    0,
    0,
    0x41,
  ]);
  for (const bytes of [rleFrame(30, 1, 1), rleFrame(24, 1, 1), singleSegmentGiB]) {
    await assert.rejects(
      collect(decompressStream(bytes, "layer sha256:z")),
      (e: unknown) =>
        e instanceof ParseError && e.field === "layer sha256:z" &&
        /zstd frame needs a \d+-byte window, more than the 8388608/.test(e.reason),
    );
  }
  // zstd --long=27 writes 128 MiB windows: refused the same way (RFC 8878 asks for 8 MiB).
  const long = await zstdTool(data, ["--long=27"]);
  await assert.rejects(collect(decompressStream(long, "l")), /more than the 8388608/);
  assert.equal(MAX_ZSTD_WINDOW, 8 * 1024 * 1024);
});

Deno.test("tiny zstd blocks in a large window are refused (the decoder moves its window per block)", async () => {
  // Before: 5,000 one-byte RLE blocks (20 KB) in an 8 MiB window took 1.7 s, ~90 s per MiB of
  // layer; at a 128 MiB window 3.6 s per 300 blocks.
  await assert.rejects(
    collect(decompressStream(rleFrame(23, 5000, 1), "layer sha256:t")),
    (e: unknown) =>
      e instanceof ParseError && e.field === "layer sha256:t" &&
      /zstd blocks too small for their window/.test(e.reason),
  );
  // Full blocks in the same window decode (64 window bytes moved per output byte).
  const full = await collect(decompressStream(rleFrame(23, 200, 128 * 1024 - 1), "l"));
  assert.equal(full.length, 200 * (128 * 1024 - 1));
});

Deno.test("what the zstd tool writes decodes: levels, checksums, several frames, skippable frames", async () => {
  const text = new TextEncoder().encode(
    Array.from({ length: 80_000 }, (_, i) => `line ${i} ${(i * 7919) % 10007}\n`).join(""),
  );
  const fast = await zstdTool(text, ["-1"]);
  // -19 splits blocks (~16 KiB of output each in an 8 MiB window): within the work bound.
  const best = await zstdTool(text, ["-19", "--check"]);
  const skippable = new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const twice = concatBytes(text, text);
  for (
    const [name, bytes, expected] of [
      ["-1", fast, text],
      ["-19 --check", best, text],
      ["two frames", concatBytes(fast, best), twice],
      [
        "skippable frames between",
        concatBytes(best, skippable, fast, skippable),
        twice,
      ],
    ] as const
  ) {
    const out = await collect(decompressStream(bytes, "l"));
    assert.ok(out.length === expected.length && Buffer.compare(out, expected) === 0, name);
  }
});

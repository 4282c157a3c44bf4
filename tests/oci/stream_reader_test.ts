import assert from "node:assert/strict";
import { StreamReader } from "../../oci/stream_reader.ts";

function chunked(bytes: number[], size: number): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    chunks.push(new Uint8Array(bytes.slice(i, i + size)));
  }
  return new ReadableStream({
    pull(c) {
      const next = chunks.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
  });
}

Deno.test("reads exact lengths across chunk borders, skips, and reports short reads", async () => {
  const data = Array.from({ length: 20 }, (_, i) => i);
  const r = new StreamReader(chunked(data, 3));
  assert.deepEqual([...await r.read(2)], [0, 1]);
  assert.deepEqual([...await r.read(5)], [2, 3, 4, 5, 6]);
  assert.equal(await r.skip(4), 4);
  assert.equal(r.position, 11);
  assert.deepEqual([...await r.read(20)], [11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(await r.skip(5), 0);
  assert.equal(r.position, 20);
});

Deno.test("drains the rest of a stream", async () => {
  const r = new StreamReader(chunked(Array.from({ length: 10 }, (_, i) => i), 4));
  await r.read(1);
  await r.drain();
  assert.equal(r.position, 10);
  assert.equal((await r.read(1)).length, 0);
});

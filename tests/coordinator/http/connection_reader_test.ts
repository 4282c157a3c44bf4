/**
 * The connection reader's body framing against a scripted connection: what a body costs in
 * memory while it arrives, and that the bytes read are exactly the body.
 */
import assert from "node:assert/strict";
import { ConnectionReader, ReaderBuffers } from "../../../coordinator/http/connection_reader.ts";
import { HttpFramingError } from "../../../coordinator/http/request_head.ts";
import type { ByteConnection } from "../../../coordinator/http/stream_connection.ts";

const ASCII = new TextEncoder();

/** A connection that hands out `source` in reads of at most `piece` bytes, calling `onRead`. */
function scripted(
  source: Uint8Array,
  piece: number,
  onRead: () => void,
): Pick<ByteConnection, "read"> {
  let offset = 0;
  return {
    read: (into) => {
      onRead();
      if (offset >= source.length) return Promise.resolve(null);
      const n = Math.min(into.length, piece, source.length - offset);
      into.set(source.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

Deno.test("a chunked body of many one-byte chunks is refused, without an object per chunk", async () => {
  // 400,000 chunks of one byte (2.4 MB on the wire). Kept one array per chunk until the end, they
  // held ~90 MB of heap (~230 bytes each): a 32 MiB user-API body sent as one-byte chunks
  // (192 MB on the wire) took ~7 GiB and ended the Coordinator. Each chunk also costs ~2.2 µs of
  // CPU (such a body ~75 s): past 1,024 chunks the mean chunk must be 256 bytes or more.
  const chunks = 400_000;
  const wire = ASCII.encode(
    "POST / HTTP/1.1\r\nhost: c\r\ntransfer-encoding: chunked\r\n\r\n" +
      "1\r\nx\r\n".repeat(chunks) + "0\r\n\r\n",
  );
  let reads = 0;
  let peak = 0;
  const base = Deno.memoryUsage().heapUsed;
  const conn = scripted(wire, 16 * 1024, () => {
    if (++reads % 8 === 0) peak = Math.max(peak, Deno.memoryUsage().heapUsed - base);
  });
  const reader = new ConnectionReader(conn);
  const head = await reader.readHead(16 * 1024, () => {});
  assert.ok(head?.chunked);
  await assert.rejects(
    reader.readBody(head, 32 * 1024 * 1024),
    (error: unknown) =>
      error instanceof HttpFramingError && error.status === 400 &&
      /more than 1024 chunks averaging under 256 bytes/.test(error.message),
  );
  assert.ok(reads < 10, `read ${reads} times before refusing`);
  assert.ok(peak < 40 * 1024 * 1024, `heap grew by ${Math.round(peak / 1048576)} MiB`);
});

Deno.test("many chunks of a useful size are read whole into one array", async () => {
  // 3,000 chunks of 300 bytes, then 500 of one byte: the mean stays over 256.
  const wire = ASCII.encode(
    "POST / HTTP/1.1\r\nhost: c\r\ntransfer-encoding: chunked\r\n\r\n" +
      `12c\r\n${"b".repeat(300)}\r\n`.repeat(3000) + "1\r\na\r\n".repeat(500) + "0\r\n\r\n",
  );
  const reader = new ConnectionReader(scripted(wire, 16 * 1024, () => {}));
  const head = await reader.readHead(16 * 1024, () => {});
  const body = await reader.readBody(head!, 32 * 1024 * 1024);
  assert.equal(body.length, 300 * 3000 + 500);
  assert.equal(body[300 * 3000 - 1], 0x62);
  assert.equal(body[300 * 3000], 0x61);
  assert.equal(reader.hasBuffered, false);
});

Deno.test("a declared Content-Length is not allocated before its bytes arrive", async () => {
  // A head declaring 32 MiB followed by 10 bytes: the reader must not hold 32 MiB for it (64
  // such heads per address held 2 GiB of external memory for the request deadline).
  const wire = ASCII.encode(
    "POST / HTTP/1.1\r\nhost: c\r\ncontent-length: 33554432\r\n\r\n0123456789",
  );
  const base = Deno.memoryUsage().external;
  let peak = 0;
  const conn = scripted(wire, 1024, () => {
    peak = Math.max(peak, Deno.memoryUsage().external - base);
  });
  const reader = new ConnectionReader(conn);
  const head = await reader.readHead(16 * 1024, () => {});
  assert.equal(head?.contentLength, 33554432);
  await assert.rejects(reader.readBody(head, 32 * 1024 * 1024), /connection ended inside the body/);
  assert.ok(peak < 4 * 1024 * 1024, `external memory grew by ${Math.round(peak / 1048576)} MiB`);
});

Deno.test("Content-Length and chunked bodies read exactly their bytes; the next request stays buffered", async () => {
  const body = "y".repeat(100_000);
  const wire = ASCII.encode(
    `POST / HTTP/1.1\r\nhost: c\r\ncontent-length: ${body.length}\r\n\r\n${body}` +
      "POST / HTTP/1.1\r\nhost: c\r\ntransfer-encoding: chunked\r\n\r\n" +
      "3;ext=1\r\nabc\r\n10000\r\n" + "z".repeat(0x10000) + "\r\n0\r\ntrailer: t\r\n\r\n" +
      "GET /next HTTP/1.1\r\nhost: c\r\n\r\n",
  );
  const reader = new ConnectionReader(scripted(wire, 777, () => {}));
  const first = await reader.readHead(16 * 1024, () => {});
  const a = await reader.readBody(first!, 1 << 20);
  assert.equal(new TextDecoder().decode(a), body);
  const second = await reader.readHead(16 * 1024, () => {});
  const b = await reader.readBody(second!, 1 << 20);
  assert.equal(new TextDecoder().decode(b), "abc" + "z".repeat(0x10000));
  const third = await reader.readHead(16 * 1024, () => {});
  assert.equal(third?.path, "/next");
});

Deno.test("a released reader's buffer serves the next connection, which sees none of its bytes", async () => {
  const buffers = new ReaderBuffers(1);
  // The first connection leaves a pipelined request unread in its buffer.
  const first = new ReaderBuffers(0);
  const wire = ASCII.encode(
    'POST /one HTTP/1.1\r\nhost: c\r\ncontent-length: 7\r\n\r\n{"a":1}' +
      "GET /leftover HTTP/1.1\r\nhost: c\r\n\r\n",
  );
  const reader = new ConnectionReader(scripted(wire, wire.length, () => {}), buffers);
  const head = await reader.readHead(16 * 1024, () => {});
  assert.equal(head?.path, "/one");
  assert.deepEqual(new TextDecoder().decode(await reader.readBody(head!, 1024)), '{"a":1}');
  assert.ok(reader.hasBuffered);
  reader.release();
  // Released, it holds nothing and reads nothing more.
  assert.equal(reader.hasBuffered, false);
  const taken = buffers.take();
  assert.equal(taken.length, 8 * 1024);
  buffers.give(taken);
  // The next connection gets that buffer and reads only its own bytes.
  const next = new ConnectionReader(
    scripted(ASCII.encode("GET /two HTTP/1.1\r\nhost: c\r\n\r\n"), 5, () => {}),
    buffers,
  );
  assert.equal(next.hasBuffered, false);
  assert.equal((await next.readHead(16 * 1024, () => {}))?.path, "/two");
  assert.equal(next.hasBuffered, false);
  assert.equal(await next.readHead(16 * 1024, () => {}), undefined);
  // A buffer grown for a long head is not kept, nor any beyond the bound.
  const given = new Uint8Array(8 * 1024);
  first.give(given);
  assert.notStrictEqual(first.take(), given);
  const grown = new Uint8Array(16 * 1024);
  const plain = new Uint8Array(8 * 1024);
  buffers.give(grown);
  buffers.give(plain);
  assert.strictEqual(buffers.take(), plain);
  assert.notStrictEqual(buffers.take(), grown);
});

/**
 * `meshproxy/tls_reads.ts`: a `node:tls` socket's decrypted bytes read into pooled buffers of
 * ours. This Deno must support it (the proxy's data path relies on it for its CPU cost; a
 * runtime that drops it makes the first test fail, not the proxy silently slower), every byte
 * arrives in order, bytes the socket buffered before the switch come first, a buffer is
 * handed back once, and a socket whose read buffer is someone else's is left alone.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import { issuePod, meshAuthority, type PodFiles } from "../../bench/meshproxy/credentials.ts";
import { readIntoOwnBuffers } from "../../meshproxy/tls_reads.ts";
import { concatBytes, encodeHex, sha256 } from "../../util/bytes/mod.ts";

const files: PodFiles = await issuePod(await meshAuthority(), ["server"]);

/** A pool that records what it handed out and got back. */
class RecordingPool {
  readonly taken = new Set<Uint8Array>();
  readonly given: Uint8Array[] = [];
  readonly #free: Uint8Array[] = [];

  take(): Uint8Array {
    const buffer = this.#free.pop() ?? new Uint8Array(64 * 1024);
    this.taken.add(buffer);
    return buffer;
  }

  give(buffer: Uint8Array): void {
    this.given.push(buffer);
    this.#free.push(buffer);
  }
}

/** A TLS server on loopback whose sockets go to `onSocket`, and a client connected to it. */
async function connectedPair(
  onSocket: (socket: tls.TLSSocket) => void,
): Promise<{ client: tls.TLSSocket; close(): void }> {
  const server = tls.createServer({ key: files.key, cert: files.certChain }, onSocket);
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  );
  const client = tls.connect({ host: "127.0.0.1", port, ca: files.meshCa, servername: "server" });
  client.on("error", () => {});
  await new Promise((resolve) => client.once("secureConnect", resolve));
  return {
    client,
    close: () => {
      client.destroy();
      server.close();
    },
  };
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, i + 65_536));
  return out;
}

Deno.test("tls_reads: 8 MiB arrive intact and in order, read into the pool's buffers", async () => {
  const payload = randomBytes(8 * 1024 * 1024);
  const pool = new RecordingPool();
  const received: Uint8Array[] = [];
  const ended = Promise.withResolvers<void>();
  let switched: boolean | undefined;
  let foreign = 0;
  let releases = 0;
  let small = 0;
  const pair = await connectedPair((socket) => {
    socket.on("error", ended.reject);
    socket.on("data", () => ended.reject(new Error("a data event after the switch")));
    switched = readIntoOwnBuffers(socket, pool, (bytes, release) => {
      const pooled = [...pool.taken].some((b) => b.buffer === bytes.buffer);
      // A read under a quarter of a buffer comes as a copy (its buffer is reused at once).
      if (bytes.length < 16 * 1024) {
        small++;
        assert.ok(!pooled, "a small read still sits in a pooled buffer");
      } else if (!pooled) foreign++;
      received.push(bytes.slice());
      release();
      release(); // a second call must not hand the buffer back twice
      releases++;
    });
    socket.on("end", () => ended.resolve());
  });
  try {
    pair.client.end(payload);
    await ended.promise;
  } finally {
    pair.close();
  }
  assert.equal(switched, true, "this Deno's node:tls cannot read into our buffers any more");
  assert.equal(foreign, 0, "a read landed outside the pool's buffers");
  const got = concatBytes(...received);
  assert.equal(got.length, payload.length);
  assert.equal(encodeHex(await sha256(got)), encodeHex(await sha256(payload)));
  assert.equal(pool.given.length, releases, "each buffer goes back once per read");
  assert.ok(small < releases / 4, `${small} of ${releases} reads were small`);
  assert.ok(pool.taken.size < releases, "buffers were reused");
});

Deno.test("tls_reads: bytes buffered before the switch come first", async () => {
  const received: Uint8Array[] = [];
  const ended = Promise.withResolvers<void>();
  let switched: boolean | undefined;
  const early = new TextEncoder().encode("early bytes;");
  const late = new TextEncoder().encode("late bytes");
  const pair = await connectedPair((socket) => {
    socket.on("error", ended.reject);
    socket.on("end", () => ended.resolve());
    // Nothing reads until the early bytes sit in the socket's own buffer.
    const waitForBuffered = () => {
      if (socket.readableLength < early.length) return void setTimeout(waitForBuffered, 5);
      switched = readIntoOwnBuffers(socket, new RecordingPool(), (bytes, release) => {
        received.push(bytes.slice());
        release();
      });
      socket.write("go");
    };
    waitForBuffered();
  });
  try {
    pair.client.write(early);
    await new Promise((resolve) => pair.client.once("data", resolve));
    pair.client.end(late);
    await ended.promise;
  } finally {
    pair.close();
  }
  assert.equal(switched, true);
  assert.equal(new TextDecoder().decode(concatBytes(...received)), "early bytes;late bytes");
});

Deno.test("tls_reads: a socket with a read buffer of its own is left alone", async () => {
  const server = tls.createServer({ key: files.key, cert: files.certChain }, (s) => s.end("hi"));
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  );
  const theirs = new Uint8Array(1024);
  const seen: number[] = [];
  // Node's `onread` option (not in @types/node's ConnectionOptions for tls.connect).
  const options = {
    host: "127.0.0.1",
    port,
    ca: files.meshCa,
    servername: "server",
    onread: { buffer: theirs, callback: (n: number) => void seen.push(n) },
  };
  const client = tls.connect(options as tls.ConnectionOptions);
  try {
    await new Promise((resolve) => client.once("secureConnect", resolve));
    const ours = readIntoOwnBuffers(client, new RecordingPool(), () => {
      throw new Error("not ours");
    });
    assert.equal(ours, false);
    await new Promise((resolve) => client.once("end", resolve));
    assert.deepEqual(seen, [2], "the socket's own onread still gets the bytes");
    assert.equal(new TextDecoder().decode(theirs.subarray(0, 2)), "hi");
  } finally {
    client.destroy();
    server.close();
  }
});

Deno.test("tls_reads: queued small reads do not each hold a pooled buffer", async () => {
  // A peer sending one-byte TLS records while the application reads nothing: the proxy's queue
  // limit counts bytes, so if every queued read held a 64 KiB pool buffer, a few hundred bytes
  // queued would pin tens of MiB (and 256 KiB queued, 16 GiB).
  const RECORDS = 300;
  const pool = new RecordingPool();
  const queued: Uint8Array[] = []; // never released: the application is not reading
  const ended = Promise.withResolvers<void>();
  let switched: boolean | undefined;
  const pair = await connectedPair((socket) => {
    socket.on("error", ended.reject);
    socket.on("end", () => ended.resolve());
    switched = readIntoOwnBuffers(socket, pool, (bytes) => void queued.push(bytes));
  });
  try {
    for (let i = 0; i < RECORDS; i++) {
      pair.client.write(new Uint8Array([i & 0xff]));
      await new Promise((resolve) => setTimeout(resolve, 0)); // one record per TCP segment
    }
    pair.client.end();
    await ended.promise;
  } finally {
    pair.close();
  }
  assert.equal(switched, true);
  assert.ok(queued.length > RECORDS / 4, `the records came in ${queued.length} reads, not apart`);
  assert.deepEqual(
    [...concatBytes(...queued)],
    Array.from({ length: RECORDS }, (_, i) => i & 0xff),
  );
  const held = new Set(queued.map((b) => b.buffer));
  const pooledHeld = [...pool.taken].filter((b) => held.has(b.buffer)).length;
  assert.equal(pooledHeld, 0, `${pooledHeld} pooled buffers held by ${RECORDS} queued bytes`);
  const heldBytes = [...held].reduce((n, b) => n + b.byteLength, 0);
  assert.ok(heldBytes <= 4 * RECORDS, `${heldBytes} bytes of buffers held for ${RECORDS} bytes`);
});

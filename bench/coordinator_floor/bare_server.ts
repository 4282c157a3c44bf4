/**
 * A connection layer with nothing of the Coordinator's in it, for `ratio.ts --server`: the same
 * certificate shape as `layer_server.ts` (P-256 key, simulated SNP evidence in the certificate)
 * and the same fixed answers, served by the runtime's bare TLS (`node-tls`: a `node:tls` socket
 * around each `node:net` connection, as the Coordinator wraps them; `deno-tls`: `Deno.listenTls`)
 * or by plain TCP (`plain`, `node:net`, the same HTTP exchange without TLS), each answering a
 * request once its head and `content-length` body are in. What the three cost per connection,
 * measured against each other and against the Coordinator's own layer, tells the TLS
 * handshake's price from the HTTP layer's. Prints `{"port":…,"pid":…}` once listening.
 *
 * Usage: `deno run -A bench/coordinator_floor/bare_server.ts node-tls|deno-tls|plain`
 *
 * @module
 */
import "reflect-metadata";
import net from "node:net";
import tls from "node:tls";
import { coordinatorShapedIdentity } from "./identity.ts";
import { CERTIFICATE_ANSWER_BYTES } from "./shape.ts";

const mode = Deno.args[0];
if (mode !== "node-tls" && mode !== "deno-tls" && mode !== "plain") {
  console.error("usage: bare_server.ts node-tls|deno-tls|plain");
  Deno.exit(2);
}
const identity = await coordinatorShapedIdentity();
const ANSWERS: Record<string, Uint8Array> = {
  "/mesh/certificate": answerOfSize(CERTIFICATE_ANSWER_BYTES),
};
const LATIN1 = new TextDecoder("latin1");

/** An HTTP/1.1 200 answer whose JSON body has exactly `bytes` bytes. */
function answerOfSize(bytes: number): Uint8Array {
  const enc = new TextEncoder();
  const body = enc.encode(`{"x":"${"a".repeat(bytes - 8)}"}`);
  const head = enc.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * Takes the whole requests at the start of `pending` and returns their answers and what is left
 * (a request not yet whole).
 */
function takeRequests(pending: Uint8Array): { answers: Uint8Array[]; rest: Uint8Array } {
  const answers: Uint8Array[] = [];
  let rest = pending;
  for (;;) {
    const text = LATIN1.decode(rest);
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) break;
    const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (rest.length < end + 4 + length) break;
    const answer = ANSWERS[text.slice(0, end).split(" ")[1]!];
    if (answer === undefined) throw new Error("unknown path");
    answers.push(answer);
    rest = rest.subarray(end + 4 + length);
  }
  return { answers, rest };
}

/** Serves one `node:net` or `node:tls` socket. */
function serveSocket(socket: net.Socket | tls.TLSSocket): void {
  let pending = new Uint8Array();
  socket.on("data", (chunk: Uint8Array) => {
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    const { answers, rest } = takeRequests(joined);
    pending = rest.slice();
    for (const answer of answers) socket.write(answer);
  });
  socket.on("end", () => socket.end());
  socket.on("error", () => socket.destroy());
}

/** Serves one `Deno.TlsConn`. */
async function serveConn(conn: Deno.TlsConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  let pending = new Uint8Array();
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(buffer.subarray(0, n), pending.length);
      const { answers, rest } = takeRequests(joined);
      pending = rest.slice();
      for (const answer of answers) {
        for (let at = 0; at < answer.length;) at += await conn.write(answer.subarray(at));
      }
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

if (mode === "deno-tls") {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: identity.certPem,
    key: identity.keyPem,
  });
  console.log(JSON.stringify({ port: (listener.addr as Deno.NetAddr).port, pid: Deno.pid }));
  for await (const conn of listener) serveConn(conn);
} else {
  const context = tls.createSecureContext({ cert: identity.certPem, key: identity.keyPem });
  const server = net.createServer((raw) => {
    raw.setNoDelay(true);
    serveSocket(
      mode === "plain" ? raw : new tls.TLSSocket(raw, { isServer: true, secureContext: context }),
    );
  });
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo;
    console.log(JSON.stringify({ port, pid: Deno.pid }));
  });
}

/**
 * The bound on busy connections (`maxBusyConnections`, `maxBusyPerAddress` of
 * `connection_limits.ts`): over it a new connection waits unread in the queue, oldest first, and
 * starts once a busy one goes idle or closes; a connection that waits past the handshake deadline
 * is closed and counted (`queued_timeout`), never dropped silently; an address at its share of
 * busy slots does not hold back other addresses; afterwards the server serves as before. Without
 * the bound every connection starts at once (the tracker tests see all five started, the TLS test
 * sees the third handshake finish before the first answer).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import { PinnedHttpsClient } from "../../../atls/pinned_client.ts";
import { type Route } from "../../../coordinator/http/server.ts";
import {
  ConnectionTracker,
  type TrackedConnection,
} from "../../../coordinator/http/connection_limits.ts";
import { startTestHttps } from "./https_fixture.ts";
import { uniformLimits } from "./uniform_limits.ts";

const LIMITS = uniformLimits(60_000);

/** Admits `names` from `address` (or per name) into `tracker`; records the order they start. */
function admitAll(
  tracker: ConnectionTracker,
  names: readonly string[],
  started: string[],
  address: (name: string) => string = () => "10.0.0.1",
): Map<string, TrackedConnection> {
  const conns = new Map<string, TrackedConnection>();
  for (const name of names) {
    const tracked = tracker.admit(address(name), () => {}, () => started.push(name));
    assert.equal(typeof tracked, "object", `${name} refused: ${tracked}`);
    conns.set(name, tracked as TrackedConnection);
  }
  return conns;
}

Deno.test("over the busy bound new connections wait in order and start as busy ones go idle or close", () => {
  const tracker = new ConnectionTracker({ ...LIMITS, maxBusyConnections: 2 }, () => {});
  const started: string[] = [];
  try {
    const c = admitAll(tracker, ["a", "b", "c", "d", "e"], started);
    assert.deepEqual(started, ["a", "b"]);
    assert.equal(tracker.busy, 2);
    assert.equal(tracker.queued, 3);
    // Head, request and answer are busy: nothing starts.
    c.get("a")!.enter("head");
    c.get("a")!.enterRequest(() => {});
    c.get("a")!.enter("answer");
    assert.deepEqual(started, ["a", "b"]);
    // a goes idle: c starts.
    c.get("a")!.enter("idle");
    assert.deepEqual(started, ["a", "b", "c"]);
    // An idle connection's next request is not held back, and counts: 3 busy.
    c.get("a")!.enter("head");
    assert.equal(tracker.busy, 3);
    // b closes: still 2 busy, nothing starts.
    c.get("b")!.close();
    tracker.release(c.get("b")!);
    assert.deepEqual(started, ["a", "b", "c"]);
    // a lingers after its last answer (not busy): d starts.
    c.get("a")!.enter("linger");
    assert.deepEqual(started, ["a", "b", "c", "d"]);
    for (const name of ["a", "c", "d"]) {
      c.get(name)!.close();
      tracker.release(c.get(name)!);
    }
    assert.deepEqual(started, ["a", "b", "c", "d", "e"]);
    assert.equal(tracker.busy, 1);
    assert.equal(tracker.queued, 0);
    c.get("e")!.close();
    tracker.release(c.get("e")!);
    assert.equal(tracker.busy, 0);
    assert.equal(tracker.size, 0);
  } finally {
    tracker.close();
  }
});

Deno.test("an address at its share of busy connections waits while other addresses start", () => {
  const tracker = new ConnectionTracker(
    { ...LIMITS, maxBusyConnections: 4, maxBusyPerAddress: 1 },
    () => {},
  );
  const started: string[] = [];
  try {
    const c = admitAll(tracker, ["x1", "x2", "y1", "x3"], started, (n) => n[0]!);
    assert.deepEqual(started, ["x1", "y1"]);
    assert.equal(tracker.queued, 2);
    c.get("x1")!.close();
    tracker.release(c.get("x1")!);
    // The oldest waiting connection of that address goes first.
    assert.deepEqual(started, ["x1", "y1", "x2"]);
    c.get("x2")!.enter("idle");
    assert.deepEqual(started, ["x1", "y1", "x2", "x3"]);
  } finally {
    tracker.close();
  }
});

Deno.test("a connection closed while queued (its release still to come) keeps no one out", () => {
  const tracker = new ConnectionTracker({ ...LIMITS, maxConnections: 1 }, () => {});
  const started: string[] = [];
  try {
    const c = admitAll(tracker, ["a", "b"], started);
    assert.deepEqual(started, ["a"]);
    // b's client goes away while it waits; a ends before b's socket reports its close.
    c.get("b")!.close();
    c.get("a")!.close();
    tracker.release(c.get("a")!);
    const late = admitAll(tracker, ["c"], started);
    assert.deepEqual(started, ["a", "c"]);
    tracker.release(c.get("b")!);
    assert.equal(tracker.queued, 0);
    assert.equal(tracker.size, 1);
    late.get("c")!.close();
  } finally {
    tracker.close();
  }
});

Deno.test("a connection queued past the handshake deadline is closed and counted, not dropped silently", async () => {
  let expired = "";
  const closedQueued: string[] = [];
  const tracker = new ConnectionTracker(
    { ...LIMITS, handshakeTimeoutMs: 40, maxBusyConnections: 1 },
    (reason) => expired += reason,
  );
  try {
    const first = tracker.admit("10.0.0.1", () => {}, () => {}) as TrackedConnection;
    first.enter("head");
    const queued = tracker.admit("10.0.0.2", () => closedQueued.push("q"), () => {});
    assert.equal(typeof queued, "object");
    // Waits for the sweep (every 10 ms here) to pass the deadline.
    while (closedQueued.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(expired, "queued_timeout");
    tracker.release(queued as TrackedConnection);
    assert.equal(tracker.queued, 0);
    assert.equal(tracker.busy, 1);
  } finally {
    tracker.close();
  }
});

const routes: Route[] = [
  { method: "POST", path: "/echo", handle: (r) => ({ body: { got: r.body } }) },
];

/** A TLS connection; resolves once its handshake finished. */
function tlsConnect(port: number): { socket: tls.TLSSocket; secured: Promise<void> } {
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  socket.on("error", () => {});
  const secured = new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("close", () => reject(new Error("closed before the handshake finished")));
  });
  return { socket, secured };
}

/** The first answer's status line read off `socket` after sending `request`. */
function exchange(socket: tls.TLSSocket, request: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once("data", (chunk: Uint8Array) => {
      resolve(new TextDecoder().decode(chunk).split("\r\n")[0]!);
    });
    socket.write(request);
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("over TLS a connection beyond the busy bound is not handshaken until a busy one is answered; the server recovers", async () => {
  const { server, metrics } = await startTestHttps({
    api: "mesh",
    routes,
    limits: { ...LIMITS, maxBusyConnections: 2 },
    maxBodyBytes: 4096,
  });
  const events: string[] = [];
  const sockets: tls.TLSSocket[] = [];
  try {
    // Two connections handshaken that send nothing yet hold both busy slots.
    const one = tlsConnect(server.port);
    const two = tlsConnect(server.port);
    sockets.push(one.socket, two.socket);
    await Promise.all([one.secured, two.secured]);
    const three = tlsConnect(server.port);
    sockets.push(three.socket);
    const thirdSecured = three.secured.then(() => events.push("third handshaken"));
    await delay(200);
    const body = '{"n":1}';
    const status = await exchange(
      one.socket,
      `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n${body}`,
    );
    events.push("first answered");
    assert.equal(status, "HTTP/1.1 200 OK");
    await thirdSecured;
    assert.deepEqual(events, ["first answered", "third handshaken"]);
    for (const socket of sockets) socket.destroy();
    // Recovered: several clients at once are all served.
    const clients = Array.from(
      { length: 5 },
      () => new PinnedHttpsClient({ host: "127.0.0.1", port: server.port }),
    );
    const answers = await Promise.all(clients.map((c, i) => c.request("POST", "/echo", { i })));
    assert.deepEqual(answers, [0, 1, 2, 3, 4].map((i) => ({ got: { i } })));
    for (const client of clients) client.close();
    assert.equal(metrics.connectionsClosed.value({ api: "mesh", reason: "queued_timeout" }), 0);
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.close();
  }
});

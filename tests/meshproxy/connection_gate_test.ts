import assert from "node:assert/strict";
import { ConnectionGate } from "../../meshproxy/connection_gate.ts";
import {
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_MAX_OPEN_FILES,
  listenerLimits,
  RESERVED_FILES,
} from "../../meshproxy/limits.ts";

Deno.test("gate (close-oldest): a full handshake cap closes the oldest handshake, never an established connection", () => {
  const gate = new ConnectionGate<string>({
    maxConnections: 4,
    maxHandshakes: 2,
    onHandshakeLimit: "close-oldest",
  });
  assert.deepEqual(gate.admit("a", "10.0.0.1"), { admitted: true });
  assert.deepEqual(gate.admit("b", "10.0.0.1"), { admitted: true });
  assert.deepEqual(gate.admit("c", "10.0.0.1"), { admitted: true, evicted: "a" });
  assert.equal(gate.established("a"), false, "an evicted connection cannot become established");
  assert.equal(gate.established("b"), true);
  assert.equal(gate.established("c"), true);
  assert.deepEqual(gate.admit("d", "10.0.0.1"), { admitted: true });
  assert.deepEqual(gate.admit("e", "10.0.0.1"), { admitted: true });
  assert.equal(gate.connections, 4);
  // At the connection cap with handshakes under way: the oldest handshake makes room.
  assert.deepEqual(gate.admit("f", "10.0.0.1"), { admitted: true, evicted: "d" });
  assert.equal(gate.established("e"), true);
  assert.equal(gate.established("f"), true);
  // Only established connections: the new one is refused.
  assert.deepEqual(gate.admit("g", "10.0.0.1"), { admitted: false, reason: "connection_limit" });
  gate.release("b");
  assert.equal(gate.holds("b"), false);
  assert.deepEqual(gate.admit("g", "10.0.0.1"), { admitted: true });
  assert.equal(gate.connections, 4);
  assert.equal(gate.handshakes, 1);
});

Deno.test("gate (close-oldest): a flood from one address closes its own handshakes, not a peer's", () => {
  const gate = new ConnectionGate<string>({
    maxConnections: 100,
    maxHandshakes: 4,
    onHandshakeLimit: "close-oldest",
  });
  const FLOOD = "10.9.9.9";
  gate.admit("f1", FLOOD);
  assert.deepEqual(gate.admit("peer", "10.0.0.7"), { admitted: true });
  gate.admit("f2", FLOOD);
  gate.admit("f3", FLOOD);
  // The peer's handshake is the second oldest; each new flood connection closes a flood one.
  for (let i = 4; i < 50; i++) {
    const admission = gate.admit(`f${i}`, FLOOD);
    assert.equal(admission.admitted, true);
    assert.ok(admission.admitted && admission.evicted?.startsWith("f"), JSON.stringify(admission));
  }
  assert.equal(gate.holds("peer"), true);
  assert.equal(gate.established("peer"), true);
  assert.deepEqual(gate.admit("f50", FLOOD), { admitted: true });
  // A second peer arriving at the full cap closes the flood's oldest handshake.
  assert.deepEqual(gate.admit("peer2", "10.0.0.8"), { admitted: true, evicted: "f47" });
  assert.equal(gate.handshakes, 4);
});

Deno.test("gate (refuse-new): a full cap refuses the new connection, naming the cap", () => {
  const gate = new ConnectionGate<string>({
    maxConnections: 3,
    maxHandshakes: 2,
    onHandshakeLimit: "refuse-new",
  });
  gate.admit("a", "10.0.0.1");
  gate.admit("b", "10.0.0.1");
  assert.deepEqual(gate.admit("c", "10.0.0.1"), { admitted: false, reason: "handshake_limit" });
  gate.established("a");
  assert.deepEqual(gate.admit("c", "10.0.0.1"), { admitted: true });
  gate.established("b");
  assert.deepEqual(gate.admit("d", "10.0.0.1"), { admitted: false, reason: "connection_limit" });
  gate.release("c");
  gate.release("c"); // twice is harmless
  assert.equal(gate.connections, 2);
});

Deno.test("limits: defaults split the descriptor limit among the listeners, two descriptors per connection", () => {
  const one = listenerLimits({}, 1);
  assert.equal(one.maxConnections, Math.floor((DEFAULT_MAX_OPEN_FILES - RESERVED_FILES) / 2));
  assert.equal(one.maxConnections, 9872);
  assert.equal(one.maxHandshakes, 1024);
  assert.equal(one.onHandshakeLimit, "close-oldest");
  assert.equal(one.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_SECONDS * 1000);
  assert.equal(one.handshakeTimeoutMs, 10_000);
  const four = listenerLimits({}, 4);
  assert.equal(four.maxConnections, 2468);
  assert.ok(4 * 2 * four.maxConnections + RESERVED_FILES <= DEFAULT_MAX_OPEN_FILES);
  const hundred = listenerLimits({}, 100);
  assert.equal(hundred.maxConnections, 98);
  assert.equal(hundred.maxHandshakes, 24);
  const small = listenerLimits({ maxOpenFiles: 1024 }, 2);
  assert.equal(small.maxConnections, 192);
  const set = listenerLimits({ maxConnections: 50, idleTimeoutSeconds: 7 }, 3);
  assert.equal(set.maxConnections, 50);
  assert.equal(set.maxHandshakes, 12);
  assert.equal(set.idleTimeoutMs, 7000);
  assert.equal(listenerLimits({ maxConnections: 10, maxHandshakes: 40 }, 1).maxHandshakes, 10);
});

/**
 * The admin interface: `/metrics` and `/listeners` only for loopback clients by default (the
 * probes' `/ready` and `/live` for anyone), a connection cap and a deadline per connection.
 * The off-loopback case with a real non-loopback client runs in `transparent_netns_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import net from "node:net";
import {
  ADMIN_DEADLINE_MS,
  adminAnswer,
  isLoopback,
  parseAdminRequest,
  serveAdmin,
} from "../../meshproxy/admin.ts";
import { ADMIN_MAX_CONNECTIONS } from "../../meshproxy/limits.ts";
import { ProxyMetrics } from "../../meshproxy/metrics.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function state(remoteAccess?: "probes" | "all") {
  return {
    notReadyReason: () => undefined,
    metrics: new ProxyMetrics(),
    listeners: () => [{ direction: "egress", name: "db", target: "db.internal:5432" }],
    ...(remoteAccess ? { remoteAccess } : {}),
  };
}

Deno.test("admin: off loopback only /ready and /live answer by default; all serves everything", () => {
  const s = state();
  const get = (path: string, remote: string) =>
    adminAnswer(parseAdminRequest(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`), remote, s).status;
  for (const remote of ["10.200.0.2", "fd00:200::2", "::ffff:10.0.0.1", "192.0.2.7"]) {
    assert.equal(get("/ready", remote), 200);
    assert.equal(get("/live", remote), 200);
    assert.equal(get("/metrics", remote), 403, remote);
    assert.equal(get("/listeners", remote), 403, remote);
    assert.equal(get("/metrics?x=1", remote), 403, "a query string changes nothing");
  }
  assert.equal(s.metrics.get("meshproxy_admin_refusals_total", { reason: "not_loopback" }), 12);
  for (const remote of ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"]) {
    assert.equal(get("/metrics", remote), 200, remote);
    assert.equal(get("/listeners", remote), 200, remote);
  }
  const all = state("all");
  const answer = adminAnswer(parseAdminRequest("GET /listeners HTTP/1.1\r\n\r\n"), "10.0.0.9", all);
  assert.equal(answer.status, 200);
  assert.match(answer.body, /db\.internal:5432/);
});

Deno.test("admin: malformed requests are 400, other methods 405, unknown paths 404", () => {
  const s = state();
  const status = (head: string) => adminAnswer(parseAdminRequest(head), "127.0.0.1", s).status;
  assert.equal(status("GET /ready HTTP/2.0\r\n\r\n"), 400);
  assert.equal(status("GET ready HTTP/1.1\r\n\r\n"), 400);
  assert.equal(status("GET /re ady HTTP/1.1\r\n\r\n"), 400);
  assert.equal(status("\r\n"), 400);
  assert.equal(status("POST /ready HTTP/1.1\r\n\r\n"), 405);
  assert.equal(status("GET /nothing HTTP/1.0\r\n\r\n"), 404);
  assert.equal(status("GET /ready HTTP/1.0\n\n"), 200);
  assert.ok(isLoopback("[::1]"));
  assert.ok(!isLoopback("128.0.0.1"));
  assert.ok(!isLoopback("::ffff:128.0.0.1"));
  assert.ok(!isLoopback("::2"));
});

/** Sends `request` on a fresh connection and returns everything until the server closes. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(request));
    let text = "";
    socket.on("data", (d) => text += d);
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
  });
}

Deno.test({
  name: "admin over HTTP on loopback: fetch gets /ready and /metrics; one request per connection",
  ...opts,
  fn: async () => {
    const s = state();
    const admin = await serveAdmin("127.0.0.1", 0, s);
    try {
      const ready = await fetch(`http://127.0.0.1:${admin.port}/ready`);
      assert.equal(ready.status, 200);
      assert.equal(await ready.text(), "ready\n");
      const metrics = await fetch(`http://127.0.0.1:${admin.port}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /# TYPE meshproxy_limit_refusals_total counter/);
      const two = await raw(admin.port, "GET /live HTTP/1.1\r\n\r\nGET /live HTTP/1.1\r\n\r\n");
      assert.equal(two.match(/HTTP\/1\.1 200/g)?.length, 1, two);
      assert.match(two, /connection: close/);
      const tooLong = await raw(admin.port, `GET /${"a".repeat(9000)} HTTP/1.1\r\n\r\n`);
      assert.match(tooLong, /^HTTP\/1\.1 400/);
    } finally {
      await admin.shutdown();
    }
  },
});

Deno.test({
  name:
    "admin: at most ADMIN_MAX_CONNECTIONS connections at once, each closed by the deadline; then served again",
  ...opts,
  fn: async () => {
    const s = state();
    const admin = await serveAdmin("127.0.0.1", 0, s);
    const idle: { closed: boolean; socket: net.Socket }[] = [];
    try {
      for (let i = 0; i < ADMIN_MAX_CONNECTIONS; i++) {
        const socket = net.connect({ host: "127.0.0.1", port: admin.port });
        const entry = { closed: false, socket };
        socket.on("error", () => {});
        socket.on("close", () => entry.closed = true);
        idle.push(entry);
        await new Promise((r) => socket.once("connect", r));
      }
      const started = Date.now();
      const extra = await raw(admin.port, "GET /ready HTTP/1.1\r\n\r\n");
      assert.equal(extra, "", "a connection over the cap is closed unanswered");
      assert.ok(Date.now() - started < ADMIN_DEADLINE_MS);
      assert.equal(
        s.metrics.get("meshproxy_admin_refusals_total", { reason: "connection_limit" }),
        1,
      );
      const deadline = Date.now() + ADMIN_DEADLINE_MS + 3_000;
      while (!idle.every((e) => e.closed) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(idle.every((e) => e.closed), "every idle admin connection closed by its deadline");
      assert.ok(Date.now() - started >= ADMIN_DEADLINE_MS - 1_000);
      const back = await raw(admin.port, "GET /ready HTTP/1.1\r\n\r\n");
      assert.match(back, /^HTTP\/1\.1 200 OK/);
    } finally {
      for (const e of idle) e.socket.destroy();
      await admin.shutdown();
    }
  },
});

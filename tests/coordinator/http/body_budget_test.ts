/**
 * Review (unfinished bodies on many connections, high): a port holds at most its budget of request
 * bodies at once, all connections together. Each body was bounded on its own only: 24 connections
 * of one address holding 31 MiB of an unfinished 32 MiB `/manifest` body each grew a Coordinator
 * from 101 to 1,126 MiB resident before anything was authenticated (its pod's limit is 512 MiB;
 * with the budget: 325 MiB peak, 23 of them answered 503).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import { BodyBudget } from "../../../coordinator/http/body_budget.ts";
import { UnavailableError } from "../../../util/errors/mod.ts";
import { BODIES_IN_FLIGHT } from "../../../coordinator/service.ts";
import { deployment, inProcessCoordinator, LOOPBACK_SERVICE_CONFIG } from "../fixture.ts";

Deno.test("a body budget takes and gives back bytes and refuses beyond its capacity", () => {
  const budget = new BodyBudget(100);
  budget.take(60);
  budget.take(40);
  assert.throws(
    () => budget.take(1),
    (e: unknown) => e instanceof UnavailableError && e.field === "body",
  );
  assert.equal(budget.held, 100, "a refused take takes nothing");
  budget.release(60);
  budget.take(50);
  assert.equal(budget.held, 90);
});

/** A request on its own TLS connection: the head and `sent` bytes of a `declared` byte body. */
class HeldRequest {
  readonly socket: tls.TLSSocket;
  readonly answer: Promise<string>;

  constructor(address: string, declared: number) {
    const [host, port] = address.split(":");
    let text = "";
    this.socket = tls.connect({ host, port: Number(port), rejectUnauthorized: false });
    this.socket.on("error", () => {});
    this.answer = new Promise((resolve) => {
      this.socket.on("data", (d: Uint8Array) => {
        text += new TextDecoder().decode(d);
        if (text.includes("\r\n\r\n")) resolve(text.split("\r\n")[0]!);
      });
      this.socket.on("close", () => resolve(text.split("\r\n")[0] ?? "closed"));
    });
    this.socket.write(
      `POST /manifest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
        `content-length: ${declared}\r\n\r\n`,
    );
  }

  /** Writes `bytes` of the body. */
  send(bytes: number): Promise<void> {
    return new Promise((resolve) =>
      this.socket.write(new Uint8Array(bytes).fill(0x20), () => resolve())
    );
  }
}

Deno.test({
  name: "unfinished bodies on three connections: the one over the port's budget is refused (503)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const limit = 1024 * 1024;
    assert.equal(BODIES_IN_FLIGHT.user, 2);
    const d = await deployment();
    const c = await inProcessCoordinator(d, {
      service: { ...LOOPBACK_SERVICE_CONFIG, maxUserBodyBytes: limit },
    });
    const requests: HeldRequest[] = [];
    try {
      // Three bodies of 1 MiB, each held at 900 KiB (its buffer then holds 1 MiB): only two fit
      // the user port's budget of two of its largest bodies. Before the budget all three were
      // held until the request timeout (408).
      for (let i = 0; i < 3; i++) requests.push(new HeldRequest(c.userAddress, limit));
      await Promise.all(requests.map((r) => r.send(900 * 1024)));
      const first = await Promise.race([
        ...requests.map((r, i) => r.answer.then((status) => ({ i, status }))),
      ]);
      assert.equal(first.status, "HTTP/1.1 503 Service Unavailable");
      // The other two finish their bodies and are answered on their content (a body of spaces
      // is no JSON document: 400), not refused.
      const others = requests.filter((_, i) => i !== first.i);
      await Promise.all(others.map((r) => r.send(limit - 900 * 1024)));
      for (const r of others) assert.equal(await r.answer, "HTTP/1.1 400 Bad Request");
      // Given back: a fourth body fits again.
      const fourth = new HeldRequest(c.userAddress, limit);
      requests.push(fourth);
      await fourth.send(limit);
      assert.equal(await fourth.answer, "HTTP/1.1 400 Bad Request");
    } finally {
      for (const r of requests) r.socket.destroy();
      await c.close();
    }
  },
});

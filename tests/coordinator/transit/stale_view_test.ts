/**
 * A transit request is authorised against the active state before its body is read, and the
 * caller decides how long the body takes (up to the request timeout). An update the owner had
 * acknowledged meanwhile, removing the caller's policy, must not leave that request answered from
 * the replaced state: "after a manifest update that removes a workload its keys are no longer
 * served" (README, transit). Found in review (low): the removed pod's decrypt was answered 200
 * with the plaintext after the update; now 409, as a mesh certificate request verified across an
 * update is (`tests/coordinator/issue_during_update_test.ts`).
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes } from "../../../util/bytes/mod.ts";
import { Logger } from "../../../util/log/logger.ts";
import { CoordinatorMetrics } from "../../../coordinator/http/metrics.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../../coordinator/http/connection_limits.ts";
import { parseTransitSans, startTransitServer } from "../../../coordinator/transit/server.ts";
import type { TransitView } from "../../../coordinator/transit/view.ts";
import {
  b64,
  type ClientCredentials,
  podCredentials,
  removeDbWorkload,
  transitCoordinator,
  transitRequest,
  transitTlsConnect,
} from "./fixture.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** A TLS connection that sends a request head now and its body when the test says so. */
function splitRequest(
  port: number,
  credentials: ClientCredentials,
  caPem: string,
  path: string,
  body: string,
) {
  const bytes = new TextEncoder().encode(body);
  const socket = transitTlsConnect(port, caPem, credentials);
  const chunks: Uint8Array[] = [];
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    socket.on("data", (c: Uint8Array) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = new TextDecoder().decode(concatBytes(...chunks));
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
  });
  socket.on("secureConnect", () => {
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Connection: close\r\nContent-Length: ${bytes.length}\r\n\r\n`,
    );
  });
  return { answer, sendBody: () => socket.write(bytes), close: () => socket.destroy() };
}

Deno.test({
  name: "transit: a request authorised before an update that removes its policy is answered 409, " +
    "not from the replaced manifest",
  ...opts,
  fn: async () => {
    const { d, c, view, port, meshCaPem } = await transitCoordinator();
    const metrics = new CoordinatorMetrics();
    let viewTaken: (() => void) | undefined;
    // The Coordinator as the transit server sees it, telling the test when a request took its view.
    const source = {
      transitView: async () => {
        const v = await c.coordinator.transitView();
        viewTaken?.();
        return v;
      },
      isCurrentTransitView: (v: TransitView) => c.coordinator.isCurrentTransitView(v),
      onActivate: (listener: () => void) => c.coordinator.onActivate(listener),
      tls: c.coordinator.tls,
    };
    const server = await startTransitServer(
      source,
      {
        host: "127.0.0.1",
        port: 0,
        sans: parseTransitSans(["localhost"]),
        maxBodyBytes: 1 << 20,
        limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 10_000 },
      },
      new Logger("transit", { sink: () => {} }),
      metrics,
    );
    let request: ReturnType<typeof splitRequest> | undefined;
    try {
      await server.certificateReady();
      const db = await podCredentials(await view(), d.pods.db!.digest);
      const caPem = await meshCaPem();
      const sealed = await transitRequest(
        port(),
        db,
        caPem,
        "POST",
        "/v1/transit/encrypt/db-secret",
        { plaintext: b64("db data") },
      );
      assert.equal(sealed.status, 200, JSON.stringify(sealed.body));

      // The db pod's decrypt: head sent, body held back until the update is acknowledged.
      const taken = Promise.withResolvers<void>();
      viewTaken = taken.resolve;
      request = splitRequest(
        server.port,
        db,
        caPem,
        "/v1/transit/decrypt/db-secret",
        JSON.stringify({ ciphertext: sealed.body.data.ciphertext }),
      );
      await taken.promise;
      viewTaken = undefined;

      // The owner removes db; the update is acknowledged.
      await removeDbWorkload(d, c);

      request.sendBody();
      const answer = await request.answer;
      assert.doesNotMatch(answer.body, new RegExp(b64("db data")), "no plaintext after removal");
      assert.equal(answer.status, 409, answer.body);
      assert.match(answer.body, /active manifest changed while this request was served/);
    } finally {
      request?.close();
      await server.close();
      await c.close();
    }
  },
});

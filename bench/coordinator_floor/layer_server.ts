/**
 * The Coordinator's connection layer with nothing behind it, for `ratio.ts`: `serveHttp1` (the
 * Coordinator's own HTTP/1.1 layer on `node:tls`, its default connection limits) with a TLS
 * identity shaped like the Coordinator's (P-256 key, self-signed, simulated SNP evidence in the
 * certificate), answering the mesh flow's request with a fixed body of its real size after
 * reading the request body whole and the connection's channel binding (as the mesh route reads
 * it, once per connection). Prints `{"port":…,"pid":…}` once listening.
 *
 * Usage: `deno run -A bench/coordinator_floor/layer_server.ts`
 *
 * @module
 */
import "reflect-metadata";
import { serveHttp1 } from "../../coordinator/http/http1_server.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../coordinator/http/connection_limits.ts";
import { coordinatorShapedIdentity } from "./identity.ts";
import { CERTIFICATE_ANSWER_BYTES } from "./shape.ts";

const identity = await coordinatorShapedIdentity();
const answers: Record<string, Uint8Array> = {
  "/mesh/certificate": jsonOfSize(CERTIFICATE_ANSWER_BYTES),
};
const server = await serveHttp1({
  port: 0,
  host: "127.0.0.1",
  tls: { certPem: identity.certPem, keyPem: identity.keyPem },
  limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 30_000 },
}, {
  handle: async (request) => {
    await request.body(256 * 1024);
    if (request.path === "/mesh/certificate") request.peer.channelBinding();
    const body = answers[request.path];
    return body
      ? { status: 200, contentType: "application/json", body }
      : { status: 404, contentType: "application/json", body: new Uint8Array() };
  },
  refuse: (_request, status) => ({
    status,
    contentType: "application/json",
    body: new Uint8Array(),
  }),
  connectionClosed: () => {},
});
console.log(JSON.stringify({ port: server.port, pid: Deno.pid }));

/** A JSON object of exactly `bytes` bytes. */
function jsonOfSize(bytes: number): Uint8Array {
  return new TextEncoder().encode(`{"x":"${"a".repeat(bytes - 8)}"}`);
}

/**
 * Work for a client that gave up is skipped: a connection that waited in the queue and whose
 * client closed it meanwhile is dropped before its TLS handshake (`queued_peer_closed`; before,
 * the server handshook it when its turn came, counted as `tls_handshake_failed`), and a request
 * whose connection closed while it waited (for storage, for verification) stops before its
 * signature: no `/attest` evidence is made and no mesh leaf issued. Honest clients, queued or
 * not, get the same answers as before.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { PinnedHttpsClient } from "../../../atls/pinned_client.ts";
import type { Route } from "../../../coordinator/http/server.ts";
import { Coordinator } from "../../../coordinator/coordinator.ts";
import { CoordinatorMetrics } from "../../../coordinator/http/metrics.ts";
import { MemoryHistoryBackend } from "../../../coordinator/history/memory_backend.ts";
import { userRoutes } from "../../../coordinator/routes.ts";
import { parseManifest } from "../../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../../manifest/verifiers.ts";
import { parseManifestRequest } from "../../../protocol/messages.ts";
import { meshReportData } from "../../../protocol/report_data.ts";
import { SimulatedSnpEvidenceSource } from "../../../testing/simulated_evidence.ts";
import { encodeBase64 } from "../../../util/bytes/mod.ts";
import { Logger } from "../../../util/log/logger.ts";
import { type Deployment, deployment, MEASUREMENT } from "../fixture.ts";
import { startTestHttps } from "./https_fixture.ts";
import { uniformLimits } from "./uniform_limits.ts";
import { connectionBindingStandIn, podMeshKeys } from "../../helpers/pod_mesh_keys.ts";

const LIMITS = uniformLimits(60_000);

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TLS connection; `secured` resolves once its handshake finished. */
function tlsConnect(port: number): { socket: tls.TLSSocket; secured: Promise<void> } {
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  socket.on("error", () => {});
  const secured = new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("close", () => reject(new Error("closed before the handshake finished")));
  });
  secured.catch(() => {});
  return { socket, secured };
}

/** A POST of `body` (JSON) to `path`. */
function post(path: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
    `content-length: ${new TextEncoder().encode(text).length}\r\n\r\n${text}`;
}

/** The first answer's bytes read off `socket` after sending `request`, as text. */
function exchange(socket: tls.TLSSocket, request: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once("data", (chunk: Uint8Array) => resolve(new TextDecoder().decode(chunk)));
    socket.write(request);
  });
}

/** Resolves once `socket` is closed. */
function closed(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
}

/** Waits (polling) until `done()`; the test's own timeout bounds it. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await delay(5);
}

const echo: Route[] = [
  { method: "POST", path: "/echo", handle: (r) => ({ body: { got: r.body } }) },
];

Deno.test("a queued connection whose client closed is dropped without a handshake; an honest queued one is served", async () => {
  const { server, metrics } = await startTestHttps({
    api: "mesh",
    routes: echo,
    limits: { ...LIMITS, maxBusyConnections: 1 },
    maxBodyBytes: 4096,
  });
  const closedFor = (reason: string) => metrics.connectionsClosed.value({ api: "mesh", reason });
  const sockets: tls.TLSSocket[] = [];
  try {
    // One connection handshaken that sends nothing yet holds the busy slot.
    const busy = tlsConnect(server.port);
    sockets.push(busy.socket);
    await busy.secured;
    // Two more wait in the queue, each with its ClientHello sent; the first gives up and closes.
    const gone = tlsConnect(server.port);
    const honest = tlsConnect(server.port);
    sockets.push(gone.socket, honest.socket);
    await delay(200);
    gone.socket.destroy();
    await closed(gone.socket);
    await delay(50);
    // The busy connection is answered: the queue moves.
    assert.match(await exchange(busy.socket, post("/echo", { n: 1 })), /^HTTP\/1\.1 200 OK/);
    await honest.secured;
    const answer = await exchange(honest.socket, post("/echo", { n: 2 }));
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.ok(answer.endsWith('{"got":{"n":2}}'), answer);
    await until(() => closedFor("queued_peer_closed") + closedFor("tls_handshake_failed") > 0);
    assert.equal(closedFor("tls_handshake_failed"), 0, "the closed connection was handshaken");
    assert.equal(closedFor("queued_peer_closed"), 1);
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.close();
  }
});

Deno.test("a queued client that sends its ClientHello only after its turn came is handshaken and served", async () => {
  const { server } = await startTestHttps({
    api: "mesh",
    routes: echo,
    limits: { ...LIMITS, maxBusyConnections: 1 },
    maxBodyBytes: 4096,
  });
  const sockets: { destroy(): void }[] = [];
  try {
    const busy = tlsConnect(server.port);
    sockets.push(busy.socket);
    await busy.secured;
    // Connected (queued) but silent: nothing to read when its turn comes.
    const raw = net.connect({ host: "127.0.0.1", port: server.port });
    raw.on("error", () => {});
    sockets.push(raw);
    await new Promise((resolve) => raw.once("connect", resolve));
    await delay(100);
    busy.socket.destroy();
    await delay(100);
    const late = tls.connect({ socket: raw, rejectUnauthorized: false });
    late.on("error", () => {});
    sockets.push(late);
    await new Promise((resolve) => late.once("secureConnect", resolve));
    const answer = await exchange(late, post("/echo", { n: 3 }));
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.ok(answer.endsWith('{"got":{"n":3}}'), answer);
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.close();
  }
});

Deno.test("a handler's signal is aborted when its client disconnects mid-request, and not for an honest client", async () => {
  let entered = Promise.withResolvers<AbortSignal>();
  let release = Promise.withResolvers<void>();
  const routes: Route[] = [{
    method: "POST",
    path: "/hold",
    handle: async (r) => {
      entered.resolve(r.signal!);
      await release.promise;
      r.signal?.throwIfAborted();
      return { body: { aborted: r.signal?.aborted } };
    },
  }];
  const { server, metrics } = await startTestHttps({
    api: "mesh",
    routes,
    limits: LIMITS,
    maxBodyBytes: 4096,
  });
  try {
    const client = tlsConnect(server.port);
    await client.secured;
    client.socket.write(post("/hold", {}));
    const signal = await entered.promise;
    assert.equal(signal.aborted, false);
    const aborted = new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve())
    );
    client.socket.destroy();
    await aborted;
    release.resolve();
    await until(() => metrics.failures.value({ api: "mesh", route: "/hold", status: "499" }) === 1);

    entered = Promise.withResolvers<AbortSignal>();
    release = Promise.withResolvers<void>();
    const honest = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
    const answer = honest.request("POST", "/hold", {});
    assert.equal((await entered.promise).aborted, false);
    release.resolve();
    assert.deepEqual(await answer, { aborted: false });
    honest.close();
  } finally {
    await server.close();
  }
});

/** A Coordinator whose storage reads and verifications can be held, counting its evidence. */
async function heldCoordinator(d: Deployment) {
  const verifiers = new ManifestVerifiers();
  const backend = new MemoryHistoryBackend();
  const readLatest = backend.readLatest.bind(backend);
  let readHold: { started: () => void; release: Promise<void> } | undefined;
  backend.readLatest = async () => {
    const held = readHold;
    readHold = undefined;
    if (held) {
      held.started();
      await held.release;
    }
    return await readLatest();
  };
  let verifyHold: { started: () => void; release: Promise<void> } | undefined;
  const source = new SimulatedSnpEvidenceSource(d.authority, {
    hostData: d.coordinator.digest,
    measurement: await MEASUREMENT,
  });
  const counts = { evidence: 0 };
  const metrics = new CoordinatorMetrics();
  const coordinator = await Coordinator.start({
    evidenceSource: {
      platform: source.platform,
      description: source.description,
      getEvidence: (reportData) => {
        counts.evidence++;
        return source.getEvidence(reportData);
      },
    },
    historyBackend: backend,
    parseManifest,
    verifyEvidence: async (m, e, o) => {
      const held = verifyHold;
      verifyHold = undefined;
      if (held) {
        held.started();
        await held.release;
      }
      return verifiers.verify(m, e, o);
    },
    logger: new Logger("coordinator", { sink: () => {} }),
    metrics,
  });
  const hold = () => {
    const started = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    return {
      held: { started: started.resolve, release: release.promise },
      started: started.promise,
      release: release.resolve,
    };
  };
  return {
    coordinator,
    counts,
    metrics,
    /** Holds the next storage read of the latest record. */
    holdRead() {
      const h = hold();
      readHold = h.held;
      return h;
    },
    /** Holds the next evidence verification. */
    holdVerify() {
      const h = hold();
      verifyHold = h.held;
      return h;
    },
  };
}

Deno.test("an /attest whose client disconnects while it waits for storage makes no evidence; an honest one does", async () => {
  const d = await deployment();
  const c = await heldCoordinator(d);
  // The routes as served, observed: each request's signal and when its handler finished.
  const seen: { signal: AbortSignal; done: Promise<unknown> }[] = [];
  const routes = userRoutes(c.coordinator).map((route): Route => ({
    ...route,
    handle: (r) => {
      const done = Promise.resolve(route.handle(r));
      seen.push({ signal: r.signal!, done: done.catch((e) => e) });
      return done;
    },
  }));
  const { server, metrics } = await startTestHttps({
    api: "user",
    routes,
    limits: LIMITS,
    maxBodyBytes: 4096,
  });
  try {
    const before = c.counts.evidence;
    const held = c.holdRead();
    const client = tlsConnect(server.port);
    await client.secured;
    client.socket.write(post("/attest", { nonce: "00".repeat(32) }));
    await held.started;
    const { signal, done } = seen[0]!;
    const aborted = new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve())
    );
    client.socket.destroy();
    await aborted;
    held.release();
    await done;
    assert.equal(c.counts.evidence, before, "evidence was made for a client that left");
    await until(() =>
      metrics.failures.value({ api: "user", route: "/attest", status: "499" }) === 1
    );

    const honest = new PinnedHttpsClient({ host: "127.0.0.1", port: server.port });
    const answer = await honest.request("POST", "/attest", { nonce: "00".repeat(32) }) as {
      evidence?: unknown;
    };
    assert.ok(answer.evidence, "the honest client gets evidence");
    assert.equal(c.counts.evidence, before + 1);
    honest.close();
  } finally {
    await server.close();
    await c.coordinator.close();
  }
});

Deno.test("a mesh certificate request abandoned during its verification issues no leaf; an honest one does", async () => {
  const d = await deployment();
  const c = await heldCoordinator(d);
  try {
    const bytes = d.manifest();
    await c.coordinator.setManifest(parseManifestRequest({
      manifest: encodeBase64(bytes),
      policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
      previous_transition: "00".repeat(32),
      signature: await d.ownerSignature(bytes),
    }));
    const request = async () => {
      const { leafPublicKey } = await podMeshKeys();
      const channelBinding = connectionBindingStandIn();
      const evidence = await new SimulatedSnpEvidenceSource(d.authority, {
        hostData: d.pods.web.digest,
        measurement: await MEASUREMENT,
      }).getEvidence(await meshReportData({ channelBinding, leafSpki: leafPublicKey }));
      return { request: { evidence, leafPublicKey }, channelBinding };
    };
    const issued = () => c.metrics.attestations.value({ platform: "snp" });

    const gone = new AbortController();
    const held = c.holdVerify();
    const abandoned = await request();
    const pending = c.coordinator.issueMeshCertificate(
      abandoned.request,
      abandoned.channelBinding,
      "",
      gone.signal,
    );
    pending.catch(() => {});
    await held.started;
    gone.abort(new Error("client gone"));
    held.release();
    await assert.rejects(pending, /client gone/);
    assert.equal(issued(), 0, "a leaf was issued for a client that left");
    assert.equal(c.metrics.failures.value({ api: "mesh", reason: "internal" }), 0);

    const honest = await request();
    const answer = await c.coordinator.issueMeshCertificate(
      honest.request,
      honest.channelBinding,
      "",
      new AbortController().signal,
    );
    assert.match(answer.certChain, /BEGIN CERTIFICATE/);
    assert.equal(issued(), 1);
  } finally {
    await c.coordinator.close();
  }
});

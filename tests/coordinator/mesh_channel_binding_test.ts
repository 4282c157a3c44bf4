/**
 * The mesh certificate request bound to its TLS connection: the workload secret a pod receives
 * inside the connection is the one the seed derives, and a request over a connection without a
 * TLS 1.3 channel binding (TLS 1.2, plain TCP) is refused naming `channelBinding`. (Relay and
 * replay onto another connection: `tests/e2e/mesh_rejections_test.ts`.)
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { generatePodKeys, requestMeshCredentials } from "../../atls/mesh_client.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { ApiPath } from "../../protocol/messages.ts";
import {
  decryptSeedShare,
  engineFromRecoveredSeed,
  importSeedshareOwnerPrivateKey,
  parseSeedShares,
} from "../../seed/seed_shares.ts";
import { importSeedshareOwnerSigningKey } from "../../protocol/signatures.ts";
import { createRequestHandler, listenHttp } from "../../coordinator/http/server.ts";
import { meshRoutes } from "../../coordinator/routes.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../coordinator/http/connection_limits.ts";
import { Logger } from "../../util/log/logger.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import { type Deployment, deployment, inProcessCoordinator, MEASUREMENT } from "./fixture.ts";

/** Runs `fn` as a test that serves HTTPS (sockets and timers outlive the sanitizers' view). */
function serverTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn });
}

/** A web pod's certificate request body, its evidence binding `channelBinding`. */
async function webRequestBody(d: Deployment, channelBinding: Uint8Array) {
  const keys = await generatePodKeys();
  const r = await d.authority.createReport({
    reportData: await meshReportData({ channelBinding, leafSpki: keys.leafSpki }),
    hostData: d.pods.web.digest,
    measurement: await MEASUREMENT,
  });
  return JSON.stringify({
    evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
    leafPublicKey: encodeHex(keys.leafSpki),
  });
}

/** POSTs `body` as a certificate request to `port` (TLS or not); returns status and JSON body. */
function post(
  port: number,
  body: string,
  options: { tls: false } | { tls: true; maxVersion?: "TLSv1.2" },
): Promise<{ status: number; body: { error?: string; field?: string } }> {
  return new Promise((resolve, reject) => {
    const settings = {
      host: "127.0.0.1",
      port,
      method: "POST",
      path: ApiPath.meshCertificate,
      headers: { "content-type": "application/json" },
      agent: false,
    };
    const onAnswer = (res: http.IncomingMessage) => {
      let text = "";
      res.on("data", (c) => text += c);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    };
    const req = options.tls
      ? https.request({
        ...settings,
        rejectUnauthorized: false,
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      }, onAnswer)
      : http.request(settings, onAnswer);
    req.on("error", reject);
    req.end(body);
  });
}

serverTest(
  "the workload secret arrives inside the bound connection and is the one the seed derives",
  async () => {
    const d = await deployment();
    const c = await inProcessCoordinator(d);
    try {
      const set = await c.setFirstManifest();
      const pem = d.seedshareOwner.pem;
      const recovered = await decryptSeedShare(
        parseSeedShares(new TextEncoder().encode(JSON.stringify(set.seedShares))),
        await importSeedshareOwnerPrivateKey(pem),
        (await importSeedshareOwnerSigningKey(pem)).publicKeyDer,
      );
      const derived = await engineFromRecoveredSeed(recovered).workloadSecret("web-secret");
      const web = new SimulatedSnpEvidenceSource(d.authority, {
        hostData: d.pods.web.digest,
        measurement: await MEASUREMENT,
      });
      const credentials = await requestMeshCredentials(c.meshAddress, await generatePodKeys(), web);
      assert.equal(derived.length, 32);
      assert.deepEqual(credentials.workloadSecret, derived);
      // The db policy has no workload secret: none is sent.
      const db = new SimulatedSnpEvidenceSource(d.authority, {
        hostData: d.pods.db.digest,
        measurement: await MEASUREMENT,
      });
      const dbCredentials = await requestMeshCredentials(
        c.meshAddress,
        await generatePodKeys(),
        db,
      );
      assert.equal(dbCredentials.workloadSecret, undefined);
    } finally {
      await c.close();
    }
  },
);

serverTest(
  "a certificate request over TLS 1.2 is refused at the handshake, over plain TCP with 403 naming channelBinding, whatever it binds",
  async () => {
    const d = await deployment();
    const c = await inProcessCoordinator(d);
    const plain = await listenHttp(
      {
        port: 0,
        host: "127.0.0.1",
        limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 10_000 },
      },
      createRequestHandler({
        api: "mesh",
        routes: meshRoutes(c.coordinator),
        limits: { maxBodyBytes: 256 * 1024 },
        logger: new Logger("coordinator", { sink: () => {} }),
        metrics: new CoordinatorMetrics(),
      }),
    );
    try {
      await c.setFirstManifest();
      const meshPort = Number(c.meshAddress.split(":")[1]);
      // Genuine evidence of an admitted pod; no channel value the Coordinator could compare.
      const body = await webRequestBody(d, new Uint8Array(32));
      // The Coordinator's ports speak TLS 1.3 only: a TLS 1.2 client is refused at the handshake
      // (before the servers' minVersion, it reached the route and got 403 channelBinding, which
      // tests/atls/channel_binding_test.ts still checks on a server that allows TLS 1.2).
      await assert.rejects(
        post(meshPort, body, { tls: true, maxVersion: "TLSv1.2" }),
        /ProtocolVersion|protocol version/i,
      );
      const answer = await post(plain.port, body, { tls: false });
      assert.equal(answer.status, 403, `plain TCP: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.field, "channelBinding");
      assert.match(answer.body.error ?? "", /plain TCP/);
      // The same body over TLS 1.3 reaches the verification (and fails there: it binds zeros).
      const tls13 = await post(meshPort, body, { tls: true });
      assert.equal(tls13.status, 403);
      assert.match(tls13.body.error ?? "", /REPORT_DATA does not match/);
      assert.equal(
        c.metrics.failures.value({ api: "mesh", reason: "channelBinding" }),
        0,
        "refused by the route before the Coordinator counted an attestation failure",
      );
    } finally {
      await plain.close();
      await c.close();
    }
  },
);

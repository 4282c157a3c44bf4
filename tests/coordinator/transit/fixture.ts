/**
 * Transit test fixture: an in-process Coordinator serving the transit API on a free port, the
 * deployment with `web` (WorkloadSecretID `web-secret`) and `db` (`db-secret`), pod credentials
 * issued by the Coordinator's own mesh CA (`bench/transit/fixture.ts`), and a small `node:https`
 * client presenting them.
 *
 * @module
 */
import "reflect-metadata";
import https from "node:https";
import tls from "node:tls";
import { concatBytes, decodeHex, encodeBase64, encodeHex } from "../../../util/bytes/mod.ts";
import { parseManifestRequest } from "../../../protocol/messages.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../../protocol/signatures.ts";
import { manifestHash, transitionHash } from "../../../manifest/hash.ts";
import {
  type ClientCredentials,
  manifestWithDbSecret,
  TRANSIT_SERVICE_CONFIG,
} from "../../../bench/transit/fixture.ts";
import { deployment, inProcessCoordinator } from "../fixture.ts";
import { podCredentials } from "../../../bench/transit/fixture.ts";

export {
  type ClientCredentials,
  manifestWithDbSecret,
  podCredentials,
  TRANSIT_SERVICE_CONFIG,
} from "../../../bench/transit/fixture.ts";

/** A response of the transit API. */
interface TransitResponse {
  /** HTTP status. */
  readonly status: number;
  /** Parsed JSON body (`undefined` when empty). */
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

/** Sends one request to the transit API at `port`, verifying the server with `caPem`. */
export function transitRequest(
  port: number,
  credentials: ClientCredentials | undefined,
  caPem: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<TransitResponse> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const req = https.request({
      host: "127.0.0.1",
      servername: "localhost",
      port,
      method,
      path,
      ca: caPem,
      ...(credentials ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
      headers: { "content-type": "application/json", "x-vault-token": "ignored" },
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        const raw = new TextDecoder().decode(concatBytes(...chunks));
        resolve({ status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : undefined });
      });
    });
    req.on("error", reject);
    req.end(text);
  });
}

/**
 * A TLS connection to the transit API at 127.0.0.1:`port` (server name `localhost`, verified
 * with `caPem`) presenting the pod's `credentials`, for tests that write the HTTP bytes
 * themselves.
 */
export function transitTlsConnect(
  port: number,
  caPem: string,
  credentials: ClientCredentials,
): tls.TLSSocket {
  return tls.connect({
    host: "127.0.0.1",
    servername: "localhost",
    port,
    ca: caPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
  });
}

/** base64 of UTF-8 `text`. */
export function b64(text: string): string {
  return encodeBase64(new TextEncoder().encode(text));
}

/**
 * A deployment and an in-process Coordinator with the transit API, manifest set; transit bodies
 * up to `maxBodyBytes` (default the fixture's 1 MiB).
 */
export async function transitCoordinator(maxBodyBytes?: number) {
  const d = await deployment();
  const service = maxBodyBytes === undefined ? TRANSIT_SERVICE_CONFIG : {
    ...TRANSIT_SERVICE_CONFIG,
    transit: { ...TRANSIT_SERVICE_CONFIG.transit!, maxBodyBytes },
  };
  const c = await inProcessCoordinator(d, { service });
  await c.setFirstManifest(manifestWithDbSecret(d));
  await c.service.transitReady();
  const view = async () => (await c.coordinator.transitView())!;
  const port = () => c.service.transitPort!;
  const meshCaPem = async () => (await view()).ca.meshCaPem;
  /**
   * A transit client presenting `credentials` (none: no client certificate); each request goes
   * to the current port and verifies the server with the mesh CA current at that moment.
   */
  const as =
    (credentials: ClientCredentials | undefined) =>
    async (method: string, path: string, body?: unknown) =>
      transitRequest(port(), credentials, await meshCaPem(), method, path, body);
  /** A client presenting the credentials the current mesh CA issues to the pod running `policy`. */
  const asPod = async (policy: Uint8Array) => as(await podCredentials(await view(), policy));
  return { d, c, view, port, meshCaPem, as, asPod };
}

/** What {@link transitCoordinator} sets up. */
type TransitScene = Awaited<ReturnType<typeof transitCoordinator>>;

/**
 * Registers the test `name` (sanitizers off): `fn` runs against a fresh
 * {@link transitCoordinator}, closed afterwards whether `fn` threw or not.
 */
export function transitTest(name: string, fn: (scene: TransitScene) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const scene = await transitCoordinator();
      try {
        await fn(scene);
      } finally {
        await scene.c.close();
      }
    },
  });
}

/**
 * The owner's signed manifest update that removes the `db` workload (its policy), set on `c`
 * after the manifest of {@link transitCoordinator}; only `web` is left.
 */
export async function removeDbWorkload(
  d: Awaited<ReturnType<typeof deployment>>,
  c: Awaited<ReturnType<typeof inProcessCoordinator>>,
): Promise<void> {
  const bytes = manifestWithDbSecret(d, (m) => {
    delete (m.Policies as Record<string, unknown>)[encodeHex(d.pods.db!.digest)];
  });
  const latest = (await c.coordinator.attest({ nonce: new Uint8Array(32) })).latestTransition;
  const next = await transitionHash(await manifestHash(bytes), decodeHex(latest));
  const owner = await importWorkloadOwnerKey(d.workloadOwner.pem);
  await c.coordinator.setManifest(parseManifestRequest({
    manifest: encodeBase64(bytes),
    policies: [d.coordinator.doc, d.pods.web!.doc].map(encodeBase64),
    previous_transition: latest,
    signature: encodeHex(await signManifestUpdate(owner, next)),
  }));
}

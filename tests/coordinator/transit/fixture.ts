/**
 * Transit test fixture: an in-process Coordinator serving the transit API on a free port, the
 * deployment with `web` (WorkloadSecretID `web-secret`) and `db` (`db-secret`), pod credentials
 * issued by the Coordinator's own mesh CA, and a small `node:https` client presenting them.
 *
 * @module
 */
import "reflect-metadata";
import https from "node:https";
import { encodeBase64, encodeHex, encodePem } from "../../../util/bytes/mod.ts";
import { parseTransitSans } from "../../../coordinator/transit/server.ts";
import type { TransitView } from "../../../coordinator/transit/view.ts";
import type { ServiceConfig } from "../../../coordinator/service.ts";
import {
  type Deployment,
  deployment,
  inProcessCoordinator,
  LOOPBACK_SERVICE_CONFIG,
  MEASUREMENT,
} from "../fixture.ts";

/** Loopback service settings with the transit API on a free port. */
export const TRANSIT_SERVICE_CONFIG: ServiceConfig = {
  ...LOOPBACK_SERVICE_CONFIG,
  transit: { port: 0, sans: parseTransitSans(["localhost", "127.0.0.1"]), maxBodyBytes: 1 << 20 },
};

/** TLS credentials of a transit client. */
export interface ClientCredentials {
  /** Certificate chain PEM (may be empty: no client certificate). */
  readonly certPem: string;
  /** Private key PEM. */
  readonly keyPem: string;
}

/**
 * A mesh certificate for a pod whose evidence carried `hostData`, issued by `view`'s CA exactly
 * as `issueMeshCertificate` issues it after verifying evidence (the evidence step is covered by
 * the Coordinator and end-to-end tests; here only the transit API is under test).
 */
export async function podCredentials(
  view: TransitView,
  hostData: Uint8Array,
): Promise<ClientCredentials> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const leaf = await view.ca.issueLeaf({
    publicKey: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
    sans: [{ kind: "dns", value: "pod" }],
    claims: {
      platform: "snp",
      hostData,
      measurement: await MEASUREMENT,
      reportData: new Uint8Array(64),
      referenceValueIndex: 0,
      details: {},
    },
  });
  return {
    certPem: leaf.chainPem,
    keyPem: encodePem(
      "PRIVATE KEY",
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
    ),
  };
}

/** A response of the transit API. */
export interface TransitResponse {
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
        const raw = new TextDecoder().decode(
          chunks.reduce((a, c) => new Uint8Array([...a, ...c]), new Uint8Array()),
        );
        resolve({ status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : undefined });
      });
    });
    req.on("error", reject);
    req.end(text);
  });
}

/** base64 of UTF-8 `text`. */
export function b64(text: string): string {
  return encodeBase64(new TextEncoder().encode(text));
}

/** The deployment with `db` owning `db-secret`, as manifest bytes. */
export function manifestWithDbSecret(d: Deployment, edit?: (m: Record<string, unknown>) => void) {
  return d.manifest((m) => {
    const policies = m.Policies as Record<string, { WorkloadSecretID: string }>;
    policies[encodeHex(d.pods.db!.digest)]!.WorkloadSecretID = "db-secret";
    edit?.(m);
  });
}

/** A deployment and an in-process Coordinator with the transit API, manifest set. */
export async function transitCoordinator() {
  const d = await deployment();
  const c = await inProcessCoordinator(d, { service: TRANSIT_SERVICE_CONFIG });
  await c.setFirstManifest(manifestWithDbSecret(d));
  await c.service.transitReady();
  const view = () => c.coordinator.transitView()!;
  const port = () => c.service.transitPort!;
  const meshCaPem = () => view().ca.meshCaPem;
  return { d, c, view, port, meshCaPem };
}

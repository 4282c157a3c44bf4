/**
 * A Coordinator HTTPS API server for tests: a fresh attested TLS identity, a free loopback port,
 * the given routes behind the request handler, and the metrics it records.
 *
 * @module
 */
import "reflect-metadata";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../../atls/certificate.ts";
import { CoordinatorMetrics } from "../../../coordinator/http/metrics.ts";
import { createRequestHandler, listenHttps, type Route } from "../../../coordinator/http/server.ts";
import type { ConnectionLimits } from "../../../coordinator/http/connection_limits.ts";
import { Logger } from "../../../util/log/logger.ts";

/** What {@link startTestHttps} serves. */
interface TestHttpsOptions {
  /** The API's name in logs and metrics (`user`, `mesh`). */
  readonly api: string;
  readonly routes: readonly Route[];
  /** The connection limits of the listener. */
  readonly limits: ConnectionLimits;
  /** The largest request body a route reads. */
  readonly maxBodyBytes: number;
  /** Where the access log goes (default: nowhere). */
  readonly logger?: Logger;
}

/** Serves `options.routes` over HTTPS on a free port of 127.0.0.1. */
export async function startTestHttps(options: TestHttpsOptions) {
  const metrics = new CoordinatorMetrics();
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const server = await listenHttps(
    {
      port: 0,
      host: "127.0.0.1",
      certPem: id.certPem,
      keyPem: id.keyPem,
      limits: options.limits,
    },
    createRequestHandler({
      api: options.api,
      routes: options.routes,
      limits: { maxBodyBytes: options.maxBodyBytes },
      logger: options.logger ?? new Logger("test", { format: "json", sink: () => {} }),
      metrics,
    }),
  );
  return { server, metrics };
}

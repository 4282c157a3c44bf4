/**
 * Routes of the plain-HTTP probe port: Kubernetes startup, liveness and readiness probes and
 * the Prometheus `/metrics` exposition.
 *
 * @module
 */
import { PreconditionFailedError } from "../../protocol/errors.ts";
import type { CoordinatorMetrics } from "./metrics.ts";
import type { Route } from "./server.ts";

/** What the probes ask about the process. */
interface HealthSource {
  /** Whether start-up finished (servers listening, state loaded). */
  started(): boolean;
  /** Whether the Coordinator can serve initializers (a manifest is active and the seed known). */
  ready(): boolean;
}

/** The probe and metrics routes. */
export function probeRoutes(health: HealthSource, metrics: CoordinatorMetrics): Route[] {
  const probe = (path: string, ok: () => boolean, what: string): Route => ({
    method: "GET",
    path,
    handle: () => {
      if (!ok()) throw new PreconditionFailedError("", what);
      return { body: { status: "ok" } };
    },
  });
  return [
    probe("/probe/startup", () => health.started(), "still starting"),
    probe("/probe/liveness", () => true, "not live"),
    probe(
      "/probe/readiness",
      () => health.ready(),
      "not ready: no manifest set, or recovery needed",
    ),
    { method: "GET", path: "/metrics", handle: () => ({ body: metrics.render() }) },
  ];
}

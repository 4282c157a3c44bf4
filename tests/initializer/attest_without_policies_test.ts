import "reflect-metadata";
import assert from "node:assert/strict";
import { IssueList, ObjectReader } from "../../util/json/mod.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { generatePodKeys, requestAttestedMeshCredentials } from "../../atls/mesh_client.ts";
import { attestCoordinator } from "../../atls/coordinator_client.ts";
import { parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { ApiPath } from "../../protocol/messages.ts";
import { meshRoutes } from "../../coordinator/routes.ts";
import { createRequestHandler, listenHttps } from "../../coordinator/http/server.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../coordinator/http/connection_limits.ts";
import { CoordinatorMetrics } from "../../coordinator/http/metrics.ts";
import { Logger } from "../../util/log/logger.ts";
import { MEASUREMENT } from "../coordinator/fixture.ts";
import type { Deployment } from "../../testing/simulation/deployment.ts";
import { coordinatorTest } from "../coordinator/coordinator_test_case.ts";

function trustOf(d: Deployment) {
  const verifiers = new ManifestVerifiers();
  return {
    trust: parseCoordinatorTrust(d.coordinatorTrust()),
    verify: ((m, e, o) => verifiers.verify(m, e, o)) as Parameters<typeof attestCoordinator>[2],
  };
}

async function webPod(d: Deployment): Promise<SimulatedSnpEvidenceSource> {
  return new SimulatedSnpEvidenceSource(d.authority, {
    hostData: d.pods.web.digest,
    measurement: await MEASUREMENT,
  });
}

coordinatorTest(
  "the Initializer's /attest leaves out the policy documents; the CLI's keeps them",
  async (d, c) => {
    await c.setFirstManifest();
    const { trust, verify } = trustOf(d);
    const { credentials, coordinator } = await requestAttestedMeshCredentials(
      c.meshAddress,
      await generatePodKeys(),
      await webPod(d),
      trust,
      verify,
    );
    assert.equal(coordinator.state.policies.size, 0);
    assert.equal(coordinator.state.manifests.length, 1);
    assert.ok(credentials.workloadSecret !== undefined);
    // Without the option (contrast set / verify), every document is served and checked.
    const full = await attestCoordinator(c.meshAddress, trust.manifest, verify);
    full.client.close();
    assert.equal(full.state.policies.size, 3);
  },
);

coordinatorTest(
  "a Coordinator that refuses withoutPolicies (older) gets the request again without it",
  async (d, c) => {
    const seen: unknown[] = [];
    // The mesh API of an older Coordinator: its /attest parser knew only `nonce`.
    const routes = meshRoutes(c.coordinator).map((route) =>
      route.path !== ApiPath.attest ? route : {
        ...route,
        handle: async (r: Parameters<typeof route.handle>[0]) => {
          seen.push(r.body);
          const issues = new IssueList();
          const root = new ObjectReader(r.body ?? null, "", issues);
          const nonce = root.hex("nonce", 32);
          root.finish();
          issues.throwIfAny();
          const bytes = Uint8Array.fromHex(nonce!);
          return { body: await c.coordinator.attestJson({ nonce: bytes }) };
        },
      }
    );
    const old = await listenHttps(
      {
        port: 0,
        host: "127.0.0.1",
        certPem: c.coordinator.tls.certPem,
        keyPem: c.coordinator.tls.keyPem,
        limits: { ...DEFAULT_CONNECTION_LIMITS, requestTimeoutMs: 30_000 },
      },
      createRequestHandler({
        api: "mesh",
        routes,
        limits: { maxBodyBytes: 1 << 20 },
        logger: new Logger("old", { sink: () => {} }),
        metrics: new CoordinatorMetrics(),
      }),
    );
    try {
      await c.setFirstManifest();
      const { trust, verify } = trustOf(d);
      const { credentials, coordinator } = await requestAttestedMeshCredentials(
        `127.0.0.1:${old.port}`,
        await generatePodKeys(),
        await webPod(d),
        trust,
        verify,
      );
      assert.ok(credentials.workloadSecret !== undefined);
      assert.equal(coordinator.state.policies.size, 3, "the full answer, checked as before");
      assert.equal(seen.length, 2);
      const [first, second] = seen as Record<string, unknown>[];
      assert.equal(first!.withoutPolicies, true);
      assert.equal(second!.withoutPolicies, undefined);
      assert.equal(second!.nonce, first!.nonce);
    } finally {
      await old.close();
    }
  },
);

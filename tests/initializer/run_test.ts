import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { decodePem, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, ValidationError, VerificationError } from "../../util/errors/mod.ts";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import {
  BoundConnectionClosedError,
  CoordinatorBadRequestError,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from "../../atls/pinned_client.ts";
import { Logger } from "../../util/log/logger.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { InitializerFailedError, isPermanent, runInitializer } from "../../initializer/run.ts";
import {
  generatePodKeys,
  requestAttestedMeshCredentials,
  requestMeshCredentials,
} from "../../atls/mesh_client.ts";
import {
  deployment,
  initdata,
  inProcessCoordinator,
  LOOPBACK_SERVICE_CONFIG,
  MEASUREMENT,
} from "../coordinator/fixture.ts";
import { listTree } from "../helpers/list_tree.ts";
import { caSwappingRelay } from "../helpers/relays.ts";
import { sha256 } from "../../util/bytes/mod.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import type { ManifestEvidenceVerifier } from "../../manifest/verifiers.ts";
import { parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import type { Deployment } from "../../testing/simulation/deployment.ts";

const quiet = new Logger("initializer", { sink: () => {} });

/** The trust document of `d` with a verifier, as the initializer process builds them. */
function trustOf(d: Deployment): {
  trust: ReturnType<typeof parseCoordinatorTrust>;
  verify: ManifestEvidenceVerifier;
} {
  const verifiers = new ManifestVerifiers();
  return {
    trust: parseCoordinatorTrust(d.coordinatorTrust()),
    verify: (m, e, o) => verifiers.verify(m, e, o),
  };
}

/** Runs `fn` as a test that serves HTTPS (sockets and timers outlive the sanitizers' view). */
function serverTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn });
}

/** The evidence of pod `pod` of `d`, from a VM with the deployment's launch measurement. */
async function podEvidence(d: Deployment, pod: "web" | "db"): Promise<SimulatedSnpEvidenceSource> {
  return new SimulatedSnpEvidenceSource(d.authority, {
    hostData: d.pods[pod]!.digest,
    measurement: await MEASUREMENT,
  });
}

serverTest(
  "retries until a manifest admits the pod, then writes its files (key 0400)",
  async () => {
    const d = await deployment();
    const c = await inProcessCoordinator(d);
    const out = await Deno.makeTempDir();
    try {
      let attempts = 0;
      const written = await runInitializer({
        coordinator: c.meshAddress,
        evidenceSource: await podEvidence(d, "web"),
        paths: { tlsConfigDir: `${out}/tls`, secretsDir: `${out}/secrets` },
        logger: quiet,
        ...trustOf(d),
        sleep: async () => {
          if (++attempts === 2) await c.setFirstManifest();
        },
      });
      assert.ok(attempts >= 2, "it had to wait for the manifest");
      assert.equal(written.length, 5);
      assert.equal((await Deno.stat(`${out}/tls/key.pem`)).mode! & 0o777, 0o400);
      assert.equal((await Deno.stat(`${out}/secrets/workload-secret-seed`)).mode! & 0o777, 0o400);
      const key = decodePem(await Deno.readTextFile(`${out}/tls/key.pem`), "PRIVATE KEY")[0]!;
      const imported = await crypto.subtle.importKey(
        "pkcs8",
        key.der.slice(),
        { name: "ECDSA", namedCurve: "P-256" },
        true,
        ["sign"],
      );
      const jwk = await crypto.subtle.exportKey("jwk", imported);
      const chain = decodePem(await Deno.readTextFile(`${out}/tls/certChain.pem`), "CERTIFICATE");
      assert.equal(chain.length, 2, "leaf and intermediate");
      const leaf = new x509.X509Certificate(chain[0]!.der.slice());
      const leafJwk = await crypto.subtle.exportKey("jwk", await leaf.publicKey.export());
      assert.equal(leafJwk.x, jwk.x, "the certificate is for the written key");
      assert.ok(
        await leaf.verify({
          publicKey: await new x509.X509Certificate(chain[1]!.der.slice()).publicKey.export(),
          signatureOnly: true,
        }),
      );
    } finally {
      await c.close();
      await Deno.remove(out, { recursive: true });
    }
  },
);

serverTest("gives up at the deadline with the last reason", async () => {
  const d = await deployment();
  const c = await inProcessCoordinator(d);
  try {
    await assert.rejects(
      runInitializer({
        coordinator: c.meshAddress,
        evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
          hostData: d.pods.db.digest,
        }),
        paths: { tlsConfigDir: "/nonexistent/tls", secretsDir: "/nonexistent/s" },
        logger: quiet,
        ...trustOf(d),
        deadlineMs: 1,
        sleep: () => Promise.resolve(),
      }),
      (e: unknown) => e instanceof InitializerFailedError && /no manifest yet/.test(e.message),
    );
  } finally {
    await c.close();
  }
});

Deno.test("malformed requests and local problems are permanent; refusals are retried", () => {
  assert.equal(isPermanent(new CoordinatorBadRequestError(400, "nonce", "bad")), true);
  assert.equal(isPermanent(new ParseError("simulated-host-data", "bad hex")), true);
  assert.equal(isPermanent(new CoordinatorRejectedError(403, "hostData", "unknown")), false);
  assert.equal(isPermanent(new Error("ECONNREFUSED")), false);
  // The connection the evidence binds closed before the request: a new exchange binds a new one.
  assert.equal(isPermanent(new BoundConnectionClosedError()), false);
});

serverTest(
  "retries with new evidence when the connection the evidence binds closed before the request",
  async () => {
    const d = await deployment();
    // The Coordinator closes a connection idle for 100 ms; the pod's first evidence takes 800.
    const c = await inProcessCoordinator(d, {
      service: {
        ...LOOPBACK_SERVICE_CONFIG,
        connections: { ...LOOPBACK_SERVICE_CONFIG.connections, idleTimeoutMs: 100 },
      },
    });
    const out = await Deno.makeTempDir();
    try {
      await c.setFirstManifest();
      const inner = await podEvidence(d, "web");
      let calls = 0;
      const slowFirst = {
        getEvidence: async (reportData: Uint8Array) => {
          if (++calls === 1) await new Promise((r) => setTimeout(r, 800));
          return await inner.getEvidence(reportData);
        },
      } as typeof inner;
      const logs: string[] = [];
      const written = await runInitializer({
        coordinator: c.meshAddress,
        evidenceSource: slowFirst,
        paths: { tlsConfigDir: `${out}/tls`, secretsDir: `${out}/secrets` },
        logger: new Logger("initializer", { format: "json", sink: (l) => logs.push(l) }),
        ...trustOf(d),
        sleep: () => Promise.resolve(),
      });
      assert.equal(calls, 2, "new evidence for the new connection");
      assert.equal(written.length, 5);
      const retries = logs.filter((l) => /attestation attempt failed; retrying/.test(l));
      assert.equal(retries.length, 1, logs.join("\n"));
      assert.match(retries[0]!, /channelBinding: the TLS connection the evidence binds closed/);
      assert.equal(
        c.metrics.attestations.value({ platform: "snp" }),
        1,
        "nothing was sent on another connection",
      );
    } finally {
      await c.close();
      await Deno.remove(out, { recursive: true });
    }
  },
);

serverTest("rejects a certificate that is not for the pod's own key", async () => {
  const d = await deployment();
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const strangerCert = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const server = https.createServer({ key: id.keyPem, cert: id.certPem }, (req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ certChain: strangerCert.certPem, meshCa: "x", rootCa: "y" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    await assert.rejects(
      requestMeshCredentials(
        `127.0.0.1:${(server.address() as AddressInfo).port}`,
        await generatePodKeys(),
        new SimulatedSnpEvidenceSource(d.authority, { hostData: d.pods.db.digest }),
      ),
      (e: unknown) => e instanceof VerificationError && e.field === "certChain",
    );
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

serverTest(
  "refuses an impostor Coordinator (genuine evidence, another policy) and writes nothing",
  async () => {
    const genuine = await deployment();
    // Same simulated root and measurement, but another (attacker's) coordinator policy.
    const evil = initdata("a coordinator that leaks secrets");
    const evilDigest = await sha256(evil);
    const impostor = await inProcessCoordinator({
      ...genuine,
      coordinator: { doc: evil, digest: evilDigest },
    });
    await impostor.setFirstManifest(genuine.manifest((m) => {
      const policies = m.Policies as Record<string, unknown>;
      policies[encodeHex(evilDigest)] = policies[encodeHex(genuine.coordinator.digest)];
      delete policies[encodeHex(genuine.coordinator.digest)];
    }));
    const out = await Deno.makeTempDir();
    try {
      await assert.rejects(
        runInitializer({
          coordinator: impostor.meshAddress,
          evidenceSource: await podEvidence(genuine, "db"),
          paths: { tlsConfigDir: `${out}/tls`, secretsDir: `${out}/secrets` },
          logger: quiet,
          ...trustOf(genuine),
          deadlineMs: 1,
          sleep: () => Promise.resolve(),
        }),
        (e: unknown) =>
          e instanceof InitializerFailedError &&
          e.cause instanceof ValidationError && e.cause.field === "hostData" &&
          e.cause.expected === encodeHex(genuine.coordinator.digest) &&
          e.cause.actual === encodeHex(evilDigest),
      );
      assert.deepEqual(await listTree(out), [], "nothing written");
    } finally {
      await impostor.close();
      await Deno.remove(out, { recursive: true });
    }
  },
);

serverTest("refuses a Coordinator whose evidence fails the pinned reference values", async () => {
  const d = await deployment();
  const c = await inProcessCoordinator(d);
  await c.setFirstManifest();
  const { verify } = trustOf(d);
  // The pod pins a launch measurement the Coordinator's VM does not have.
  const trustText = d.coordinatorTrust().replace(
    /"TrustedMeasurement":"[0-9a-f]{96}"/,
    `"TrustedMeasurement":"${"ee".repeat(48)}"`,
  );
  try {
    await assert.rejects(
      requestAttestedMeshCredentials(
        c.meshAddress,
        await generatePodKeys(),
        await podEvidence(d, "db"),
        parseCoordinatorTrust(trustText),
        verify,
      ),
      (e: unknown) => e instanceof ValidationError && /easurement/i.test(e.message + e.field),
    );
  } finally {
    await c.close();
  }
});

serverTest("refuses CA files swapped by a relay between pod and Coordinator", async () => {
  const d = await deployment();
  const c = await inProcessCoordinator(d);
  await c.setFirstManifest();
  const { trust, verify } = trustOf(d);
  // A TLS-terminating relay: forwards everything to the Coordinator over its own connection,
  // but replaces the mesh CA in the certificate answer with its own.
  const relay = await caSwappingRelay(c.meshAddress);
  const relayAddress = relay.address;
  const source = await podEvidence(d, "db");
  try {
    // Through the relay the Coordinator's evidence binds the Coordinator's TLS key, not the
    // relay's: refused before any exchange.
    await assert.rejects(
      requestAttestedMeshCredentials(
        relayAddress,
        await generatePodKeys(),
        source,
        trust,
        verify,
      ),
      (e: unknown) =>
        (e instanceof VerificationError || e instanceof ValidationError) &&
        /report_?data/i.test(e.field),
    );
    // Without attesting the Coordinator the relay gets no further: the pod's evidence binds the
    // channel of its connection to the relay, and the Coordinator refuses it on the relay's own
    // connection (the relay passes that refusal on as its 502). With a challenge instead of the
    // channel binding, this exchange succeeded and planted the relay's CA.
    await assert.rejects(
      requestMeshCredentials(relayAddress, await generatePodKeys(), source),
      (e: unknown) =>
        e instanceof CoordinatorUnavailableError && e.status === 502 &&
        /REPORT_DATA does not match/.test(e.message),
    );
    // Directly, the attested CAs are accepted.
    const ok = await requestAttestedMeshCredentials(
      c.meshAddress,
      await generatePodKeys(),
      source,
      trust,
      verify,
    );
    assert.equal(ok.credentials.meshCa, ok.coordinator.state.meshCa);
    assert.equal(ok.credentials.rootCa, ok.coordinator.state.rootCa);
    assert.equal(ok.coordinator.claims.platform, "snp");
  } finally {
    await relay.close();
    await c.close();
  }
});

serverTest(
  "refuses CAs that differ from those the Coordinator attested (update in between)",
  async () => {
    const { parseManifestRequest } = await import("../../protocol/messages.ts");
    const { importWorkloadOwnerKey, signManifestUpdate } = await import(
      "../../protocol/signatures.ts"
    );
    const { manifestHash, transitionHash } = await import("../../manifest/hash.ts");
    const { decodeHex, encodeBase64 } = await import("../../util/bytes/mod.ts");
    const d = await deployment();
    const c = await inProcessCoordinator(d);
    const first = await c.setFirstManifest();
    const { trust, verify } = trustOf(d);
    const inner = await podEvidence(d, "db");
    // The pod's evidence is taken after the Coordinator was attested and before the certificate
    // request: a manifest update right then gives the answer a new mesh CA.
    const racing = {
      getEvidence: async (reportData: Uint8Array) => {
        const bytes = d.manifest((m) => {
          (m.Policies as Record<string, { SANs: string[] }>)[encodeHex(d.pods.db.digest)]!.SANs = [
            "db",
            "db.example",
          ];
        });
        const previous = decodeHex(first.transition, "transition");
        const transition = await transitionHash(await manifestHash(bytes), previous);
        const key = await importWorkloadOwnerKey(d.workloadOwner.pem);
        await c.coordinator.setManifest(parseManifestRequest({
          manifest: encodeBase64(bytes),
          policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
          previous_transition: first.transition,
          signature: encodeHex(await signManifestUpdate(key, transition)),
        }));
        return inner.getEvidence(reportData);
      },
    } as typeof inner;
    try {
      await assert.rejects(
        requestAttestedMeshCredentials(
          c.meshAddress,
          await generatePodKeys(),
          racing,
          trust,
          verify,
        ),
        (e: unknown) => e instanceof VerificationError && e.field === "meshCa",
      );
      // Retried, the new CA is attested and accepted.
      const ok = await requestAttestedMeshCredentials(
        c.meshAddress,
        await generatePodKeys(),
        inner,
        trust,
        verify,
      );
      assert.notEqual(ok.credentials.meshCa, first.meshCa);
    } finally {
      await c.close();
    }
  },
);

Deno.test("the unauthenticated exchange is not what the initializer runs", async () => {
  // runInitializer needs a trust document and a verifier: the types make them required, and
  // the process refuses to start without one (tests/initializer/main_test.ts).
  const source = await Deno.readTextFile(new URL("../../initializer/run.ts", import.meta.url));
  assert.match(source, /requestAttestedMeshCredentials\(/);
  assert.doesNotMatch(source, /requestMeshCredentials\(/);
});

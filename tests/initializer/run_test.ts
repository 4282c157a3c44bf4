import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { decodePem, encodeHex } from "../../bytes/mod.ts";
import { ParseError, ValidationError, VerificationError } from "../../errors/mod.ts";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import { CoordinatorBadRequestError, CoordinatorRejectedError } from "../../atls/pinned_client.ts";
import { Logger } from "../../coordinator/logger.ts";
import { SimulatedSnpEvidenceSource } from "../../coordinator/simulated_evidence.ts";
import {
  generatePodKeys,
  InitializerFailedError,
  isPermanent,
  runInitializer,
} from "../../initializer/run.ts";
import { requestMeshCredentials } from "../../initializer/mesh_client.ts";
import { deployment, initdata, inProcessCoordinator, MEASUREMENT } from "../coordinator/fixture.ts";
import { sha256 } from "../../bytes/mod.ts";
import type { ManifestEvidenceVerifier } from "../../manifest/verifiers.ts";

const quiet = new Logger("initializer", { sink: () => {} });

Deno.test({
  name: "retries until a manifest admits the pod, then writes its files (key 0400)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const c = await inProcessCoordinator(d);
    const out = await Deno.makeTempDir();
    try {
      let attempts = 0;
      const written = await runInitializer({
        coordinator: c.meshAddress,
        evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
          hostData: d.pods.web.digest,
          measurement: await MEASUREMENT,
        }),
        paths: { tlsConfigDir: `${out}/tls`, secretsDir: `${out}/secrets` },
        logger: quiet,
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
});

Deno.test({
  name: "gives up at the deadline with the last reason",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
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
          deadlineMs: 1,
          sleep: () => Promise.resolve(),
        }),
        (e: unknown) => e instanceof InitializerFailedError && /412/.test(e.message),
      );
    } finally {
      await c.close();
    }
  },
});

Deno.test("malformed requests and local problems are permanent; refusals are retried", () => {
  assert.equal(isPermanent(new CoordinatorBadRequestError(400, "nonce", "bad")), true);
  assert.equal(isPermanent(new ParseError("simulated-host-data", "bad hex")), true);
  assert.equal(isPermanent(new CoordinatorRejectedError(403, "hostData", "unknown")), false);
  assert.equal(isPermanent(new Error("ECONNREFUSED")), false);
});

Deno.test({
  name: "rejects a certificate that is not for the pod's own key",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
    const strangerCert = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
    const server = https.createServer({ key: id.keyPem, cert: id.certPem }, (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(
          req.url === "/mesh/challenge"
            ? { nonce: encodeHex(new Uint8Array(32)), expiresInSeconds: 60 }
            : { certChain: strangerCert.certPem, meshCa: "x", rootCa: "y" },
        ));
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
  },
});

Deno.test({
  name: "with a trust anchor, an impostor Coordinator is refused before any exchange",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { ManifestVerifiers } = await import("../../manifest/verifiers.ts");
    const { parseManifest } = await import("../../manifest/manifest.ts");
    const genuine = await deployment();
    // Same simulated root and measurement, but another (attacker's) coordinator policy.
    const evil = initdata("a coordinator that leaks secrets");
    const impostor = await inProcessCoordinator({
      ...genuine,
      coordinator: { doc: evil, digest: await sha256(evil) },
    });
    const real = await inProcessCoordinator(genuine);
    const verifiers = new ManifestVerifiers();
    const trust = {
      manifest: parseManifest(genuine.manifest()),
      verify: ((m, e, o) => verifiers.verify(m, e, o)) as ManifestEvidenceVerifier,
    };
    try {
      await real.setFirstManifest();
      const keys = await generatePodKeys();
      const source = new SimulatedSnpEvidenceSource(genuine.authority, {
        hostData: genuine.pods.db.digest,
        measurement: await MEASUREMENT,
      });
      await assert.rejects(
        requestMeshCredentials(impostor.meshAddress, keys, source, { trust }),
        (e: unknown) => e instanceof ValidationError && e.field === "hostData",
      );
      const ok = await requestMeshCredentials(real.meshAddress, keys, source, { trust });
      assert.match(ok.meshCa, /BEGIN CERTIFICATE/);
    } finally {
      await impostor.close();
      await real.close();
    }
  },
});

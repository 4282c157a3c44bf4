/**
 * A stranger floods a real Coordinator process's mesh API with 100,000 `POST /mesh/challenge`
 * requests (pipelined over keep-alive TLS connections from its own loopback address, 127.0.0.2)
 * while a recovering peer Coordinator (127.0.0.1) holds a challenge it has not redeemed yet (pods
 * take no challenge: their requests bind their TLS connection). The store holds up to 100,000
 * nonces, so before the per-client limit this flood evicted the peer's nonce; now one client holds
 * at most 32 (its new nonces replace its own oldest), so every flood request is answered, the
 * peer's nonce is redeemed afterwards (`POST /peer/seed`) with genuine evidence, and the
 * stranger's own first nonce is gone.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { CoordinatorRejectedError, PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { peerReportData } from "../../protocol/report_data.ts";
import { attestCoordinator, sendManifest } from "../../atls/coordinator_client.ts";
import {
  ApiPath,
  parseChallengeResponse,
  parsePeerSeedResponse,
  PEER_SEED_HPKE_INFO,
} from "../../protocol/messages.ts";
import { HpkeRecipient } from "../../protocol/hpke.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { challengeFlood } from "../../testing/simulation/challenge_flood.ts";
import { MEASUREMENT } from "../../testing/simulation/deployment.ts";
import { TEST_ONLY_CHALLENGE_TTL_FLAG } from "../../coordinator/test_only_challenge_ttl.ts";
import { createWorkspace, startCoordinator } from "./harness.ts";

const FLOOD = 100_000;
const TTL_SECONDS = 600;

Deno.test({
  name: "100,000 challenges from one stranger do not evict a waiting peer's nonce",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await createWorkspace();
    // Nonces live 10 minutes here (test-only knob, simulated TEE only) instead of 60 s, so a
    // loaded machine's slow flood still tells eviction from expiry; the store's capacity, what the
    // flood attacks, is the production one.
    const coordinator = await startCoordinator(ws, `${ws.dir}/history`, [
      "--log-level",
      "warn",
      `--${TEST_ONLY_CHALLENGE_TTL_FLAG}`,
      String(TTL_SECONDS),
    ]);
    try {
      const manifestBytes = ws.deployment.manifest();
      const manifest = parseManifest(manifestBytes);
      const verifiers = new ManifestVerifiers();
      const attested = await attestCoordinator(
        coordinator.userAddress,
        manifest,
        (m, e, o) => verifiers.verify(m, e, o),
      );
      await sendManifest(attested.client, {
        manifest: manifestBytes,
        policies: [
          ws.deployment.coordinator.doc,
          ws.deployment.pods.web.doc,
          ws.deployment.pods.db.doc,
        ],
        previousTransition: new Uint8Array(32),
        signature: decodeHex(await ws.deployment.ownerSignature(manifestBytes)),
      });

      /**
       * A peer Coordinator (running the coordinator policy) asks for the seed with genuine
       * evidence bound to `nonce`; returns the seed's length.
       */
      const redeem = async (nonce: Uint8Array) => {
        const hpke = await HpkeRecipient.generate();
        const r = await ws.deployment.authority.createReport({
          reportData: await peerReportData({ nonce, hpkePublicKey: hpke.publicKey }),
          hostData: ws.deployment.coordinator.digest,
          measurement: await MEASUREMENT,
        });
        const { sealedSeed } = parsePeerSeedResponse(
          await new PinnedHttpsClient(coordinator.meshAddress).request("POST", ApiPath.peerSeed, {
            nonce: encodeHex(nonce),
            evidence: evidenceToJson({ platform: "snp", report: r.report, aux: r.aux }),
            hpkePublicKey: encodeHex(hpke.publicKey),
          }),
        );
        return (await hpke.open(sealedSeed, PEER_SEED_HPKE_INFO, nonce)).length;
      };

      // The peer (127.0.0.1) takes its challenge and is slow to answer it.
      const peer = new PinnedHttpsClient(coordinator.meshAddress);
      const challenged = performance.now();
      const challenge = await peer.request("POST", ApiPath.meshChallenge, {});
      const { nonce: waiting } = parseChallengeResponse(challenge);
      const { expiresInSeconds } = challenge as { expiresInSeconds: number };
      assert.equal(expiresInSeconds, TTL_SECONDS);

      // The stranger's first challenge, then its flood.
      const stranger = { target: coordinator.meshAddress, sourceAddress: "127.0.0.2" };
      const first = await challengeFlood({ ...stranger, requests: 1, connections: 1 });
      const strangersFirst = decodeHex(JSON.parse(first.firstBody).nonce);
      const started = performance.now();
      const flood = await challengeFlood({ ...stranger, requests: FLOOD, connections: 4 });
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `${FLOOD} challenges answered in ${seconds.toFixed(1)} s ` +
          `(load average ${Deno.loadavg()[0]!.toFixed(1)})`,
      );
      assert.deepEqual(flood.counts, { 200: FLOOD });
      const held = (performance.now() - challenged) / 1000;
      assert.ok(
        held < expiresInSeconds - 5,
        `the flood took ${held.toFixed(0)} s, about as long as a nonce lives ` +
          `(${expiresInSeconds} s): this machine is too loaded to tell eviction from expiry`,
      );

      // The peer's nonce survived the flood: it gets the seed (and salt).
      assert.ok(await redeem(waiting) > 0, "the peer gets the seed");

      // The stranger's own first nonce was replaced by its later ones.
      await assert.rejects(redeem(strangersFirst), (e: unknown) => {
        assert.ok(e instanceof CoordinatorRejectedError, String(e));
        assert.equal(e.status, 403);
        assert.match(e.message, /nonce: .*unknown or already used/);
        return true;
      });
    } finally {
      await coordinator.stop();
      await ws.cleanup();
    }
  },
});

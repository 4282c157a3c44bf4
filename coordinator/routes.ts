/**
 * The Coordinator's routes: user API (1313), mesh API (7777) and probes (9102). Attest and mesh
 * certificate requests get the request's signal: once the client went away they stop before their
 * next signature or verification. A mesh certificate request also gets the channel binding of the
 * TLS connection it arrived on, which its evidence must bind.
 *
 * @module
 */
import {
  ApiPath,
  parseAttestRequest,
  parseManifestRequest,
  parseMeshCertificateRequest,
  parsePeerSeedRequest,
  parseRecoverRequest,
} from "../protocol/messages.ts";
import type { Coordinator } from "./coordinator.ts";
import type { Route } from "./http/server.ts";

/**
 * Routes of the user API: attest, manifest, recover (each charged to its client's request budget:
 * a report signed, owner signatures checked).
 */
export function userRoutes(coordinator: Coordinator): Route[] {
  return [
    {
      method: "POST",
      path: ApiPath.attest,
      budgeted: true,
      handle: async (r) => ({
        body: await coordinator.attestJson(parseAttestRequest(r.body), r.signal),
      }),
    },
    {
      method: "POST",
      path: ApiPath.manifest,
      budgeted: true,
      handle: async (r) => ({
        body: await coordinator.setManifest(parseManifestRequest(r.body)),
      }),
    },
    {
      method: "POST",
      path: ApiPath.recover,
      budgeted: true,
      handle: async (r) => ({ body: await coordinator.recover(parseRecoverRequest(r.body)) }),
    },
  ];
}

/**
 * Routes of the mesh API: certificate, and challenge and seed for peer Coordinators (attest is
 * served here too). Attest and certificate (evidence verified) are charged to the client's request
 * budget. A certificate request over a connection without a channel binding (plain TCP, TLS other
 * than 1.3) is refused (403, field `channelBinding`) before its body is parsed.
 */
export function meshRoutes(coordinator: Coordinator): Route[] {
  return [
    {
      method: "POST",
      path: ApiPath.attest,
      budgeted: true,
      handle: async (r) => ({
        body: await coordinator.attestJson(parseAttestRequest(r.body), r.signal),
      }),
    },
    {
      method: "POST",
      path: ApiPath.meshChallenge,
      handle: (r) => ({ body: coordinator.challenge(r.clientAddress) }),
    },
    {
      method: "POST",
      path: ApiPath.meshCertificate,
      budgeted: true,
      handle: async (r) => {
        const channelBinding = r.channelBinding();
        return {
          body: await coordinator.issueMeshCertificateJson(
            parseMeshCertificateRequest(r.body),
            channelBinding,
            r.clientAddress,
            r.signal,
          ),
        };
      },
    },
    {
      method: "POST",
      path: ApiPath.peerSeed,
      handle: async (r) => ({
        body: await coordinator.peerSeed(parsePeerSeedRequest(r.body), r.clientAddress),
      }),
    },
  ];
}

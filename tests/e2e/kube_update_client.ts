/**
 * In-process owner operations against Coordinator replicas for the fault tests: attest a replica
 * and read its verified state, and prepare an update (attested, signed) to send later, so that
 * several updates can race from the same previous transition.
 *
 * @module
 */
import {
  attestCoordinator,
  type AttestedCoordinator,
  sendManifest,
} from "../../atls/coordinator_client.ts";
import { cliEvidenceVerifier, initdataFromYaml, readLocalManifest } from "../../atls/workspace.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import type { Manifest } from "../../manifest/manifest.ts";
import { importWorkloadOwnerKey, signManifestUpdate } from "../../protocol/signatures.ts";

/** A manifest with its policy documents, ready to send. */
export interface ManifestVariant {
  readonly manifest: Manifest;
  readonly bytes: Uint8Array;
  readonly policies: readonly Uint8Array[];
}

/** Reads a manifest and the initdata documents of its policies from `yamlPath`. */
export async function readVariant(
  manifestPath: string,
  yamlPath: string,
): Promise<ManifestVariant> {
  const local = await readLocalManifest(manifestPath);
  const found = await initdataFromYaml([yamlPath]);
  const policies = Object.keys(local.manifest.Policies).map((digest) => {
    const doc = found.find((f) => f.digest === digest);
    if (!doc) throw new Error(`${yamlPath} lacks policy ${digest}`);
    return doc.bytes;
  });
  return { manifest: local.manifest, bytes: local.bytes, policies };
}

/** A replica's verified state. */
interface ReplicaState {
  /** hex latest transition ("" before the first manifest). */
  readonly latest: string;
  /** PEM of the mesh CA. */
  readonly meshCa: string;
  /** hex of every transition of the attested history, oldest first. */
  readonly transitions: readonly string[];
}

/** Attests the replica at `address` against `trust` (any variant: same coordinator policy). */
async function attestReplica(
  address: string,
  trust: ManifestVariant,
): Promise<AttestedCoordinator> {
  return await attestCoordinator(address, trust.manifest, cliEvidenceVerifier(), {
    timeoutMs: 10_000,
  });
}

/** The verified state of the replica at `address`. */
export async function replicaState(address: string, trust: ManifestVariant): Promise<ReplicaState> {
  const { state } = await attestReplica(address, trust);
  const transitions: string[] = [];
  let t = GENESIS_TRANSITION;
  for (const m of state.manifests) {
    t = await transitionHash(await manifestHash(m), t);
    transitions.push(encodeHex(t));
  }
  return {
    latest: state.latestTransition ? encodeHex(state.latestTransition) : "",
    meshCa: state.meshCa,
    transitions,
  };
}

/**
 * Attests the replica and signs an update to `variant` on top of the latest it reports;
 * `send()` posts it and resolves with the new transition (hex) once acknowledged.
 */
export async function prepareUpdate(
  address: string,
  variant: ManifestVariant,
  ownerPem: string,
): Promise<{ previous: string; send: () => Promise<string> }> {
  const attested = await attestReplica(address, variant);
  const previous = attested.state.latestTransition ?? GENESIS_TRANSITION;
  const next = await transitionHash(await manifestHash(variant.bytes), previous);
  const signature = await signManifestUpdate(await importWorkloadOwnerKey(ownerPem), next);
  return {
    previous: encodeHex(previous),
    send: async () =>
      (await sendManifest(attested.client, {
        manifest: variant.bytes,
        policies: variant.policies,
        previousTransition: previous,
        signature,
      })).transition,
  };
}

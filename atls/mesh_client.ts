/**
 * The client of the Coordinator's mesh API, as the Initializer (and the load test and benchmarks,
 * through the same code) speaks it: on one pinned TLS 1.3 connection, the connection's channel
 * binding (`channel_binding.ts`), evidence binding it and the pod's certificate key
 * (`contrast/mesh/v2`), and `POST /mesh/certificate` on exactly that connection. The certificate
 * must be for the pod's key, and the workload secret arrives inside that connection, which ends
 * in the attested Coordinator (its TLS key is pinned) and in this process: a relay sees only
 * ciphertext, and evidence relayed onto another connection binds the wrong channel.
 *
 * The CA files are public too, but a pod must not take them from just anyone: an impostor
 * handing out its own mesh CA would make the pod trust the impostor's mesh.
 * {@link requestAttestedMeshCredentials} (what the Initializer uses) therefore first attests the
 * Coordinator against the pod's {@link CoordinatorTrust} (evidence genuine and meeting the
 * reference values, `HOST_DATA`/`MRCONFIGID` the pinned Coordinator policy, report data binding
 * the TLS key talked to and the SHA-256 of each CA PEM), pins that TLS key for the exchange, and
 * accepts the CAs only if they are exactly the attested ones.
 *
 * @module
 */
import "reflect-metadata";
import { Certificate } from "../x509/certificate.ts";
import { constantTimeEqual, decodePem, encodeHex } from "../util/bytes/mod.ts";
import { UnavailableError, ValidationError, VerificationError } from "../util/errors/mod.ts";
import { evidenceToJson } from "../protocol/evidence_json.ts";
import { PinnedHttpsClient } from "./pinned_client.ts";
import { generateTlsKeyPair } from "./certificate.ts";
import { meshReportData } from "../protocol/report_data.ts";
import {
  ApiPath,
  type MeshCertificateRequestJson,
  parseMeshCertificateResponse,
} from "../protocol/messages.ts";
import type { EvidenceSource } from "../evidence/evidence_source.ts";
import type { ManifestEvidenceVerifier } from "../manifest/verifiers.ts";
import { attestCoordinator, type AttestedCoordinator } from "./coordinator_client.ts";
import type { CoordinatorTrust } from "./coordinator_trust.ts";

/** What the initializer receives. */
export interface MeshCredentials {
  /** PEM of leaf then intermediate. */
  readonly certChain: string;
  /** PEM of the mesh CA. */
  readonly meshCa: string;
  /** PEM of the root CA. */
  readonly rootCa: string;
  /** The workload secret, when the policy has one (never log it). */
  readonly workloadSecret?: Uint8Array;
}

/** The pod's key. */
interface PodKeys {
  /** P-256 ECDSA key pair the mesh certificate is issued to. */
  readonly leaf: CryptoKeyPair;
  /** PKIX DER of the leaf public key. */
  readonly leafSpki: Uint8Array;
}

/** Generates a pod's certificate key (P-256). */
export async function generatePodKeys(): Promise<PodKeys> {
  const leaf = await generateTlsKeyPair();
  return {
    leaf,
    leafSpki: new Uint8Array(await crypto.subtle.exportKey("spki", leaf.publicKey)),
  };
}

/**
 * One exchange over `client`: the channel binding of its connection, evidence binding it and
 * the pod's key, and the certificate request on that same connection. Checks that the
 * certificate is for the pod's key; the CAs and the workload secret are returned as received.
 *
 * @throws {import("./pinned_client.ts").BoundConnectionClosedError} when the connection closed
 *   while the evidence was made (retryable: a new exchange binds a new connection)
 */
async function exchange(
  client: PinnedHttpsClient,
  keys: PodKeys,
  evidenceSource: EvidenceSource,
): Promise<MeshCredentials> {
  const channelBinding = await client.bindConnection();
  const reportData = await meshReportData({ channelBinding, leafSpki: keys.leafSpki });
  const evidence = await evidenceSource.getEvidence(reportData);
  const body: MeshCertificateRequestJson = {
    evidence: evidenceToJson(evidence),
    leafPublicKey: encodeHex(keys.leafSpki),
  };
  const answer = parseMeshCertificateResponse(
    await client.requestOnBinding(channelBinding, "POST", ApiPath.meshCertificate, body),
  );
  const leafDer = decodePem(answer.certChain, "CERTIFICATE", "certChain")[0]!.der;
  const leaf = new Certificate(leafDer, "certChain[0]");
  if (!constantTimeEqual(leaf.spki, keys.leafSpki)) {
    throw new VerificationError("certChain", "the certificate is not for this pod's key");
  }
  return {
    certChain: answer.certChain,
    meshCa: answer.meshCa,
    rootCa: answer.rootCa,
    ...(answer.workloadSecret ? { workloadSecret: answer.workloadSecret } : {}),
  };
}

/**
 * One exchange WITHOUT authenticating the Coordinator: the certificate is still bound to the
 * pod's key and the request to its TLS connection, but the CA PEMs are whatever the peer sent
 * (and its TLS key is not pinned to an attested one). The Initializer
 * never uses this; it serves tests of the Coordinator's admission rules. Use
 * {@link requestAttestedMeshCredentials}.
 *
 * @throws {import("./pinned_client.ts").CoordinatorRejectedError} (and the other
 *   answer errors) when the Coordinator refuses; {@link VerificationError} when the answer does
 *   not fit our keys
 */
export function requestMeshCredentials(
  address: string,
  keys: PodKeys,
  evidenceSource: EvidenceSource,
  options: { timeoutMs?: number; localAddress?: string } = {},
): Promise<MeshCredentials> {
  const client = new PinnedHttpsClient(address, {
    timeoutMs: options.timeoutMs,
    localAddress: options.localAddress,
  });
  return exchange(client, keys, evidenceSource).finally(() => client.close());
}

/** Credentials whose CAs the attested Coordinator vouched for. */
export interface AttestedMeshCredentials {
  /** The credentials (CA PEMs equal to those bound in the Coordinator's evidence). */
  readonly credentials: MeshCredentials;
  /** The attested Coordinator (claims, state). */
  readonly coordinator: AttestedCoordinator;
}

/**
 * Attests the Coordinator at `address` against `trust`, then runs the exchange over the same
 * (pinned) TLS key and accepts the answer only if its CA PEMs are byte for byte the ones the
 * Coordinator's evidence binds.
 *
 * @throws {VerificationError | import("../util/errors/mod.ts").ValidationError} when the Coordinator
 *   is not the trusted one (field `hostData` for another policy) or its CAs differ from the
 *   attested ones (field `meshCa`/`rootCa`)
 * @throws {UnavailableError} when the Coordinator has no CAs yet (no manifest)
 */
export async function requestAttestedMeshCredentials(
  address: string,
  keys: PodKeys,
  evidenceSource: EvidenceSource,
  trust: CoordinatorTrust,
  verify: ManifestEvidenceVerifier,
  options: { timeoutMs?: number; now?: Date; localAddress?: string } = {},
): Promise<AttestedMeshCredentials> {
  let coordinator: AttestedCoordinator;
  try {
    coordinator = await attestCoordinator(address, trust.manifest, verify, {
      ...options,
      pinnedOwnerKeys: trust.workloadOwnerKeys,
      // The pod checks the manifests and signatures, never the policy documents.
      withoutPolicies: true,
    });
  } catch (error) {
    // The trust document's only policy is the Coordinator's: any other digest is an impostor.
    if (error instanceof ValidationError && error.field === "hostData") {
      throw new ValidationError(
        "hostData",
        "the Coordinator does not run the pinned Coordinator policy (CoordinatorPolicyHash)",
        { expected: trust.policyHash, actual: error.actual },
        { cause: error },
      );
    }
    throw error;
  }
  const { rootCa, meshCa } = coordinator.state;
  if (coordinator.state.recoveryNeeded) {
    throw new UnavailableError("coordinator", "the attested Coordinator is waiting for recovery");
  }
  if (rootCa === "" || meshCa === "" || coordinator.state.manifests.length === 0) {
    throw new UnavailableError("coordinator", "the attested Coordinator has no manifest yet");
  }
  let credentials: MeshCredentials;
  try {
    credentials = await exchange(coordinator.client, keys, evidenceSource);
  } finally {
    coordinator.client.close();
  }
  if (credentials.rootCa !== rootCa) {
    throw new VerificationError("rootCa", "differs from the root CA the Coordinator attested");
  }
  if (credentials.meshCa !== meshCa) {
    throw new VerificationError("meshCa", "differs from the mesh CA the Coordinator attested");
  }
  return { credentials, coordinator };
}

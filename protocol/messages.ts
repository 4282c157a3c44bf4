/**
 * The JSON messages of the Coordinator's API, shared by the Coordinator (which parses requests)
 * and its clients (the CLI and the Initializer, which parse answers). Every parser is strict:
 * unknown fields, wrong types and wrong lengths are errors naming their JSON path. Bytes travel
 * as base64 (documents, the workload secret) or lower-case hex (hashes, keys, signatures, nonces).
 *
 * @module
 */
import { decodeBase64, decodeHex } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { IssueList, ObjectReader } from "../util/json/mod.ts";
import type { Evidence } from "../evidence/types.ts";
import { evidenceFromJson, type EvidenceJson } from "./evidence_json.ts";
import { type SealedBox, sealedBoxFromJson, type SealedBoxJson } from "./hpke.ts";
import { NONCE_LENGTH } from "./report_data.ts";

/** API paths. */
export const ApiPath = {
  attest: "/attest",
  manifest: "/manifest",
  recover: "/recover",
  meshChallenge: "/mesh/challenge",
  meshCertificate: "/mesh/certificate",
  peerSeed: "/peer/seed",
} as const;

function reader(body: unknown, what: string): { root: ObjectReader; issues: IssueList } {
  const issues = new IssueList();
  const root = new ObjectReader(body ?? null, "", issues);
  if (!root.ok) issues.throwIfAny();
  void what;
  return { root, issues };
}

function bytesHex(root: ObjectReader, key: string, length?: number): Uint8Array | undefined {
  // The common case first: a string of the right length that the engine decodes (it accepts
  // exactly pairs of [0-9a-fA-F], as the reader's check). Anything else is read again by the
  // reader, which names the problem.
  const text = root.raw(key, false);
  if (typeof text === "string" && (length === undefined || text.length === 2 * length)) {
    try {
      return Uint8Array.fromHex(text);
    } catch {
      // not hex: reported below
    }
  }
  const hex = root.hex(key, length);
  return hex === undefined ? undefined : decodeHex(hex, key);
}

function bytesBase64(root: ObjectReader, key: string, issues: IssueList): Uint8Array | undefined {
  const text = root.string(key);
  if (text === undefined) return undefined;
  try {
    return decodeBase64(text, key);
  } catch (e) {
    issues.add(key, e instanceof ParseError ? e.reason : "not base64");
    return undefined;
  }
}

/**
 * Reads `key` with `convert` (a JSON-to-value reader that throws {@link ParseError}), recording
 * its error in `issues` so every bad field is reported together.
 */
function convertedField<T>(
  root: ObjectReader,
  key: string,
  issues: IssueList,
  convert: (raw: unknown, field: string) => T,
): T | undefined {
  const raw = root.raw(key);
  if (raw === undefined) return undefined;
  try {
    return convert(raw, key);
  } catch (e) {
    if (e instanceof ParseError) issues.add(e.field, e.reason);
    else throw e;
    return undefined;
  }
}

function evidenceField(root: ObjectReader, key: string, issues: IssueList): Evidence | undefined {
  return convertedField(root, key, issues, evidenceFromJson);
}

function sealedField(root: ObjectReader, key: string, issues: IssueList): SealedBox | undefined {
  return convertedField(root, key, issues, sealedBoxFromJson);
}

/** The fields of a request whose evidence binds a challenge nonce and an HPKE key. */
interface NonceBoundFields {
  readonly nonce: Uint8Array;
  readonly evidence: Evidence;
  readonly hpkePublicKey: Uint8Array;
}

/**
 * Reads `nonce`, `evidence` and `hpkePublicKey` (problems go to `issues`); the returned function
 * gives the values once `issues` is known to be empty.
 */
function readNonceBoundFields(root: ObjectReader, issues: IssueList): () => NonceBoundFields {
  const nonce = bytesHex(root, "nonce", NONCE_LENGTH);
  const evidence = evidenceField(root, "evidence", issues);
  const hpkePublicKey = bytesHex(root, "hpkePublicKey", 32);
  return () => ({ nonce: nonce!, evidence: evidence!, hpkePublicKey: hpkePublicKey! });
}

// ---------------------------------------------------------------- POST /attest

/** `POST /attest` request. */
export interface AttestRequest {
  /** The client's fresh 32-byte nonce. */
  readonly nonce: Uint8Array;
  /**
   * Leave the policy documents out of the answer (`policies` empty). The Initializer asks so:
   * it checks the manifests and their signatures, never the documents, which are ~120 KB a pod.
   */
  readonly withoutPolicies?: boolean;
}

/** JSON of an {@link AttestRequest}. */
export interface AttestRequestJson {
  /** hex nonce. */
  readonly nonce: string;
  /** See {@link AttestRequest.withoutPolicies} (absent: false). */
  readonly withoutPolicies?: boolean;
}

/** Parses an `/attest` request. @throws {InvalidDocumentError} naming every bad field */
export function parseAttestRequest(body: unknown): AttestRequest {
  const { root, issues } = reader(body, "attest");
  const nonce = bytesHex(root, "nonce", NONCE_LENGTH);
  const withoutPolicies = root.boolean("withoutPolicies", false);
  root.finish();
  issues.throwIfAny();
  return { nonce: nonce!, ...(withoutPolicies ? { withoutPolicies: true } : {}) };
}

/** `POST /attest` answer (JSON). */
export interface AttestResponseJson {
  /** The Coordinator's evidence, report data per `protocol/report_data.ts`. */
  readonly evidence: EvidenceJson;
  /** hex of the Coordinator's HPKE public key (bound in the report data). */
  readonly hpkePublicKey: string;
  /**
   * base64 of every manifest, oldest first (empty before the first). In recovery mode: the
   * stored history the latest record claims (unverified by the Coordinator, which has no seed yet;
   * clients check that it hashes to the attested `latestTransition`), empty when the store does
   * not hold all of it.
   */
  readonly manifests: readonly string[];
  /**
   * base64 initdata documents by hex SHA-256 digest (empty when the request asked
   * `withoutPolicies`).
   */
  readonly policies: Readonly<Record<string, string>>;
  /** PEM of the root CA ("" before the first manifest or in recovery mode). */
  readonly rootCa: string;
  /** PEM of the mesh CA ("" before the first manifest or in recovery mode). */
  readonly meshCa: string;
  /** hex of the latest transition hash ("" before the first manifest). */
  readonly latestTransition: string;
  /** Whether the Coordinator waits for `POST /recover`. */
  readonly recoveryNeeded: boolean;
  /**
   * hex of the workload owner's signature over each manifest's transition, aligned with
   * `manifests` ("" where none is stored).
   */
  readonly signatures: readonly string[];
  /**
   * base64 of the stored seed-share document of this history (public-key encrypted to the
   * seedshare owners), when one is stored: a retried `set` or `recover` fetches it from here.
   */
  readonly seedShares?: string;
  /**
   * hex of the stored latest record (transition ‖ history-key signature) naming
   * `latestTransition`, when the Coordinator read it: part of a history backup.
   */
  readonly latestRecord?: string;
}

/** A parsed `/attest` answer. */
export interface AttestResponse {
  /** The Coordinator's evidence. */
  readonly evidence: Evidence;
  /** The Coordinator's HPKE public key. */
  readonly hpkePublicKey: Uint8Array;
  /** Manifest bytes, oldest first. */
  readonly manifests: readonly Uint8Array[];
  /** initdata documents by hex digest. */
  readonly policies: ReadonlyMap<string, Uint8Array>;
  /** PEM of the root CA, or "". */
  readonly rootCa: string;
  /** PEM of the mesh CA, or "". */
  readonly meshCa: string;
  /** Latest transition hash, or undefined before the first manifest. */
  readonly latestTransition?: Uint8Array;
  /** Whether the Coordinator waits for recovery. */
  readonly recoveryNeeded: boolean;
  /** The owner signature of each manifest's transition (empty where none is stored). */
  readonly signatures: readonly Uint8Array[];
  /** The stored seed-share document's bytes (untrusted: checked by whoever decrypts it). */
  readonly seedShares?: Uint8Array;
  /** The stored latest record (untrusted: its signature is checked by a recovered seed). */
  readonly latestRecord?: Uint8Array;
}

function readPolicies(root: ObjectReader, key: string, issues: IssueList) {
  const policies = new Map<string, Uint8Array>();
  root.object(key, (p) => {
    for (const digest of p.keys()) {
      const path = `${key}.${digest}`;
      if (!/^[0-9a-f]{64}$/.test(digest)) {
        issues.add(path, "key must be a lower-case hex SHA-256 digest");
        p.raw(digest);
        continue;
      }
      const doc = bytesBase64(p, digest, issues);
      if (doc) policies.set(digest, doc);
    }
  });
  return policies;
}

/** Parses an `/attest` answer. @throws {InvalidDocumentError} naming every bad field */
export function parseAttestResponse(body: unknown): AttestResponse {
  const { root, issues } = reader(body, "attest response");
  const evidence = evidenceField(root, "evidence", issues);
  const hpkePublicKey = bytesHex(root, "hpkePublicKey", 32);
  const manifests = root.array("manifests", (v, path) => {
    if (typeof v !== "string") {
      issues.add(path, "expected a base64 string");
      return undefined;
    }
    try {
      return decodeBase64(v, path);
    } catch (e) {
      issues.add(path, e instanceof ParseError ? e.reason : "not base64");
      return undefined;
    }
  });
  const policies = readPolicies(root, "policies", issues);
  const rootCa = root.string("rootCa");
  const meshCa = root.string("meshCa");
  const latest = root.string("latestTransition");
  let latestTransition: Uint8Array | undefined;
  if (latest !== undefined && latest !== "") {
    try {
      latestTransition = decodeHex(latest, "latestTransition", 32);
    } catch (e) {
      issues.add("latestTransition", e instanceof ParseError ? e.reason : "bad hex");
    }
  }
  const recoveryNeeded = root.boolean("recoveryNeeded");
  const signatures = root.array("signatures", (v, path) => {
    if (typeof v !== "string" || !/^([0-9a-f]{2})*$/.test(v)) {
      issues.add(path, 'expected lower-case hex (or "" when unsigned)');
      return undefined;
    }
    return decodeHex(v, path);
  });
  if (signatures && manifests && signatures.length !== manifests.length) {
    issues.add("signatures", `expected one per manifest (${manifests.length})`);
  }
  const seedShares = root.has("seedShares") ? bytesBase64(root, "seedShares", issues) : undefined;
  const latestRecord = root.has("latestRecord") ? bytesHex(root, "latestRecord") : undefined;
  root.finish();
  issues.throwIfAny();
  return {
    evidence: evidence!,
    hpkePublicKey: hpkePublicKey!,
    manifests: manifests!,
    policies,
    rootCa: rootCa!,
    meshCa: meshCa!,
    latestTransition,
    recoveryNeeded: recoveryNeeded!,
    signatures: signatures!,
    ...(seedShares ? { seedShares } : {}),
    ...(latestRecord ? { latestRecord } : {}),
  };
}

// ---------------------------------------------------------------- POST /manifest

/** `POST /manifest` request. */
export interface ManifestRequest {
  /** The exact manifest bytes. */
  readonly manifest: Uint8Array;
  /** initdata documents; each is stored under its SHA-256 digest. */
  readonly policies: readonly Uint8Array[];
  /** The transition the update builds on (32 zero bytes for the first manifest). */
  readonly previousTransition: Uint8Array;
  /**
   * ECDSA signature (IEEE P1363) over the new transition hash by a workload owner key: of the
   * current manifest for an update, of the manifest itself for the first one.
   */
  readonly signature: Uint8Array;
}

/** JSON of a {@link ManifestRequest}. */
export interface ManifestRequestJson {
  /** base64 manifest bytes. */
  readonly manifest: string;
  /** base64 initdata documents. */
  readonly policies: readonly string[];
  /** hex previous transition hash. */
  readonly previous_transition: string;
  /** hex signature. */
  readonly signature: string;
}

/** Parses a `/manifest` request. @throws {InvalidDocumentError} naming every bad field */
export function parseManifestRequest(body: unknown): ManifestRequest {
  const { root, issues } = reader(body, "manifest");
  const manifest = bytesBase64(root, "manifest", issues);
  const policies = root.array("policies", (v, path) => {
    if (typeof v !== "string") {
      issues.add(path, "expected a base64 string");
      return undefined;
    }
    try {
      return decodeBase64(v, path);
    } catch (e) {
      issues.add(path, e instanceof ParseError ? e.reason : "not base64");
      return undefined;
    }
  });
  const previousTransition = bytesHex(root, "previous_transition", 32);
  const signature = bytesHex(root, "signature");
  root.finish();
  issues.throwIfAny();
  return {
    manifest: manifest!,
    policies: policies!,
    previousTransition: previousTransition!,
    signature: signature!,
  };
}

/** `POST /manifest` answer. */
export interface ManifestResponseJson {
  /** hex of the new latest transition. */
  readonly transition: string;
  /** PEM of the root CA. */
  readonly rootCa: string;
  /** PEM of the new mesh CA. */
  readonly meshCa: string;
  /** `seed-shares.json` document, only on the first manifest. */
  readonly seedShares?: unknown;
}

// ---------------------------------------------------------------- POST /recover

/** `POST /recover` request. */
export interface RecoverRequest {
  /** seed ‖ salt, HPKE-sealed to the Coordinator's attested HPKE key. */
  readonly sealedSeed: SealedBox;
  /** The seedshare owner's PKIX DER RSA public key. */
  readonly ownerPublicKey: Uint8Array;
  /** RSA-PSS (SHA-256, salt 32) signature over the recovery message. */
  readonly signature: Uint8Array;
  /** Recover even while ready peer replicas exist (`contrast recover --force`). */
  readonly force?: boolean;
}

/** JSON of a {@link RecoverRequest}. */
export interface RecoverRequestJson {
  /** The sealed seed. */
  readonly sealedSeed: SealedBoxJson;
  /** hex owner public key. */
  readonly ownerPublicKey: string;
  /** hex signature. */
  readonly signature: string;
  /** Recover even while ready peers exist. */
  readonly force?: boolean;
}

/** Parses a `/recover` request. @throws {InvalidDocumentError} naming every bad field */
export function parseRecoverRequest(body: unknown): RecoverRequest {
  const { root, issues } = reader(body, "recover");
  const sealedSeed = sealedField(root, "sealedSeed", issues);
  const ownerPublicKey = bytesHex(root, "ownerPublicKey");
  const signature = bytesHex(root, "signature");
  const force = root.boolean("force", false);
  root.finish();
  issues.throwIfAny();
  return {
    sealedSeed: sealedSeed!,
    ownerPublicKey: ownerPublicKey!,
    signature: signature!,
    ...(force ? { force } : {}),
  };
}

// ---------------------------------------------------------------- mesh

/**
 * `POST /mesh/challenge` answer: the single-use nonce a recovering Coordinator binds in its
 * evidence for `POST /peer/seed` (pods bind their TLS connection instead, no challenge).
 */
export interface ChallengeResponseJson {
  /** hex of the single-use 32-byte nonce. */
  readonly nonce: string;
  /** Seconds until the nonce expires. */
  readonly expiresInSeconds: number;
}

/** Parses a `/mesh/challenge` answer. @throws {InvalidDocumentError} naming every bad field */
export function parseChallengeResponse(body: unknown): { nonce: Uint8Array } {
  const { root, issues } = reader(body, "challenge");
  const nonce = bytesHex(root, "nonce", NONCE_LENGTH);
  root.integer("expiresInSeconds", { min: 0 });
  root.finish();
  issues.throwIfAny();
  return { nonce: nonce! };
}

/**
 * `POST /mesh/certificate` request. No nonce: the evidence binds the TLS connection the request
 * travels on (`meshReportData`), which the Coordinator reads from that connection.
 */
export interface MeshCertificateRequest {
  /** The initializer's evidence, report data per `meshReportData`. */
  readonly evidence: Evidence;
  /** PKIX DER of the pod's P-256 key the certificate is issued to. */
  readonly leafPublicKey: Uint8Array;
}

/** JSON of a {@link MeshCertificateRequest}. */
export interface MeshCertificateRequestJson {
  /** The evidence. */
  readonly evidence: EvidenceJson;
  /** hex PKIX DER. */
  readonly leafPublicKey: string;
}

/** Parses a `/mesh/certificate` request. @throws {InvalidDocumentError} naming every bad field */
export function parseMeshCertificateRequest(body: unknown): MeshCertificateRequest {
  const { root, issues } = reader(body, "mesh certificate");
  const evidence = evidenceField(root, "evidence", issues);
  const leafPublicKey = bytesHex(root, "leafPublicKey");
  root.finish();
  issues.throwIfAny();
  return { evidence: evidence!, leafPublicKey: leafPublicKey! };
}

/** `POST /mesh/certificate` answer. */
export interface MeshCertificateResponseJson {
  /** PEM of leaf then intermediate. */
  readonly certChain: string;
  /** PEM of the mesh CA. */
  readonly meshCa: string;
  /** PEM of the root CA. */
  readonly rootCa: string;
  /**
   * base64 of the workload secret, when the policy has one: sent only inside the TLS connection
   * the request's evidence binds.
   */
  readonly workloadSecret?: string;
}

/** A parsed `/mesh/certificate` answer. */
export interface MeshCertificateResponse {
  /** PEM of leaf then intermediate. */
  readonly certChain: string;
  /** PEM of the mesh CA. */
  readonly meshCa: string;
  /** PEM of the root CA. */
  readonly rootCa: string;
  /** The workload secret, when the policy has one (never log it). */
  readonly workloadSecret?: Uint8Array;
}

/** Parses a `/mesh/certificate` answer. @throws {InvalidDocumentError} naming every bad field */
export function parseMeshCertificateResponse(body: unknown): MeshCertificateResponse {
  const { root, issues } = reader(body, "mesh certificate response");
  const certChain = root.string("certChain");
  const meshCa = root.string("meshCa");
  const rootCa = root.string("rootCa");
  const workloadSecret = root.has("workloadSecret")
    ? bytesBase64(root, "workloadSecret", issues)
    : undefined;
  if (workloadSecret?.length === 0) issues.add("workloadSecret", "empty");
  root.finish();
  issues.throwIfAny();
  return {
    certChain: certChain!,
    meshCa: meshCa!,
    rootCa: rootCa!,
    ...(workloadSecret ? { workloadSecret } : {}),
  };
}

// ---------------------------------------------------------------- peer recovery

/** `POST /peer/seed` request: a recovering Coordinator asks an active peer for the seed. */
export interface PeerSeedRequest {
  /** The peer's challenge nonce. */
  readonly nonce: Uint8Array;
  /** The recovering Coordinator's evidence, report data per `peerReportData`. */
  readonly evidence: Evidence;
  /** The recovering Coordinator's HPKE public key. */
  readonly hpkePublicKey: Uint8Array;
}

/** Parses a `/peer/seed` request. @throws {InvalidDocumentError} naming every bad field */
export function parsePeerSeedRequest(body: unknown): PeerSeedRequest {
  const { root, issues } = reader(body, "peer seed");
  const bound = readNonceBoundFields(root, issues);
  root.finish();
  issues.throwIfAny();
  return bound();
}

/** `POST /peer/seed` answer: seed ‖ salt sealed to the requester's HPKE key (aad: nonce). */
export interface PeerSeedResponseJson {
  /** The sealed seed. */
  readonly sealedSeed: SealedBoxJson;
}

/** Parses a `/peer/seed` answer. @throws {InvalidDocumentError} naming every bad field */
export function parsePeerSeedResponse(body: unknown): { sealedSeed: SealedBox } {
  const { root, issues } = reader(body, "peer seed response");
  const sealedSeed = sealedField(root, "sealedSeed", issues);
  root.finish();
  issues.throwIfAny();
  return { sealedSeed: sealedSeed! };
}

/** HPKE `info` of a seed sent from one Coordinator to a recovering peer. */
export const PEER_SEED_HPKE_INFO = "contrast/peer-seed/v1";

/** HPKE `info` of recovery seeds. */
export const RECOVERY_HPKE_INFO = "contrast/recover-seed/v1";
/** Domain label of the seedshare owner's recovery signature. */
export const RECOVERY_SIGNATURE_LABEL = "contrast/recover/v1";

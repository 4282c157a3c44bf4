/**
 * The client side of attested TLS to a Coordinator, used by `contrast set|verify|recover` (with
 * the local manifest) and by the Initializer (with the one-policy manifest of its trust document,
 * see `coordinator_trust.ts`).
 *
 * `attest` sends a fresh nonce over a connection whose server key it learns and pins, then
 * checks, before trusting anything in the answer:
 * 1. the evidence verifies against the *local* manifest's reference values (signatures, vendor
 *    chain, TCB, …) and its report data is exactly the binding of our nonce, the TLS key we
 *    actually talked to, the HPKE key, the latest transition and the CA PEMs in the answer;
 * 2. the evidence's launch-configuration digest is the local manifest's `coordinator` policy;
 * 3. the manifest history in the answer hashes to the bound latest transition, and every
 *    policy document to its digest;
 * 4. every manifest of that history is signed by a workload owner (the first by a key it lists,
 *    each later one by a key of its predecessor), and, when the caller pins owner keys (a pod's
 *    trust document), some transition is signed by a pinned key (`protocol/owner_chain.ts`).
 * Later requests go only to the same key (pinned), so what was attested is what we talk to.
 * An answer or evidence that does not parse is a verification failure, not malformed local input
 * (`untrusted_answer.ts`).
 *
 * @module
 */
import { constantTimeEqual, encodeBase64, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { InvalidDocumentError, ValidationError, VerificationError } from "../util/errors/mod.ts";
import { IssueList, ObjectReader } from "../util/json/mod.ts";
import { parseSeedShares, type SeedShareDocument } from "../seed/seed_shares.ts";
import type { AttestationClaims } from "../evidence/types.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../manifest/hash.ts";
import { coordinatorPolicyDigests, type Manifest, parseManifest } from "../manifest/manifest.ts";
import { verifyOwnerChain } from "../protocol/owner_chain.ts";
import type { ManifestEvidenceVerifier } from "../manifest/verifiers.ts";
import { type WorkloadOwners, workloadOwnersOf } from "../manifest/workload_owners.ts";
import {
  ApiPath,
  type AttestRequestJson,
  type AttestResponse,
  type ManifestRequestJson,
  parseAttestResponse,
  type RecoverRequestJson,
} from "../protocol/messages.ts";
import { certificateSpki } from "./certificate.ts";
import { CoordinatorBadRequestError } from "./coordinator_answers.ts";
import { PinnedHttpsClient } from "./pinned_client.ts";
import { parseEvidenceStructure, readUntrusted } from "./untrusted_answer.ts";
import { coordinatorReportData, NONCE_LENGTH } from "../protocol/report_data.ts";

/** The outcome of attesting a Coordinator. */
export interface AttestedCoordinator {
  /** The client pinned to the attested TLS key: use it for every further request. */
  readonly client: PinnedHttpsClient;
  /** The verified answer. */
  readonly state: AttestResponse;
  /** The verified claims of the Coordinator's evidence. */
  readonly claims: AttestationClaims;
}

/** Options of {@link attestCoordinator}. */
interface AttestOptions {
  /** The time the evidence is checked at (default now). */
  readonly now?: Date;
  /** Time limit of each network operation in milliseconds. */
  readonly timeoutMs?: number;
  /** Local address to connect from (default: the system's choice). */
  readonly localAddress?: string;
  /**
   * Ask for the answer without the policy documents (`AttestRequest.withoutPolicies`; `state.policies`
   * is then empty): for callers that never read them (the Initializer). A Coordinator that does
   * not know the field refuses it (400 naming it); the request is then sent again without it.
   */
  readonly withoutPolicies?: boolean;
  /**
   * The workload owners whose signature some transition of the history must carry: a pod's
   * pinned keys, or the CLI's local manifest owners (so the owner never signs on top of, or
   * accepts, a history someone else wrote). Absent: any owner-signed chain is accepted.
   */
  readonly pinnedOwnerKeys?: readonly string[] | WorkloadOwners;
  /** Who pins {@link pinnedOwnerKeys}, for the error message (default: a pod). */
  readonly pinnedBy?: string;
}

/**
 * Attests the Coordinator at `address` against `manifest` (the local manifest: its reference
 * values and its coordinator policy).
 *
 * @throws {VerificationError | ValidationError} when any check fails (see module documentation)
 */
export async function attestCoordinator(
  address: string,
  manifest: Manifest,
  verify: ManifestEvidenceVerifier,
  options: AttestOptions = {},
): Promise<AttestedCoordinator> {
  const client = new PinnedHttpsClient(address, {
    timeoutMs: options.timeoutMs,
    localAddress: options.localAddress,
  });
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const state = await readUntrusted(async () => {
    const answer = await requestAttest(client, nonce, options.withoutPolicies === true);
    const parsed = parseAttestResponse(answer);
    parseEvidenceStructure(parsed.evidence);
    return parsed;
  });
  const certificate = client.serverCertificate;
  if (!certificate) throw new VerificationError("coordinator.tls", "no server certificate seen");
  const reportData = await coordinatorReportData({
    nonce,
    tlsSpki: certificateSpki(certificate),
    hpkePublicKey: state.hpkePublicKey,
    latestTransition: state.latestTransition,
    caPems: state.rootCa === "" ? [] : [state.rootCa, state.meshCa],
  });
  const { claims, policy: matched } = await verify(manifest, state.evidence, {
    reportData,
    now: options.now ?? new Date(),
  });
  if (!constantTimeEqual(claims.reportData, reportData)) {
    throw new VerificationError(
      "evidence.reportData",
      "does not bind our nonce, the TLS key we talked to and the reported state",
    );
  }
  if (matched.entry.Role !== "coordinator") {
    throw new ValidationError(
      "hostData",
      "the Coordinator does not run a coordinator policy of the manifest",
      { expected: coordinatorPolicyDigests(manifest).join(" or "), actual: matched.digest },
    );
  }
  await checkHistory(state);
  await readUntrusted(() => checkOwnerChain(state, options.pinnedOwnerKeys, options.pinnedBy));
  return { client, state, claims };
}

/**
 * `POST /attest` with `nonce`, without the policy documents when `withoutPolicies`, falling back
 * to the full answer when the Coordinator refuses that field (one that predates it).
 */
async function requestAttest(
  client: PinnedHttpsClient,
  nonce: Uint8Array,
  withoutPolicies: boolean,
): Promise<unknown> {
  const body: AttestRequestJson = { nonce: encodeHex(nonce) };
  if (!withoutPolicies) return await client.request("POST", ApiPath.attest, body);
  try {
    return await client.request("POST", ApiPath.attest, { ...body, withoutPolicies: true });
  } catch (error) {
    if (!(error instanceof CoordinatorBadRequestError && error.field === "withoutPolicies")) {
      throw error;
    }
    return await client.request("POST", ApiPath.attest, body);
  }
}

/** Checks that the manifests hash to the latest transition and the policies to their digests. */
async function checkHistory(state: AttestResponse): Promise<void> {
  if (state.manifests.length === 0) {
    if (state.latestTransition && !state.recoveryNeeded) {
      throw new VerificationError("manifests", "a latest transition but no manifests");
    }
    return;
  }
  let transition = GENESIS_TRANSITION;
  for (const bytes of state.manifests) {
    transition = await transitionHash(await manifestHash(bytes), transition);
  }
  if (!state.latestTransition || !constantTimeEqual(transition, state.latestTransition)) {
    throw new VerificationError(
      "manifests",
      "the manifest history does not hash to the attested latest transition",
    );
  }
  for (const [digest, doc] of state.policies) {
    if (encodeHex(await sha256(doc)) !== digest) {
      throw new VerificationError(`policies.${digest}`, "document does not hash to its digest");
    }
  }
}

/**
 * Checks that the attested history is a chain of owner-signed manifests and, with `pinned`, that
 * an owner key the caller pins signed it. A Coordinator without a manifest (or in recovery) has
 * no history to check; callers that need one refuse it on their own.
 */
async function checkOwnerChain(
  state: AttestResponse,
  pinned: readonly string[] | WorkloadOwners | undefined,
  pinnedBy: string | undefined,
): Promise<void> {
  if (state.manifests.length === 0) return;
  await verifyOwnerChain(
    state.manifests.map((bytes, i) => ({ bytes, signature: state.signatures[i] })),
    (bytes) => workloadOwnersOf(parseManifest(bytes)),
    pinned,
    pinnedBy,
  );
}

/** The Coordinator's answer to a manifest update, parsed. */
interface ManifestAnswer {
  /** hex of the new latest transition (32 bytes). */
  readonly transition: string;
  /** PEM of the root CA. */
  readonly rootCa: string;
  /** PEM of the new mesh CA. */
  readonly meshCa: string;
  /** The seed-share document, only on the first manifest. */
  readonly seedShares?: SeedShareDocument;
}

/**
 * Parses the answer to `POST /manifest` strictly: `transition` 32 bytes of hex, both CA PEMs
 * present, `seedShares` (when there) a seed-share document as `parseSeedShares` reads one, so
 * what `set` writes into `seed-shares.json` is a document `recover` can read.
 *
 * @throws {ParseError | InvalidDocumentError} naming the field that does not parse
 */
function parseManifestAnswer(answer: unknown): ManifestAnswer {
  const issues = new IssueList();
  const root = new ObjectReader(answer ?? null, "", issues);
  if (!root.ok) issues.throwIfAny();
  const transition = root.hex("transition", 32);
  const rootCa = root.string("rootCa");
  const meshCa = root.string("meshCa");
  for (const [field, pem] of [["rootCa", rootCa], ["meshCa", meshCa]] as const) {
    if (pem !== undefined && !pem.includes("-----BEGIN CERTIFICATE-----")) {
      issues.add(field, "expected a PEM certificate");
    }
  }
  const rawShares = root.raw("seedShares", false);
  root.finish();
  issues.throwIfAny();
  let seedShares: SeedShareDocument | undefined;
  if (rawShares !== undefined) {
    try {
      seedShares = parseSeedShares(new TextEncoder().encode(JSON.stringify(rawShares)));
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      const issues = error.issues.map((i) => ({
        ...i,
        path: i.path ? `seedShares.${i.path}` : "seedShares",
      }));
      throw new InvalidDocumentError(issues, { cause: error });
    }
  }
  return {
    transition: transition!,
    rootCa: rootCa!,
    meshCa: meshCa!,
    ...(seedShares ? { seedShares } : {}),
  };
}

/**
 * Sends a manifest update over the pinned connection.
 *
 * @throws {VerificationError} naming `coordinator.<field>` when the answer does not parse
 *   (`coordinator.response` when it is not JSON)
 */
export async function sendManifest(
  client: PinnedHttpsClient,
  request: {
    manifest: Uint8Array;
    policies: readonly Uint8Array[];
    previousTransition: Uint8Array;
    signature: Uint8Array;
  },
): Promise<ManifestAnswer> {
  const body: ManifestRequestJson = {
    manifest: encodeBase64(request.manifest),
    policies: request.policies.map(encodeBase64),
    previous_transition: encodeHex(request.previousTransition),
    signature: encodeHex(request.signature),
  };
  // An answer that is not JSON, or not the answer's shape, is the sender's fault (exit 1), not
  // malformed local input; a 400 stays the Coordinator refusing our request.
  return await readUntrusted(async () =>
    parseManifestAnswer(await client.request("POST", ApiPath.manifest, body))
  );
}

/**
 * Sends a recovery over the pinned connection.
 *
 * @throws {VerificationError} naming `coordinator.response` when the answer is not JSON
 */
export async function sendRecover(
  client: PinnedHttpsClient,
  body: RecoverRequestJson,
): Promise<void> {
  await readUntrusted(() => client.request("POST", ApiPath.recover, body));
}

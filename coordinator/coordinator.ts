/**
 * The Coordinator's state machine and API operations.
 *
 * Phases:
 * - `awaiting-manifest`: empty history. `POST /manifest` sets the first manifest if it is signed
 *   by a workload owner key it lists, and creates the seed; the seed-share document is stored with
 *   the first transition before latest moves, so a crash before the answer loses nothing. Pods
 *   accept the history only if an owner key their trust document pins signed it (see
 *   `protocol/owner_chain.ts`). A store that holds a longer history but no latest record (the
 *   infrastructure deleted it) is refused at start: the Coordinator does not start fresh over it.
 * - `recovery`: the history has a latest transition but this process has no seed (a restart).
 *   Only `POST /attest` and `POST /recover` are served; recovery must restore a seed whose
 *   derived history key verifies the stored latest record, so the same root CA comes back.
 * - `active`: manifest, seed and CA known. Updates need a workload owner's signature over the
 *   new transition and the previous transition to be the latest (atomic, 409 otherwise);
 *   initializers get mesh certificates after their evidence verifies against the current
 *   manifest and carries one of its policies.
 *
 * State changes are serialised in-process and by compare-and-swap in the history store across
 * processes; readers take an immutable snapshot, so `/attest` always reports one consistent
 * state, bound into its evidence.
 *
 * Replicas: several Coordinators may share one history (Kubernetes ConfigMaps, or one folder).
 * Before answering anything that depends on the state (attestation, certificates, workload
 * secrets, the seed for a peer, an update) a replica re-reads the stored latest record; when it
 * names a transition this replica does not serve, the replica loads and verifies the new state
 * (signed latest, whole chain, which must contain the transition served so far) before it
 * answers, and refuses to answer while that fails. A backend with a watch makes it reload at once.
 * The mesh CA of a transition is derived from the seed and the transition, so every replica, and
 * every restarted or recovered Coordinator, issues under the same mesh CA.
 *
 * @module
 */
import { EncodedJson } from "./http/encoded_json.ts";
import {
  concatBytes,
  constantTimeEqual,
  encodeBase64,
  encodeHex,
  sha256,
} from "../util/bytes/mod.ts";
import { digestNative } from "../util/bytes/digest_native.ts";
import {
  ContrastError,
  ParseError,
  UnavailableError,
  ValidationError,
} from "../util/errors/mod.ts";
import { HistoryCorruptionError } from "./history/errors.ts";
import { FreshRead } from "./history/fresh_read.ts";
import {
  GENESIS_TRANSITION,
  historyContains,
  manifestHash,
  transitionHash,
} from "../manifest/hash.ts";
import type { Manifest } from "../manifest/manifest.ts";
import type { ManifestEvidenceVerifier, ManifestVerification } from "../manifest/verifiers.ts";
import type { Evidence } from "../evidence/types.ts";
import { parseInitdata } from "../policy/initdata.ts";
import { SeedEngine } from "../seed/seed_engine.ts";
import { createSeedShares, encodeSeedShares } from "../seed/seed_shares.ts";
import { CertificateAuthority, type IssuedLeaf } from "./ca/certificate_authority.ts";
import { MeshAnswerJson } from "./mesh_answer.ts";
import type { HistoryBackend, LatestRecord, LatestWatch } from "./history/backend.ts";
import { loadActiveState, repairSeedShares } from "./active_state.ts";
import { LATEST_RECORD_LENGTH } from "./history/history_store.ts";
import { HistoryResetError } from "./history/errors.ts";
import { ManifestHistory, MAX_CHAIN_LENGTH } from "./history/manifest_history.ts";
import {
  createAttestedTlsIdentity,
  generateTlsKeyPair,
  type TlsIdentity,
} from "../atls/certificate.ts";
import { evidenceToJson } from "../protocol/evidence_json.ts";
import { HpkeRecipient, sealedBoxToJson, sealTo } from "../protocol/hpke.ts";
import {
  coordinatorReportData,
  meshReportData,
  NONCE_LENGTH,
  peerReportData,
} from "../protocol/report_data.ts";
import { attestCoordinator } from "../atls/coordinator_client.ts";
import {
  ApiPath,
  type AttestRequest,
  type AttestResponseJson,
  type ChallengeResponseJson,
  type ManifestRequest,
  type ManifestResponseJson,
  type MeshCertificateRequest,
  type MeshCertificateResponseJson,
  parseChallengeResponse,
  parsePeerSeedResponse,
  PEER_SEED_HPKE_INFO,
  type PeerSeedRequest,
  type PeerSeedResponseJson,
  type RecoverRequest,
  RECOVERY_HPKE_INFO,
} from "../protocol/messages.ts";
import {
  authenticateManifestUpdate,
  recoveryMessage,
  verifyRecoverySignature,
} from "../protocol/signatures.ts";
import type { EvidenceSource } from "../evidence/evidence_source.ts";
import { ConflictError, ForbiddenError, PreconditionFailedError } from "../protocol/errors.ts";
import type { CoordinatorMetrics } from "./http/metrics.ts";
import type { Logger } from "../util/log/logger.ts";
import { NonceStore } from "./nonce_store.ts";
import { VendorLookupBudget } from "../collateral/lookup_budget.ts";
import { checkAdmission } from "../manifest/admission.ts";
import { verifyOwnerChain } from "../protocol/owner_chain.ts";
import { workloadOwnersOf } from "../manifest/workload_owners.ts";
import { launchPolicyDigest } from "./launch_digest.ts";
import type { TransitView } from "./transit/view.ts";

/** Parses manifest bytes with the platform reference-value readers. */
export type ManifestParser = (bytes: Uint8Array) => Manifest;

/** Phase of a Coordinator. */
export type CoordinatorPhase = "awaiting-manifest" | "recovery" | "active";

/** Everything a Coordinator needs, passed in (no globals). */
export interface CoordinatorOptions {
  /** Evidence about this Coordinator. */
  readonly evidenceSource: EvidenceSource;
  /** Where the manifest history lives. */
  readonly historyBackend: HistoryBackend;
  /** Manifest parsing. */
  readonly parseManifest: ManifestParser;
  /** Evidence verification against a manifest (claims and the policy they run). */
  readonly verifyEvidence: ManifestEvidenceVerifier;
  /** Logs. */
  readonly logger: Logger;
  /** Metrics. */
  readonly metrics: CoordinatorMetrics;
  /** Challenge nonces of peer Coordinators asking for the seed (`POST /peer/seed`). */
  readonly nonces?: NonceStore;
  /**
   * Per-client budget of uncached vendor lookups the evidence of mesh requests may cause (the
   * client is the request's source address); default {@link VendorLookupBudget}'s defaults.
   */
  readonly vendorLookupBudget?: VendorLookupBudget;
  /** The clock. */
  readonly now?: () => Date;
  /**
   * Validity of the mesh certificates it issues, ms (default one year). Set only through the
   * test-only knob of `ca/test_only_validity.ts`, which refuses it outside the simulated TEE.
   */
  readonly meshCertificateValidityMs?: number;
  /**
   * Mesh addresses of other ready replicas (peer discovery). While there are any, user recovery
   * (`POST /recover`) is refused unless forced: the peers recover this replica themselves.
   */
  readonly readyPeers?: () => Promise<readonly string[]>;
  /**
   * How long a read of the stored latest may take before this replica counts the storage as
   * unavailable (default 5000 ms): an API server whose etcd is down may hang rather than fail.
   */
  readonly storageTimeoutMs?: number;
}

interface ActiveState {
  readonly phase: "active";
  readonly engine: SeedEngine;
  readonly ca: CertificateAuthority;
  readonly history: ManifestHistory;
  readonly manifest: Manifest;
  readonly transition: Uint8Array;
  readonly manifests: readonly Uint8Array[];
  /** The owner signature of each manifest's transition (empty where none is stored). */
  readonly signatures: readonly Uint8Array[];
  readonly policies: ReadonlyMap<string, Uint8Array>;
  /**
   * The latest record of {@link transition} as this process signed or verified it (served for
   * backups; the store's current bytes are not checked when they name the served transition).
   */
  readonly latestRecord: Uint8Array;
  /**
   * The seed-share document this process serves: made from its own seed (the stored one is never
   * served while active, see `active_state.ts`), absent without seedshare owners.
   */
  readonly seedShares?: Uint8Array;
}

interface RecoveryState {
  readonly phase: "recovery";
  /** The transition the stored latest record names (unverified until a seed verifies it). */
  readonly claimedTransition: Uint8Array;
  /** The stored seed-share document of the claimed history (unverified; for the owner). */
  readonly seedShares?: Uint8Array;
  /**
   * The manifests of the claimed history, oldest first, with their stored owner signatures
   * (content addresses checked, nothing else; empty when the store does not hold the whole
   * chain). Served by `/attest` so that the seedshare owner can check, before sealing the seed,
   * that the history hashes to the attested transition and contains the manifest they last set:
   * a store rolled back to an older latest record is refused there.
   */
  readonly claimedManifests: readonly Uint8Array[];
  /** The owner signature of each claimed manifest (empty where none is stored). */
  readonly claimedSignatures: readonly Uint8Array[];
}

type State = { readonly phase: "awaiting-manifest" } | RecoveryState | ActiveState;

/** The state-derived fields of an `/attest` answer, and their JSON members serialised. */
interface AttestStateFields {
  /** The fields. */
  readonly fields: Omit<AttestResponseJson, "evidence" | "hpkePublicKey">;
  /** UTF-8 of their members as JSON, without the opening brace, with the closing one. */
  readonly json: Uint8Array;
}

const UTF8 = new TextEncoder();

/** The error of a read of the stored latest that did not answer in `timeoutMs`. */
function storageTimeout(timeoutMs: number): UnavailableError {
  return new UnavailableError("transitions/latest", `storage did not answer in ${timeoutMs} ms`);
}

/** {@link AttestStateFields} of `fields`. */
function attestStateFields(
  fields: Omit<AttestResponseJson, "evidence" | "hpkePublicKey">,
): AttestStateFields {
  return { fields, json: UTF8.encode(JSON.stringify(fields).slice(1)) };
}

const SEED_AND_SALT_LENGTH = 64 + 32;

/** What a restored seed's history must show (see `Coordinator.#restore`). */
interface RestoreBinding {
  /** The transition the restored history must end at. */
  readonly expectTransition: Uint8Array;
  /** A transition the restored history must contain (the seed-giving peer's latest). */
  readonly peerTransition?: Uint8Array;
}

/** One Coordinator process: its attested identity and its state. */
export class Coordinator {
  /** The TLS identity of this process (fresh key, evidence in the certificate). */
  readonly tls: TlsIdentity;
  /** The HPKE key seed shares are sealed to. */
  readonly #hpke: HpkeRecipient;
  readonly #options: CoordinatorOptions;
  readonly #nonces: NonceStore;
  readonly #lookupBudget: VendorLookupBudget;
  readonly #now: () => Date;
  /** The policy digest this process's evidence carries (what it runs). */
  readonly #ownPolicy: string | undefined;
  #state: State;
  #queue: Promise<unknown> = Promise.resolve();
  /** Whether the last check of the stored latest succeeded (storage reachable, state loadable). */
  #healthy = true;
  /** The latest record as last read from the store (served for backups; untrusted). */
  #lastRecord?: LatestRecord;
  /**
   * The state-derived fields of `/attest` answers for the active state they were built from, with
   * and without the policy documents.
   */
  #attestCache?: {
    readonly state: ActiveState;
    full?: AttestStateFields;
    withoutPolicies?: AttestStateFields;
  };
  #watch?: LatestWatch;
  readonly #activationListeners = new Set<() => void>();
  readonly #transitViews = new WeakMap<ActiveState, TransitView>();
  /** The serialiser of mesh certificate answers of each CA (`mesh_answer.ts`). */
  readonly #meshAnswers = new WeakMap<CertificateAuthority, MeshAnswerJson>();
  /** Reads of the stored latest, coalesced (each caller is served a read started after it asked). */
  readonly #latest: FreshRead<LatestRecord | undefined>;

  private constructor(
    tls: TlsIdentity,
    hpke: HpkeRecipient,
    options: CoordinatorOptions,
    state: State,
    ownPolicy: string | undefined,
  ) {
    this.#ownPolicy = ownPolicy;
    this.tls = tls;
    this.#hpke = hpke;
    this.#options = options;
    this.#nonces = options.nonces ?? new NonceStore();
    this.#lookupBudget = options.vendorLookupBudget ?? new VendorLookupBudget();
    this.#now = options.now ?? (() => new Date());
    this.#state = state;
    const timeoutMs = options.storageTimeoutMs ?? 5000;
    this.#latest = new FreshRead(() => options.historyBackend.readLatest(), {
      timeoutMs,
      timeoutError: () => storageTimeout(timeoutMs),
    });
  }

  /**
   * Starts a Coordinator: fresh TLS and HPKE keys, evidence for the TLS certificate, and the
   * phase read from the history (a latest record without a seed means recovery).
   */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const keys = await generateTlsKeyPair();
    const hpke = await HpkeRecipient.generate();
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
    const latest = await options.historyBackend.readLatest();
    let state: State;
    if (latest === undefined) {
      await refuseLostLatest(options.historyBackend);
      state = { phase: "awaiting-manifest" };
    } else {
      state = await recoveryState(options.historyBackend, latestTransitionOf(latest.bytes));
    }
    const reportData = await coordinatorReportData({
      nonce: new Uint8Array(NONCE_LENGTH),
      tlsSpki: spki,
      hpkePublicKey: hpke.publicKey,
      latestTransition: state.phase === "recovery" ? state.claimedTransition : undefined,
      caPems: [],
    });
    const evidence = await options.evidenceSource.getEvidence(reportData);
    const tls = await createAttestedTlsIdentity(keys, evidence);
    options.logger.info("coordinator started", {
      phase: state.phase,
      evidence: options.evidenceSource.description,
    });
    options.metrics.manifestGeneration.set(0);
    const coordinator = new Coordinator(tls, hpke, options, state, launchPolicyDigest(evidence));
    coordinator.#watch = options.historyBackend.watchLatest?.(() => {
      coordinator.refresh().catch(() => {});
    });
    return coordinator;
  }

  /** Stops watching the history. */
  async close(): Promise<void> {
    await this.#watch?.stop();
  }

  /**
   * Re-checks the stored latest now (the watch and a periodic timer call this): reloads a state
   * another replica made; a failure marks this replica not ready until a check succeeds.
   */
  async refresh(): Promise<void> {
    await this.#fresh();
  }

  /**
   * The current state, brought up to the stored latest first. Outside {@link #exclusive}.
   *
   * @throws {UnavailableError} when the storage cannot be read, {@link HistoryCorruptionError}
   *   when a new latest does not verify: the caller answers with an error, never old state
   */
  async #fresh(): Promise<State> {
    const state = this.#state;
    const record = await this.#readLatestRecord();
    if (this.#current(state, record)) return state;
    return await this.#exclusive(() => this.#freshLocked());
  }

  /** Like {@link #fresh}, inside {@link #exclusive}. */
  async #freshLocked(): Promise<State> {
    const state = this.#state;
    const record = await this.#readLatestRecord();
    if (this.#current(state, record)) return state;
    try {
      if (state.phase !== "active") {
        // Another replica set the first manifest, or moved latest while this one waits for
        // its seed: wait for the seed (from a peer or the owners) at the new latest.
        if (record === undefined) {
          throw new HistoryCorruptionError("transitions/latest", "disappeared from the store");
        }
        this.#state = await recoveryState(
          this.#options.historyBackend,
          latestTransitionOf(record.bytes),
        );
        this.#options.logger.info("history set elsewhere: recovery needed", {
          transition: encodeHex(this.#state.claimedTransition),
        });
        return this.#state;
      }
      if (record === undefined) {
        throw new HistoryCorruptionError("transitions/latest", "disappeared from the store");
      }
      const loaded = await loadActiveState(
        state.engine,
        this.#options.historyBackend,
        this.#options.parseManifest,
        { mustContain: state.transition, servedSeedShares: state.seedShares },
      );
      if (!this.#runsCoordinatorPolicyOf(loaded.manifest)) {
        // The owner retired the policy this process runs (say, a vulnerable Coordinator version,
        // kept running by the host): it drops the seed and waits in recovery, where only a peer or
        // the owners could give the seed back, and both refuse a policy the manifest does not
        // list.
        this.#state = await recoveryState(this.#options.historyBackend, loaded.transition);
        this.#healthy = true;
        this.#options.logger.warn(
          "the active manifest no longer lists this Coordinator's policy as a coordinator " +
            "policy: seed dropped, not serving",
          { policy: this.#ownPolicy, transition: encodeHex(loaded.transition) },
        );
        return this.#state;
      }
      this.#activate({ phase: "active", engine: state.engine, ...loaded }, "reloaded", {
        from: encodeHex(state.transition),
      });
      this.#healthy = true;
      return this.#state;
    } catch (error) {
      this.#healthy = false;
      this.#options.logger.warn("stored latest does not load: refusing to serve", {
        reason: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  /**
   * Reads the stored latest (a read that starts after this call, shared with the callers that
   * asked at about the same time: see {@link FreshRead}); an unreachable store, or no answer
   * within the storage timeout of this call, marks this replica not ready.
   */
  async #readLatestRecord(): Promise<LatestRecord | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = this.#options.storageTimeoutMs ?? 5000;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(storageTimeout(timeoutMs)), timeoutMs);
      });
      const record = await Promise.race([this.#latest.read(), timeout]);
      this.#lastRecord = record;
      return record;
    } catch (error) {
      if (this.#healthy) {
        this.#options.logger.warn("history unreachable: not ready", {
          reason: error instanceof Error ? error.message : String(error),
        });
      }
      this.#healthy = false;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether `state` is what `record` names: the empty history for awaiting-manifest, the
   * claimed transition in recovery, the served transition when active. A record naming the
   * served transition needs no signature check: nothing new would be believed from it.
   */
  #current(state: State, record: LatestRecord | undefined): boolean {
    let current: boolean;
    if (state.phase === "awaiting-manifest") current = record === undefined;
    else if (record === undefined || record.bytes.length < 32) current = false;
    else {
      const named = record.bytes.subarray(0, 32);
      current = constantTimeEqual(
        named,
        state.phase === "active" ? state.transition : state.claimedTransition,
      );
    }
    if (current) this.#healthy = true;
    return current;
  }

  /** The current phase. */
  get phase(): CoordinatorPhase {
    return this.#state.phase;
  }

  /** Runs state changes one at a time. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** `POST /attest`: evidence bound to the caller's nonce, this TLS key and the state. */
  async attest(request: AttestRequest): Promise<AttestResponseJson> {
    const { evidence, stateFields } = await this.#attestParts(request);
    return {
      evidence: evidenceToJson(evidence),
      hpkePublicKey: encodeHex(this.#hpke.publicKey),
      ...stateFields.fields,
    };
  }

  /**
   * `POST /attest` as the API serves it: the same answer as {@link attest}, serialised, with the
   * part that depends only on the active state (manifests, policy documents, signatures, seed
   * shares, latest record: hundreds of KB with a deployment's policies) serialised once per
   * state instead of once per request. Every initializer sends this request before its mesh
   * certificate request.
   */
  async attestJson(request: AttestRequest, signal?: AbortSignal): Promise<EncodedJson> {
    const { evidence, stateFields } = await this.#attestParts(request, signal);
    const head = UTF8.encode(
      `{"evidence":${JSON.stringify(evidenceToJson(evidence))},"hpkePublicKey":"${
        encodeHex(this.#hpke.publicKey)
      }",`,
    );
    return new EncodedJson(concatBytes(head, stateFields.json));
  }

  /**
   * The evidence of an `/attest` answer and the answer's state-derived fields; stops (throwing
   * `signal`'s reason) before the evidence is made once `signal` is aborted (nobody reads it).
   */
  async #attestParts(
    request: AttestRequest,
    signal?: AbortSignal,
  ): Promise<{ evidence: Evidence; stateFields: AttestStateFields }> {
    const state = await this.#fresh();
    signal?.throwIfAborted();
    const active = state.phase === "active" ? state : undefined;
    const latest = active?.transition ??
      (state.phase === "recovery" ? state.claimedTransition : undefined);
    const caPems = active ? [active.ca.rootPem, active.ca.meshCaPem] : [];
    const reportData = await coordinatorReportData({
      nonce: request.nonce,
      tlsSpki: this.tls.spki,
      hpkePublicKey: this.#hpke.publicKey,
      latestTransition: latest,
      caPems,
    });
    signal?.throwIfAborted();
    const evidence = await this.#options.evidenceSource.getEvidence(reportData);
    // Encoded once per active state (an object replaced on every change, never mutated); in the
    // other phases, where the latest record read may change under the same state, per request.
    const variant = request.withoutPolicies ? "withoutPolicies" : "full";
    if (active && this.#attestCache?.state !== active) this.#attestCache = { state: active };
    const cache = active ? this.#attestCache : undefined;
    let stateFields = cache?.[variant];
    if (stateFields === undefined) {
      stateFields = attestStateFields(
        this.#attestFields(state, latest, caPems, request.withoutPolicies === true),
      );
      if (cache) cache[variant] = stateFields;
    }
    return { evidence, stateFields };
  }

  /** The fields of an `/attest` answer that `state` determines (all but evidence and HPKE key). */
  #attestFields(
    state: State,
    latest: Uint8Array | undefined,
    caPems: readonly string[],
    withoutPolicies: boolean,
  ): Omit<AttestResponseJson, "evidence" | "hpkePublicKey"> {
    const active = state.phase === "active" ? state : undefined;
    const recovery = state.phase === "recovery" ? state : undefined;
    const policies: Record<string, string> = {};
    if (!withoutPolicies) {
      for (const [digest, doc] of active?.policies ?? []) policies[digest] = encodeBase64(doc);
    }
    const seedShares = active?.seedShares ??
      (state.phase === "recovery" ? state.seedShares : undefined);
    // Active: the record this process signed or verified (the store's current bytes naming the
    // served transition are not checked, and a backup keeping a forged signature could never be
    // restored). In recovery nothing can be checked yet: the stored record, as read.
    const record = this.#lastRecord?.bytes;
    const latestRecord = active?.latestRecord ??
      (latest && record?.length === LATEST_RECORD_LENGTH &&
          constantTimeEqual(record.subarray(0, 32), latest)
        ? record
        : undefined);
    return {
      manifests: (active?.manifests ?? recovery?.claimedManifests ?? []).map(encodeBase64),
      policies,
      rootCa: caPems[0] ?? "",
      meshCa: caPems[1] ?? "",
      latestTransition: latest ? encodeHex(latest) : "",
      recoveryNeeded: state.phase === "recovery",
      signatures: (active?.signatures ?? recovery?.claimedSignatures ?? []).map(encodeHex),
      ...(seedShares ? { seedShares: encodeBase64(seedShares) } : {}),
      ...(latestRecord ? { latestRecord: encodeHex(latestRecord) } : {}),
    };
  }

  /** `POST /manifest`: sets or updates the manifest. */
  async setManifest(request: ManifestRequest): Promise<ManifestResponseJson> {
    // State changes run one at a time; a request that is not an owner's must not hold a place in
    // that queue (a stranger's flood grew it without bound, every entry waiting with its body and
    // a storage read, and starved the owner's update and this replica's reloads behind it). So it
    // is authenticated against the current state first, and again in its turn.
    await this.#authenticateBeforeQueue(request);
    return await this.#exclusive(() => this.#setManifest(request));
  }

  /**
   * The checks of {@link #setManifest} that need no lock, against the current state: recovery
   * refused, the previous transition the latest, and the owner's signature (for a first
   * manifest, by a key it lists itself).
   */
  async #authenticateBeforeQueue(request: ManifestRequest): Promise<void> {
    const state = await this.#fresh();
    const { next } = await updateOnto(state, request);
    const owners = state.phase === "active"
      ? workloadOwnersOf(state.manifest)
      : workloadOwnersOf(this.#options.parseManifest(request.manifest));
    await authenticateManifestUpdate(owners, next, request.signature);
  }

  async #setManifest(request: ManifestRequest): Promise<ManifestResponseJson> {
    const state = await this.#freshLocked();
    // The signature is over the transition hash of the raw bytes: an update is authenticated
    // against the current manifest's owner keys before its bytes are parsed.
    const { current, next } = await updateOnto(state, request);
    if (state.phase === "active") {
      await authenticateManifestUpdate(
        workloadOwnersOf(state.manifest),
        next,
        request.signature,
      );
    }
    const manifest = this.#options.parseManifest(request.manifest);
    if (state.phase !== "active") {
      // The first manifest is signed by a key it lists itself; pods check that key is theirs.
      await authenticateManifestUpdate(workloadOwnersOf(manifest), next, request.signature);
    }
    checkAdmission(manifest, {
      update: state.phase === "active",
      runningCoordinatorPolicy: this.#ownPolicy,
      ...(state.phase === "active"
        ? {
          seedShareKeys: this.#options.parseManifest(state.manifests[0]!).SeedshareOwnerPubKeys,
        }
        : {}),
    });
    const policies = await requirePolicies(manifest, request.policies);
    const engine = state.phase === "active" ? state.engine : SeedEngine.create();
    const historyKey = await engine.historySigningKey();
    const history = state.phase === "active"
      ? state.history
      : ManifestHistory.open(this.#options.historyBackend, historyKey.publicKey);
    const seedShares = state.phase === "active"
      ? undefined
      : await createSeedShares(engine, manifest.SeedshareOwnerPubKeys);
    const seedSharesBytes = seedShares && new TextEncoder().encode(encodeSeedShares(seedShares));
    const entry = await history.append(
      {
        manifestBytes: request.manifest,
        policies: [...policies.values()],
        expectedPrevious: current,
        ownerSignature: request.signature,
        ...(seedSharesBytes ? { seedShares: () => Promise.resolve(seedSharesBytes) } : {}),
      },
      historyKey.privateKey,
    );
    if (seedSharesBytes) {
      // A replica that lost a concurrent first set may have stored its own seed's shares under
      // the same transition after this one stored them: the winner stores them again. Latest has
      // moved, so a failure here must not fail the set: this process would drop the seed that now
      // signs the history, and the owner, without the answer's shares and root CA, could recover
      // only by trusting the stored document (the one write after the swap; loading the history
      // with the seed repairs it later).
      await this.#options.historyBackend.putObject(
        "seedshares",
        encodeHex(entry.transitionHash),
        seedSharesBytes,
      ).catch((error: unknown) => {
        this.#options.logger.warn("could not store the seed shares again after the first set", {
          reason: error instanceof Error ? error.message : String(error),
        });
      });
    }
    const ca = await CertificateAuthority.forTransition(engine, entry.transitionHash);
    const allPolicies = new Map(state.phase === "active" ? state.policies : []);
    for (const [d, doc] of policies) allPolicies.set(d, doc);
    const manifests = [
      ...(state.phase === "active" ? state.manifests : []),
      request.manifest.slice(),
    ];
    const signatures = [
      ...(state.phase === "active" ? state.signatures : []),
      request.signature.slice(),
    ];
    const storedShares = state.phase === "active" ? state.seedShares : seedSharesBytes;
    this.#activate(
      {
        phase: "active",
        engine,
        ca,
        history,
        manifest,
        transition: entry.transitionHash,
        manifests,
        signatures,
        policies: allPolicies,
        latestRecord: entry.latestRecord,
        ...(storedShares ? { seedShares: storedShares } : {}),
      },
      "manifest set",
      { policies: Object.keys(manifest.Policies).length },
    );
    return {
      transition: encodeHex(entry.transitionHash),
      rootCa: ca.rootPem,
      meshCa: ca.meshCaPem,
      ...(seedShares ? { seedShares } : {}),
    };
  }

  /** Makes `state` current, publishes its generation and logs `event` with its transition. */
  #activate(state: ActiveState, event: string, details: Record<string, unknown>): void {
    this.#state = state;
    for (const listener of this.#activationListeners) listener();
    this.#options.metrics.manifestGeneration.set(state.manifests.length);
    this.#options.logger.info(event, {
      generation: state.manifests.length,
      transition: encodeHex(state.transition),
      ...details,
    });
  }

  /** `POST /recover`: restores the seed from a seedshare owner's sealed share. */
  async recover(request: RecoverRequest): Promise<Record<string, never>> {
    // Authenticated before it queues for its turn among state changes (as an update is), and
    // again in its turn.
    await this.#authenticateRecovery(request);
    return await this.#exclusive(() => this.#recover(request));
  }

  async #recover(request: RecoverRequest): Promise<Record<string, never>> {
    const state = await this.#authenticateRecovery(request);
    const plain = await this.#hpke.open(
      request.sealedSeed,
      RECOVERY_HPKE_INFO,
      state.claimedTransition,
      "sealedSeed",
    );
    await this.#restore(plain, "sealedSeed", { expectTransition: state.claimedTransition });
    return {};
  }

  /**
   * The checks of a recovery request before the seed is opened: recovery mode, a seedshare
   * owner's signature over this process's HPKE key and the claimed transition, then no ready peers
   * (unless forced).
   *
   * @returns the recovery state it was checked against
   */
  async #authenticateRecovery(request: RecoverRequest): Promise<RecoveryState> {
    // Not refreshed here: the owner signed the transition it saw in its last /attest, and a
    // history that moved since is refused (409 in #restore, or as a bad signature).
    const state = this.#state;
    if (state.phase !== "recovery") {
      throw new PreconditionFailedError("", `not in recovery mode (phase ${state.phase})`);
    }
    // The seedshare owners are those of the manifest the stored latest names; it is read
    // unverified here, and everything is verified against the recovered seed afterwards.
    const unverified = await readUnverifiedLatestManifest(
      this.#options.historyBackend,
      state.claimedTransition,
      this.#options.parseManifest,
    );
    await verifyRecoverySignature(
      unverified.SeedshareOwnerPubKeys,
      request.ownerPublicKey,
      recoveryMessage(this.#hpke.publicKey, state.claimedTransition, request.sealedSeed),
      request.signature,
    );
    // Asked only for an owner's request: peer discovery is a Kubernetes API call, which a
    // stranger's unsigned requests had caused one of each (before any signature check).
    const peers = request.force ? [] : await this.#options.readyPeers?.() ?? [];
    if (peers.length > 0) {
      throw new ConflictError(
        "force",
        `${peers.length} ready peer Coordinator(s) exist and recover this replica on their own; ` +
          "recover by hand only with --force",
      );
    }
    return state;
  }

  /**
   * Restores the seed from `plain` (seed ‖ salt, wiped afterwards): the seed is accepted only if
   * its derived history key verifies the stored history, the history still ends at
   * `binding.expectTransition` (the transition the seed's giver was shown or attested against) and,
   * when given, contains `binding.peerTransition` (what the peer that gave the seed serves: a
   * replica never comes up behind it); then the same root CA is derived again.
   */
  async #restore(plain: Uint8Array, field: string, binding: RestoreBinding): Promise<void> {
    if (plain.length !== SEED_AND_SALT_LENGTH) {
      plain.fill(0);
      throw new ParseError(field, "expected seed (64 bytes) followed by salt (32 bytes)");
    }
    const engine = SeedEngine.fromSeed(plain.subarray(0, 64), plain.subarray(64));
    plain.fill(0);
    let loaded;
    try {
      loaded = await loadActiveState(
        engine,
        this.#options.historyBackend,
        this.#options.parseManifest,
        { repairSeedShares: false },
      );
    } catch (cause) {
      if (cause instanceof UnavailableError) throw cause;
      throw new ForbiddenError(
        field,
        "the recovered seed does not sign this Coordinator's history",
        { cause },
      );
    }
    if (!constantTimeEqual(loaded.transition, binding.expectTransition)) {
      throw new ConflictError("latest", "the history moved during recovery; attest again");
    }
    await this.#requireOwnerChain(loaded, field);
    if (!this.#runsCoordinatorPolicyOf(loaded.manifest)) {
      throw new ForbiddenError(
        "hostData",
        `this Coordinator runs policy ${this.#ownPolicy}, which the stored history's latest ` +
          "manifest does not list as a coordinator policy: not recovering onto it",
      );
    }
    const peer = binding.peerTransition;
    if (peer && !(await historyContains(loaded.manifests, peer))) {
      throw new ConflictError(
        "latestTransition",
        `the peer serves transition ${encodeHex(peer)}, which the stored history (latest ` +
          `${encodeHex(loaded.transition)}) does not contain: the store shows this replica an ` +
          "older state than its peer; not recovering from it",
      );
    }
    // Only now that the seed is accepted may it write to the store.
    const seedShares = await repairSeedShares(
      engine,
      this.#options.historyBackend,
      loaded,
      this.#options.parseManifest,
    );
    this.#healthy = true;
    this.#activate(
      { phase: "active", engine, ...loaded, ...(seedShares ? { seedShares } : {}) },
      "recovered",
      { from: field === "sealedSeed" ? "seed share" : "peer" },
    );
  }

  /**
   * Refuses a history that a recovered seed verifies unless every manifest of it is signed by a
   * workload owner (the first by a key it lists, each later one by a key of its predecessor), as
   * `set` only ever makes one. A seed this process did not make may be one the infrastructure
   * chose, signing a history it wrote: the genuine owner-signed manifests followed by one of its
   * own (its pods, its seedshare key), which this process would otherwise serve.
   *
   * @throws {ForbiddenError} naming the manifest's `history[i].signature`
   */
  async #requireOwnerChain(
    loaded: {
      readonly manifests: readonly Uint8Array[];
      readonly signatures: readonly Uint8Array[];
    },
    field: string,
  ): Promise<void> {
    try {
      await verifyOwnerChain(
        loaded.manifests.map((bytes, i) => ({ bytes, signature: loaded.signatures[i] })),
        (bytes) => workloadOwnersOf(this.#options.parseManifest(bytes)),
      );
    } catch (cause) {
      if (!(cause instanceof ContrastError)) throw cause;
      throw new ForbiddenError(
        cause.field,
        `${cause.reason}: the history the recovered seed (${field}) signs is not the owners', ` +
          "not recovering onto it",
        { cause },
      );
    }
  }

  /**
   * `POST /peer/seed`: gives the seed to a recovering Coordinator, sealed to its attested HPKE
   * key, if its evidence verifies against the current manifest and carries the manifest's
   * `coordinator` policy.
   */
  async peerSeed(request: PeerSeedRequest, client = ""): Promise<PeerSeedResponseJson> {
    const state = await this.#fresh();
    if (state.phase !== "active") {
      throw new PreconditionFailedError("", "no active manifest: cannot serve a peer");
    }
    const reportData = await peerReportData({
      nonce: request.nonce,
      hpkePublicKey: request.hpkePublicKey,
    });
    // The challenge nonce is single use: redeemed before its evidence is verified.
    this.#nonces.redeem(request.nonce);
    const { claims, policy: matched } = await this.#verifyBoundEvidence(
      state,
      request.evidence,
      reportData,
      "this request's key and nonce",
      client,
    );
    if (matched.entry.Role !== "coordinator") {
      throw new ForbiddenError(
        "hostData",
        "only a Coordinator running the coordinator policy gets the seed",
      );
    }
    const plain = concatBytes(state.engine.seed(), state.engine.salt());
    const sealed = await sealTo(request.hpkePublicKey, plain, PEER_SEED_HPKE_INFO, request.nonce);
    plain.fill(0);
    this.#requireUnchanged(state);
    this.#options.logger.info("seed sent to a recovering peer", { platform: claims.platform });
    return { sealedSeed: sealedBoxToJson(sealed) };
  }

  /**
   * In recovery mode: attests the active Coordinator at `address` (its mesh API) against the
   * stored manifest (its evidence must carry the manifest's coordinator policy), then asks it for
   * the seed, proving with evidence that this process runs the coordinator policy. The seed is
   * accepted only if the history it verifies ends at the transition whose manifest the peer was
   * attested against and contains the peer's own latest transition.
   *
   * @throws the peer's refusal, {@link ForbiddenError} when the seed does not fit the history, or
   *   {@link ConflictError} when the verified history is not the one the peer was attested
   *   against, or is behind the peer
   */
  recoverFromPeer(address: string): Promise<void> {
    return this.#exclusive(async () => {
      const state = await this.#freshLocked();
      if (state.phase !== "recovery") return;
      // The seed must come from a genuine Coordinator running the coordinator policy of the
      // stored manifest: attest the peer (and pin its key) before asking. Without this, whoever
      // controls the storage and the network could plant a history signed with a seed of their
      // own and hand that seed over.
      const manifest = await readUnverifiedLatestManifest(
        this.#options.historyBackend,
        state.claimedTransition,
        this.#options.parseManifest,
      );
      const { client, state: peerState } = await attestCoordinator(
        address,
        manifest,
        this.#options.verifyEvidence,
        { now: this.#now() },
      );
      const peerTransition = peerState.latestTransition;
      if (!peerTransition || peerState.recoveryNeeded) {
        throw new PreconditionFailedError("latestTransition", "the peer has no active manifest");
      }
      const { nonce } = parseChallengeResponse(
        await client.request("POST", ApiPath.meshChallenge, {}),
      );
      const evidence = await this.#options.evidenceSource.getEvidence(
        await peerReportData({ nonce, hpkePublicKey: this.#hpke.publicKey }),
      );
      const body = {
        nonce: encodeHex(nonce),
        evidence: evidenceToJson(evidence),
        hpkePublicKey: encodeHex(this.#hpke.publicKey),
      };
      const { sealedSeed } = parsePeerSeedResponse(
        await client.request("POST", ApiPath.peerSeed, body),
      );
      const plain = await this.#hpke.open(sealedSeed, PEER_SEED_HPKE_INFO, nonce, "peerSeed");
      // The peer was attested against the manifest of the claimed transition, which was read
      // unverified: the seed is accepted only if the history it verifies ends exactly there
      // (else the store could name a planted manifest for the attestation and swap in another
      // history signed with a seed of its own afterwards), and only if that history contains
      // what the peer serves (else a store that shows this replica an older latest would roll it
      // back behind its peer).
      await this.#restore(plain, "peerSeed", {
        expectTransition: state.claimedTransition,
        peerTransition,
      });
    });
  }

  /**
   * Whether `manifest` lists the policy this process runs (its evidence's launch digest) as a
   * coordinator policy; true when the digest is unknown (evidence without one).
   */
  #runsCoordinatorPolicyOf(manifest: Manifest): boolean {
    const own = this.#ownPolicy;
    return own === undefined || manifest.Policies[own]?.Role === "coordinator";
  }

  /**
   * `POST /mesh/challenge`: a fresh single-use nonce for `client` (its address), for a peer
   * Coordinator's `POST /peer/seed` (a pod's mesh request binds its TLS connection instead).
   */
  challenge(client = ""): ChallengeResponseJson {
    if (this.#state.phase !== "active") {
      throw new PreconditionFailedError("", "no active manifest (not set yet, or recovery needed)");
    }
    return {
      nonce: encodeHex(this.#nonces.issue(client)),
      expiresInSeconds: Math.floor(this.#nonces.ttlMs / 1000),
    };
  }

  /**
   * `POST /mesh/certificate`: attests an initializer and issues its certificate. The evidence must
   * bind `channelBinding`, the channel binding of the TLS connection the request arrived on
   * (`atls/channel_binding.ts`; `meshReportData`), and the request's leaf key; the workload secret
   * is answered in the clear, for that connection only. `client` (the source address) is charged
   * for vendor lookups its evidence causes. Once `signal` is aborted (nobody reads the answer) it
   * stops before its next expensive step (verification, signing the leaf, deriving the workload
   * secret), throwing `signal`'s reason.
   *
   * @throws {ValidationError} naming `reportData` when the evidence binds another connection or
   *   key
   */
  async issueMeshCertificate(
    request: MeshCertificateRequest,
    channelBinding: Uint8Array,
    client = "",
    signal?: AbortSignal,
  ): Promise<MeshCertificateResponseJson> {
    const { state, leaf, workloadSecret } = await this.#issueMesh(
      request,
      channelBinding,
      client,
      signal,
    );
    const encoded = workloadSecret?.toBase64();
    workloadSecret?.fill(0);
    return {
      certChain: leaf.chainPem,
      meshCa: state.ca.meshCaPem,
      rootCa: state.ca.rootPem,
      ...(encoded !== undefined ? { workloadSecret: encoded } : {}),
    };
  }

  /**
   * `POST /mesh/certificate` as the API serves it: the answer of {@link issueMeshCertificate},
   * serialised from the leaf's DER with what every answer of the CA shares serialised once
   * (`mesh_answer.ts`), and the workload secret written from its bytes (then wiped).
   */
  async issueMeshCertificateJson(
    request: MeshCertificateRequest,
    channelBinding: Uint8Array,
    client = "",
    signal?: AbortSignal,
  ): Promise<EncodedJson> {
    const { state, leaf, workloadSecret } = await this.#issueMesh(
      request,
      channelBinding,
      client,
      signal,
    );
    let answers = this.#meshAnswers.get(state.ca);
    if (answers === undefined) {
      answers = new MeshAnswerJson(state.ca);
      this.#meshAnswers.set(state.ca, answers);
    }
    try {
      return answers.encode(leaf.der, workloadSecret);
    } finally {
      workloadSecret?.fill(0);
    }
  }

  /**
   * The work of {@link issueMeshCertificate}: the state it answered from, leaf and the workload
   * secret's bytes (the caller wipes them).
   */
  async #issueMesh(
    request: MeshCertificateRequest,
    channelBinding: Uint8Array,
    client: string,
    signal: AbortSignal | undefined,
  ): Promise<{ state: ActiveState; leaf: IssuedLeaf; workloadSecret?: Uint8Array }> {
    const state = await this.#fresh();
    signal?.throwIfAborted();
    if (state.phase !== "active") {
      throw new PreconditionFailedError("", "no active manifest (not set yet, or recovery needed)");
    }
    const metrics = this.#options.metrics;
    let workloadSecret: Uint8Array | undefined;
    try {
      // No nonce to redeem: the channel binding is unique to the connection the request arrived
      // on, so evidence made for any other connection (a relay's, an earlier one's) fails here.
      const { claims, policy: matched } = await this.#verifyBoundEvidence(
        state,
        request.evidence,
        await meshReportData({ channelBinding, leafSpki: request.leafPublicKey }, digestNative),
        "this TLS connection's channel binding and this request's key",
        client,
        signal,
      );
      const sans = matched.entry.sans.length > 0
        ? matched.entry.sans
        : [{ kind: "uri" as const, value: `urn:contrast:policy:${matched.digest}` }];
      const now = this.#now();
      const validityMs = this.#options.meshCertificateValidityMs;
      signal?.throwIfAborted();
      const leaf = await state.ca.issueLeaf({
        publicKey: request.leafPublicKey,
        sans,
        claims,
        now,
        ...(validityMs !== undefined ? { notAfter: new Date(now.getTime() + validityMs) } : {}),
      });
      if (matched.entry.WorkloadSecretID !== "") {
        signal?.throwIfAborted();
        workloadSecret = await state.engine.workloadSecret(matched.entry.WorkloadSecretID);
      }
      this.#requireUnchanged(state);
      metrics.attestations.inc({ platform: claims.platform });
      this.#options.logger.info("issued mesh certificate", {
        policy: matched.digest,
        platform: claims.platform,
        workloadSecretId: matched.entry.WorkloadSecretID || undefined,
      });
      return { state, leaf, ...(workloadSecret ? { workloadSecret } : {}) };
    } catch (error) {
      workloadSecret?.fill(0);
      // A request nobody reads any more (the client went away) is not a failure to count.
      if (signal?.aborted) throw error;
      const field = error instanceof Error && "field" in error ? String(error.field) : "internal";
      metrics.failures.inc({ api: "mesh", reason: field.split(/[.[]/)[0] || "unknown" });
      throw error;
    }
  }

  /**
   * Refuses to answer from `state` when another state became active while the request was being
   * verified and answered (a manifest update, made here or by another replica): the
   * request was admitted by a manifest that is no longer the active one, whose policy may be the
   * one the update removed (and the infrastructure decides how long verification takes: it carries
   * the collateral fetches). Called after the last await, so nothing is answered from a replaced
   * state once the update has been acknowledged.
   *
   * @throws {ConflictError} naming `manifest` (409: the client tries again, with new evidence)
   */
  #requireUnchanged(state: ActiveState): void {
    if (this.#state !== state) {
      throw new ConflictError(
        "manifest",
        "the active manifest changed while this request was verified: try again",
      );
    }
  }

  /**
   * Verifies `evidence` against the active manifest and checks that it carries exactly
   * `reportData`.
   *
   * @param binds what `reportData` binds, for the error message
   * @param client the source address, charged for uncached vendor lookups the evidence causes
   * @param signal once aborted (nobody reads the answer), nothing is verified
   * @throws {ValidationError} naming `reportData` when the evidence binds something else
   */
  async #verifyBoundEvidence(
    state: ActiveState,
    evidence: Evidence,
    reportData: Uint8Array,
    binds: string,
    client: string,
    signal?: AbortSignal,
  ): Promise<ManifestVerification> {
    signal?.throwIfAborted();
    const verified = await this.#options.verifyEvidence(state.manifest, evidence, {
      reportData,
      now: this.#now(),
      vendorLookups: this.#lookupBudget.allowanceFor(client),
    });
    if (!constantTimeEqual(verified.claims.reportData, reportData)) {
      throw new ValidationError("reportData", `evidence does not bind ${binds}`);
    }
    return verified;
  }

  /**
   * Calls `listener` after every change of the active state (first manifest, update, recovery).
   *
   * @returns a function that removes the listener
   */
  onActivate(listener: () => void): () => void {
    this.#activationListeners.add(listener);
    return () => this.#activationListeners.delete(listener);
  }

  /**
   * The transit KMS's view of the active state, brought up to the stored latest (the same object
   * until the state changes), or `undefined` when there is no active manifest.
   */
  async transitView(): Promise<TransitView | undefined> {
    // Brought up to the stored latest first, like every other API: a replica that has not yet
    // seen an update removing a workload must not serve its keys.
    const state = await this.#fresh();
    if (state.phase !== "active") return undefined;
    let view = this.#transitViews.get(state);
    if (!view) {
      view = {
        manifest: state.manifest,
        generation: state.manifests.length,
        ca: state.ca,
        transitKey: (id, label, version) => state.engine.transitKey(id, label, version),
      };
      this.#transitViews.set(state, view);
    }
    return view;
  }

  /**
   * Whether `view` is the transit view of the state this process serves now (in memory: the same
   * check as for mesh certificates, no storage read). A transit request authorised against a view
   * is answered only if it still is.
   */
  isCurrentTransitView(view: TransitView): boolean {
    const state = this.#state;
    return state.phase === "active" && this.#transitViews.get(state) === view;
  }

  /**
   * Whether the Coordinator can serve initializers: active, and the last check of the stored
   * latest succeeded (storage reachable, state current).
   */
  ready(): boolean {
    return this.#state.phase === "active" && this.#healthy;
  }

  /** SHA-256 of this process's TLS SPKI (for logs and tests). */
  tlsSpkiSha256(): Promise<Uint8Array> {
    return sha256(this.tls.spki);
  }
}

/**
 * The checks every manifest update starts with, against `state`: refused in recovery, and its
 * previous transition must be the latest. Returns that latest (`current`, the genesis transition
 * before a first manifest) and the transition the update makes (`next`).
 *
 * @throws {PreconditionFailedError} in recovery
 * @throws {ConflictError} naming `previous_transition` when it is not the latest
 */
async function updateOnto(
  state: State,
  request: ManifestRequest,
): Promise<{ current: Uint8Array; next: Uint8Array }> {
  if (state.phase === "recovery") {
    throw new PreconditionFailedError("", "the Coordinator needs recovery before an update");
  }
  const current = state.phase === "active" ? state.transition : GENESIS_TRANSITION;
  if (!constantTimeEqual(request.previousTransition, current)) {
    throw new ConflictError(
      "previous_transition",
      `is not the latest transition (latest is ${encodeHex(current)})`,
    );
  }
  return { current, next: await transitionHash(await manifestHash(request.manifest), current) };
}

/** The transition a stored latest record names (its first 32 bytes), checked for shape only. */
function latestTransitionOf(record: Uint8Array): Uint8Array {
  if (record.length !== LATEST_RECORD_LENGTH) {
    // A torn record can only come from a broken store: recovery will refuse it below.
    return record.slice(0, 32).length === 32 ? record.slice(0, 32) : new Uint8Array(32);
  }
  return record.slice(0, 32);
}

/**
 * Refuses to start fresh over a store without a latest record that holds more than what
 * interrupted first `set`s leave behind (first transitions, written before latest moves): a
 * transition after a first one (or an unreadable one) means a longer history whose latest record
 * was deleted, i.e. the infrastructure tries to reset the deployment. (A deleted one-manifest
 * history looks like an interrupted first set; pods still refuse a new first manifest that no
 * owner key they pin signed.)
 *
 * @throws {HistoryResetError} naming `transitions/latest`
 */
async function refuseLostLatest(backend: HistoryBackend): Promise<void> {
  const names = await backend.listObjects("transitions");
  for (const name of names) {
    const body = await backend.getObject("transitions", name);
    const previous = body?.length === 64 ? body.slice(32) : undefined;
    if (!previous || !constantTimeEqual(previous, GENESIS_TRANSITION)) {
      throw new HistoryResetError(
        "transitions/latest",
        `missing, but the store holds ${names.length} transitions of an earlier history: ` +
          "refusing to start fresh over it (restore the history from a backup, or wipe the " +
          "store deliberately)",
      );
    }
  }
}

/**
 * The recovery state for a stored latest naming `transition`: the claimed history found by
 * walking the stored transitions back to the first (content addresses checked; everything else
 * unverified: a seed must still verify the history, and clients check the chain themselves) and
 * the seed-share document stored with its first transition. A chain that is incomplete, corrupted
 * or too long yields no manifests (recovery then fails at the seed check anyway).
 */
async function recoveryState(
  backend: HistoryBackend,
  transition: Uint8Array,
): Promise<RecoveryState> {
  const manifests: Uint8Array[] = [];
  const signatures: Uint8Array[] = [];
  let current = transition;
  for (let steps = 0; steps < MAX_CHAIN_LENGTH; steps++) {
    const body = await backend.getObject("transitions", encodeHex(current));
    if (!body || body.length !== 64 || !constantTimeEqual(await sha256(body), current)) break;
    const manifest = await backend.getObject("manifests", encodeHex(body.subarray(0, 32)));
    if (!manifest || !constantTimeEqual(await sha256(manifest), body.subarray(0, 32))) break;
    manifests.push(manifest);
    signatures.push(await backend.getObject("signatures", encodeHex(current)) ?? new Uint8Array());
    const previous = body.slice(32);
    if (constantTimeEqual(previous, GENESIS_TRANSITION)) {
      const seedShares = await backend.getObject("seedshares", encodeHex(current));
      return {
        phase: "recovery",
        claimedTransition: transition,
        claimedManifests: manifests.reverse(),
        claimedSignatures: signatures.reverse(),
        ...(seedShares ? { seedShares } : {}),
      };
    }
    current = previous;
  }
  return {
    phase: "recovery",
    claimedTransition: transition,
    claimedManifests: [],
    claimedSignatures: [],
  };
}

async function readUnverifiedLatestManifest(
  backend: HistoryBackend,
  transition: Uint8Array,
  parse: ManifestParser,
): Promise<Manifest> {
  const body = await backend.getObject("transitions", encodeHex(transition));
  if (!body || body.length !== 64 || !constantTimeEqual(await sha256(body), transition)) {
    throw new PreconditionFailedError("transitions/latest", "stored history is incomplete");
  }
  const mh = body.slice(0, 32);
  const bytes = await backend.getObject("manifests", encodeHex(mh));
  if (!bytes || !constantTimeEqual(await sha256(bytes), mh)) {
    throw new PreconditionFailedError("manifests", "stored manifest is missing or corrupted");
  }
  return parse(bytes);
}

/**
 * The initdata documents of every policy of `manifest`, by digest.
 *
 * @throws {ParseError} naming `policies` when one is missing, is not an initdata document, or is
 *   not a policy of the manifest
 */
async function requirePolicies(
  manifest: Manifest,
  documents: readonly Uint8Array[],
): Promise<Map<string, Uint8Array>> {
  const byDigest = new Map<string, Uint8Array>();
  for (const [i, doc] of documents.entries()) {
    await parseInitdata(doc, `policies[${i}]`);
    const digest = encodeHex(await sha256(doc));
    if (!(digest in manifest.Policies)) {
      throw new ParseError(`policies[${i}]`, `initdata ${digest} is not a policy of the manifest`);
    }
    byDigest.set(digest, doc);
  }
  for (const digest of Object.keys(manifest.Policies)) {
    if (!byDigest.has(digest)) {
      throw new ParseError("policies", `missing the initdata document of policy ${digest}`);
    }
  }
  return byDigest;
}

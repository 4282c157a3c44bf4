/**
 * The initializer's main loop: generate the pod's keys, then, with exponential backoff (the
 * Coordinator may not be up, have no manifest yet, or not yet admit this pod's policy), attest
 * the Coordinator against the pod's trust document and run the mesh exchange, until it succeeds
 * or the deadline passes; only then write the files. A Coordinator that answers 429 (this pod's
 * budget of uncached vendor lookups is spent) or 503 (busy) is retried no sooner than its
 * `Retry-After` asks, clamped to {@link DEFAULT_MAX_RETRY_AFTER_MS} (an unreadable one is
 * ignored: the backoff alone decides). A connection that closed between reading its channel
 * binding and sending the certificate request (`BoundConnectionClosedError`, an
 * `UnavailableError`) is retried like any unavailability: the next attempt attests again on a new
 * connection and makes new evidence for it. Nothing is written unless the Coordinator
 * was attested and handed out exactly the CAs its evidence binds.
 *
 * @module
 */
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import {
  CoordinatorBadRequestError,
  CoordinatorUnavailableError,
} from "../atls/coordinator_answers.ts";
import { backoffDelay } from "../collateral/retry.ts";
import { describeRetryAfter, retryAfterWaitMs } from "../util/http/retry_after.ts";
import type { EvidenceSource } from "../evidence/evidence_source.ts";
import type { Logger } from "../util/log/logger.ts";
import { type OutputPaths, writeCredentials } from "./files.ts";
import type { CoordinatorTrust } from "../atls/coordinator_trust.ts";
import type { ManifestEvidenceVerifier } from "../manifest/verifiers.ts";
import {
  type AttestedMeshCredentials,
  generatePodKeys,
  requestAttestedMeshCredentials,
} from "../atls/mesh_client.ts";

/** Options of {@link runInitializer}. */
interface InitializerOptions {
  /** `HOST:PORT` of the Coordinator's mesh API. */
  readonly coordinator: string;
  /** Evidence about this pod. */
  readonly evidenceSource: EvidenceSource;
  /** Output folders. */
  readonly paths: OutputPaths;
  /** Logs. */
  readonly logger: Logger;
  /** First retry delay, ms (default 500). */
  readonly initialBackoffMs?: number;
  /** Largest retry delay, ms (default 10 000). */
  readonly maxBackoffMs?: number;
  /** Give up after this long, ms (default 10 minutes). */
  readonly deadlineMs?: number;
  /** Per-request timeout, ms (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Whom to accept as the Coordinator (attested before every exchange). */
  readonly trust: CoordinatorTrust;
  /** Verifies the Coordinator's evidence against {@link InitializerOptions.trust}. */
  readonly verify: ManifestEvidenceVerifier;
  /**
   * Longest wait a `Retry-After` can impose, ms (default {@link DEFAULT_MAX_RETRY_AFTER_MS}): a
   * longer one (or a date further ahead) waits this long.
   */
  readonly maxRetryAfterMs?: number;
  /** Sleep (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock for the deadline and `Retry-After` dates (default `Date.now`). */
  readonly now?: () => number;
  /** Jitter source in [0, 1) (default `Math.random`): a retry waits 50–100 % of the backoff. */
  readonly random?: () => number;
}

/** Longest wait a Coordinator's `Retry-After` can impose by default, ms: one minute. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** The initializer gave up. */
export class InitializerFailedError extends ContrastError {}

/**
 * Whether an error will not go away by retrying (malformed request or local problem). A refusal
 * (403: no manifest admits this pod yet), an unavailable Coordinator (412, 429, 5xx) and a lost
 * connection (also the one the evidence binds) are retried.
 */
export function isPermanent(error: unknown): boolean {
  if (error instanceof CoordinatorBadRequestError) return true;
  if (error instanceof ContrastError) return error instanceof ParseError;
  return false;
}

/**
 * Runs the initializer to completion.
 *
 * @returns the paths written
 * @throws {InitializerFailedError} with the last reason when the deadline passes or the failure
 *   is permanent
 */
export async function runInitializer(options: InitializerOptions): Promise<string[]> {
  const log = options.logger;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const deadline = now() + (options.deadlineMs ?? 600_000);
  const initialBackoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const maxRetryAfter = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const keys = await generatePodKeys();
  log.info("attesting the Coordinator pinned by this pod's policy before trusting its CAs", {
    coordinator: options.coordinator,
    coordinatorPolicy: options.trust.policyHash,
  });
  for (let attempt = 1;; attempt++) {
    let result: AttestedMeshCredentials;
    try {
      result = await requestAttestedMeshCredentials(
        options.coordinator,
        keys,
        options.evidenceSource,
        options.trust,
        options.verify,
        { timeoutMs: options.requestTimeoutMs },
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (isPermanent(error)) {
        throw new InitializerFailedError("coordinator", `permanent failure: ${reason}`, {
          cause: error,
        });
      }
      const wait = retryWait(error, attempt, {
        now: now(),
        initialBackoff,
        maxBackoff,
        maxRetryAfter,
        random,
      });
      if (now() + wait.ms > deadline) {
        throw new InitializerFailedError(
          "coordinator",
          `gave up after ${attempt} attempts: ${reason}${
            wait.retryAfter ? ` (Retry-After ${wait.retryAfter})` : ""
          }`,
          { cause: error },
        );
      }
      log.warn("attestation attempt failed; retrying", {
        attempt,
        reason,
        retryInMs: wait.ms,
        ...(error instanceof CoordinatorUnavailableError ? { status: error.status } : {}),
        ...(wait.retryAfter !== undefined
          ? { retryAfter: wait.retryAfter, retryAfterClamped: wait.clamped }
          : {}),
      });
      await sleep(wait.ms);
      continue;
    }
    const { credentials, coordinator } = result;
    const written = await writeCredentials(options.paths, credentials, keys.leaf.privateKey);
    log.info("Coordinator attested; this pod attested; credentials written", {
      attempt,
      coordinatorPolicy: options.trust.policyHash,
      coordinatorPlatform: coordinator.claims.platform,
      tlsConfigDir: options.paths.tlsConfigDir,
      workloadSecretWritten: credentials.workloadSecret !== undefined,
    });
    return written;
  }
}

/** How long to wait before the next attempt, and the `Retry-After` that set it, if any. */
interface RetryWait {
  /** Milliseconds to wait. */
  readonly ms: number;
  /** The Coordinator's `Retry-After`, described (`in 10 s`), when its answer had one. */
  readonly retryAfter?: string;
  /** Whether the `Retry-After` asked for more than the clamp. */
  readonly clamped?: boolean;
}

/**
 * The wait after failed attempt `attempt` (1-based): the jittered exponential backoff, or the
 * Coordinator's `Retry-After` (clamped to `maxRetryAfter`) when that is longer.
 */
export function retryWait(
  error: unknown,
  attempt: number,
  o: {
    readonly now: number;
    readonly initialBackoff: number;
    readonly maxBackoff: number;
    readonly maxRetryAfter: number;
    readonly random: () => number;
  },
): RetryWait {
  const backoff = backoffDelay(attempt - 1, o.initialBackoff, o.maxBackoff, o.random);
  if (!(error instanceof CoordinatorUnavailableError) || error.retryAfter === undefined) {
    return { ms: backoff };
  }
  const asked = retryAfterWaitMs(error.retryAfter, o.now, Number.POSITIVE_INFINITY);
  const honoured = Math.min(asked, o.maxRetryAfter);
  return {
    ms: Math.max(backoff, honoured),
    retryAfter: describeRetryAfter(error.retryAfter),
    clamped: asked > o.maxRetryAfter,
  };
}

/**
 * The initializer's main loop: generate the pod's keys, then, with exponential backoff (the
 * Coordinator may not be up, have no manifest yet, or not yet admit this pod's policy), attest
 * the Coordinator against the pod's trust document and run the mesh exchange, until it succeeds
 * or the deadline passes; only then write the files. Nothing is written unless the Coordinator
 * was attested and handed out exactly the CAs its evidence binds.
 *
 * @module
 */
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import { CoordinatorBadRequestError } from "../atls/pinned_client.ts";
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
  /** Sleep (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The initializer gave up. */
export class InitializerFailedError extends ContrastError {}

/** Whether an error will not go away by retrying (malformed request or local problem). */
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
  const deadline = Date.now() + (options.deadlineMs ?? 600_000);
  let backoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
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
      if (Date.now() + backoff > deadline) {
        throw new InitializerFailedError(
          "coordinator",
          `gave up after ${attempt} attempts: ${reason}`,
          { cause: error },
        );
      }
      log.warn("attestation attempt failed; retrying", { attempt, reason, retryInMs: backoff });
      await sleep(backoff);
      backoff = Math.min(maxBackoff, backoff * 2);
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

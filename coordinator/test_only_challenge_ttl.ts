/**
 * A test-only knob of the Coordinator: a longer lifetime for mesh challenge nonces, so an
 * end-to-end test that floods the mesh API with 100,000 challenges on a loaded machine can still
 * tell a nonce evicted by the flood from one that merely expired. It fails closed like the
 * certificate-validity knob (`ca/test_only_validity.ts`): refused unless the Coordinator runs on
 * the simulated TEE, a value that is not a whole number of seconds from 1 to 3,600 is refused, and
 * without it nonces live {@link DEFAULT_CHALLENGE_TTL_MS}.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";

/** The lifetime of a challenge nonce without the knob. */
export const DEFAULT_CHALLENGE_TTL_MS = 60_000;

/** The flag (and, upper-cased with `CONTRAST_` in front, the environment variable). */
export const TEST_ONLY_CHALLENGE_TTL_FLAG = "test-only-challenge-ttl-seconds";

/** Its environment variable. */
export const TEST_ONLY_CHALLENGE_TTL_ENV = "CONTRAST_TEST_ONLY_CHALLENGE_TTL_SECONDS";

const MAX_SECONDS = 3600;

/**
 * The challenge lifetime `raw` asks for, in ms, or undefined when it is unset.
 *
 * @param raw the flag's value (undefined or empty: unset)
 * @param evidenceKind the Coordinator's evidence source (`configfs-tsm`, `simulated-snp`, …)
 * @throws {ContrastError} naming the flag when the evidence is not simulated or the value is not
 *   a whole number of seconds from 1 to 3,600
 */
export function testOnlyChallengeTtlMs(
  raw: string | undefined,
  evidenceKind: string,
): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!evidenceKind.startsWith("simulated-")) {
    throw new ContrastError(
      TEST_ONLY_CHALLENGE_TTL_FLAG,
      `only accepted on the simulated TEE (--evidence simulated-*), not with --evidence ${evidenceKind}`,
    );
  }
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds < 1 || seconds > MAX_SECONDS) {
    throw new ContrastError(
      TEST_ONLY_CHALLENGE_TTL_FLAG,
      `"${raw}" must be a whole number of seconds from 1 to ${MAX_SECONDS}`,
    );
  }
  return seconds * 1000;
}

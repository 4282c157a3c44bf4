/**
 * The last state the owner verified: `verify/history.json` (written by `contrast verify` only for
 * a Coordinator on the workspace's root CA whose history extends the previous backup), read as a
 * lower bound. A Coordinator's history never goes backwards, so a history that does not contain
 * the latest transition of that backup is one the host put back to an older state (or another
 * deployment).
 *
 * @module
 */
import { readFileIfExists } from "../util/files/mod.ts";
import { VerificationError } from "../util/errors/mod.ts";
import { historyContains } from "../manifest/hash.ts";
import { parseManifest } from "../manifest/manifest.ts";
import { parseHistoryBackup } from "../protocol/history_backup.ts";

/** The last verified latest transition and the file it comes from. */
interface LastVerified {
  /** The backup file (`<workspace>/verify/history.json`). */
  readonly file: string;
  /** Its latest transition (32 bytes). */
  readonly transition: Uint8Array;
  /** Number of manifests in it. */
  readonly manifests: number;
}

/**
 * The latest transition of `<workspace>/verify/history.json`, checked as a backup (hashes, owner
 * chain, latest record naming the last transition), or `undefined` when there is none.
 *
 * @throws {import("../util/errors/mod.ts").ParseError} naming the file when it does not parse
 */
export async function readLastVerified(workspace: string): Promise<LastVerified | undefined> {
  const file = `${workspace}/verify/history.json`;
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) return undefined;
  const backup = await parseHistoryBackup(bytes, parseManifest, file);
  return {
    file,
    transition: backup.latestRecord.slice(0, 32),
    manifests: backup.manifests.length,
  };
}

/**
 * Refuses a Coordinator whose attested history (`manifests`, oldest first) does not contain the
 * latest transition verified last (`last`, from {@link readLastVerified}; nothing is compared
 * without one): its store was put back to an older state, a replica was kept on an older view of
 * it, or it is another deployment. A Coordinator's history never goes backwards.
 *
 * @param refused what the command does not do then, for the message ("the seed is not sent")
 * @throws {VerificationError} naming the backup file
 */
export async function requireLastVerifiedIn(
  last: LastVerified | undefined,
  manifests: readonly Uint8Array[],
  refused: string,
): Promise<void> {
  if (last === undefined || await historyContains(manifests, last.transition)) return;
  throw new VerificationError(
    last.file,
    `the Coordinator's stored history (${manifests.length} manifests) does not contain the ` +
      `latest transition verified last (${last.manifests} manifests): its store was put back to ` +
      `an older state or a replica kept on an older view of it (or it is another deployment), ` +
      `so ${refused}`,
  );
}

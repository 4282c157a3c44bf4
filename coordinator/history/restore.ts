/**
 * Restoring a Coordinator's store from a checked history backup (`protocol/history_backup.ts`):
 * the Coordinator's `--restore-history FILE` after the infrastructure lost its state.
 *
 * @module
 */
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { transitionBody } from "../../manifest/hash.ts";
import type { HistoryBackup } from "../../protocol/history_backup.ts";
import type { HistoryBackend } from "./backend.ts";

/**
 * Writes a checked backup into `backend`, whose history must be empty (no latest record): every
 * object first, the latest record last (compare-and-swap from absent).
 *
 * @throws {ParseError} naming `transitions/latest` when the store already holds a history
 */
export async function restoreHistoryBackup(
  backend: HistoryBackend,
  backup: HistoryBackup,
): Promise<void> {
  if (await backend.readLatest() !== undefined) {
    throw new ParseError(
      "transitions/latest",
      "the store already holds a history: restore only into an empty store",
    );
  }
  for (const [digest, doc] of backup.policies) await backend.putObject("policies", digest, doc);
  let previous: Uint8Array = new Uint8Array(32);
  let first: Uint8Array | undefined;
  for (const entry of backup.manifests) {
    const manifestHash = await sha256(entry.manifest);
    await backend.putObject("manifests", encodeHex(manifestHash), entry.manifest);
    const body = transitionBody(manifestHash, previous);
    const transition = await sha256(body);
    await backend.putObject("transitions", encodeHex(transition), body);
    await backend.putObject("signatures", encodeHex(transition), entry.signature);
    first ??= transition;
    previous = transition;
  }
  if (backup.seedShares && first) {
    await backend.putObject("seedshares", encodeHex(first), backup.seedShares);
  }
  if (await backend.compareAndSwapLatest(undefined, backup.latestRecord) === undefined) {
    throw new ParseError("transitions/latest", "another writer created a history meanwhile");
  }
}

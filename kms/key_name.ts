/**
 * Transit key names and who owns them.
 *
 * A key belongs to one `WorkloadSecretID` of the manifest. Its name in the API is that ID (the
 * workload's default key) or the ID, a colon and a label (`orders-db:backups`), so a request
 * always says whose key it wants and a request for another workload's key is refused by name
 * (HTTP 403), not merely by a failing tag. Slashes of default IDs
 * (`apps/v1/Deployment/default/web`) may be sent as they are or percent-encoded.
 *
 * @module
 */
import { ContrastError, ParseError } from "../util/errors/mod.ts";

/** A label: 1–64 of `A–Z a–z 0–9 _ . -`. */
const KEY_LABEL_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Longest key name accepted (the WorkloadSecretID part included). */
const MAX_KEY_NAME_LENGTH = 512;

/** The key a name denotes: its owner's WorkloadSecretID and a label (`""` for the default key). */
export interface TransitKeyId {
  /** The WorkloadSecretID owning the key. */
  readonly workloadSecretId: string;
  /** The label after the colon, or `""` for the default key. */
  readonly label: string;
}

/** The caller asked for a key that is not its workload's (HTTP 403). */
export class KeyAccessDeniedError extends ContrastError {}

/**
 * Resolves `name` (as it appears in the URL, already percent-decoded) for a caller whose
 * workload owns `ownerId`.
 *
 * @throws {ParseError} naming `name` when it is empty, too long or has a malformed label
 * @throws {KeyAccessDeniedError} naming `name` when the key belongs to another WorkloadSecretID
 */
export function resolveKeyName(name: string, ownerId: string): TransitKeyId {
  if (name.length === 0) throw new ParseError("name", "missing key name");
  if (name.length > MAX_KEY_NAME_LENGTH) {
    throw new ParseError("name", `longer than ${MAX_KEY_NAME_LENGTH} characters`);
  }
  if (name === ownerId) return { workloadSecretId: ownerId, label: "" };
  if (name.startsWith(ownerId + ":")) {
    const label = name.slice(ownerId.length + 1);
    if (!KEY_LABEL_PATTERN.test(label)) {
      throw new ParseError("name", "the label after the colon must be 1–64 of A-Z a-z 0-9 _ . -");
    }
    return { workloadSecretId: ownerId, label };
  }
  throw new KeyAccessDeniedError(
    "name",
    `permission denied: key "${name}" does not belong to WorkloadSecretID "${ownerId}" of the ` +
      `client's policy (its keys are "${ownerId}" and "${ownerId}:<label>")`,
  );
}

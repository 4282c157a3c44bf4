/**
 * The key of an encrypted persistent volume: HKDF-SHA256 over the pod's workload secret (IKM),
 * empty salt, info `contrast secure-pv v1: <device volume name>`, 32 bytes. The same workload
 * (same WorkloadSecretID, so the same secret after restarts and Coordinator recovery) opens the
 * same volume; another workload, or another volume of the same workload, gets another key.
 *
 * @module
 */
import { decodeHex } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { hkdfSha256 } from "../../seed/hkdf.ts";

/** HKDF info prefix; the device volume's name follows. */
const VOLUME_KEY_INFO_PREFIX = "contrast secure-pv v1: ";
/** Length of a volume key (and of the workload secret it is derived from) in bytes. */
const VOLUME_KEY_LENGTH = 32;

/**
 * The key of volume `volumeName` for a pod with `workloadSecret` (32 bytes).
 *
 * @throws {ParseError} naming `workloadSecret` or `volume` when one is malformed
 */
export function deriveVolumeKey(
  workloadSecret: Uint8Array,
  volumeName: string,
): Promise<Uint8Array> {
  if (workloadSecret.length !== VOLUME_KEY_LENGTH) {
    throw new ParseError(
      "workloadSecret",
      `expected ${VOLUME_KEY_LENGTH} bytes, got ${workloadSecret.length}`,
    );
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(volumeName)) {
    throw new ParseError("volume", "expected a Kubernetes volume name (DNS label)");
  }
  return hkdfSha256(
    workloadSecret,
    new Uint8Array(0),
    VOLUME_KEY_INFO_PREFIX + volumeName,
    VOLUME_KEY_LENGTH,
  );
}

/**
 * Reads the workload secret the initializer wrote (`workload-secret-seed`: 64 hex characters).
 *
 * @throws {ParseError} naming the file when it is missing or malformed
 */
export async function readWorkloadSecret(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new ParseError(
      path,
      "cannot read the workload secret (does the pod's policy have a WorkloadSecretID, and did " +
        "the initializer run first?)",
      { cause },
    );
  }
  return decodeHex(text.trim(), path, 32);
}

/**
 * Who may update a manifest: its workload owners, named by full key (`WorkloadOwnerPubKeys`,
 * lower-case hex PKIX DER ECDSA keys, Edgeless Contrast's current field) or by key digest
 * (`WorkloadOwnerKeyDigests`, older Contrast releases: lower-case hex SHA-256 of the PKIX DER
 * ECDSA key, as Contrast's `generate` computes it with `sha256.Sum256(x509.MarshalPKIXPublicKey)`
 * and its Coordinator compares against the SHA-256 of the client certificate's PKIX key). Both
 * lists together are the owner set; an empty set disables updates.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";

/**
 * The workload owners of a manifest.
 *
 * @example Count the owners
 * ```ts
 * import type { WorkloadOwners } from "./mod.ts";
 *
 * function ownerCount(owners: WorkloadOwners): number {
 *   return owners.keys.length + owners.keyDigests.length;
 * }
 * ```
 */
export interface WorkloadOwners {
  /** Lower-case hex PKIX DER ECDSA public keys (`WorkloadOwnerPubKeys`). */
  readonly keys: readonly string[];
  /** Lower-case hex SHA-256 digests of PKIX DER ECDSA public keys (`WorkloadOwnerKeyDigests`). */
  readonly keyDigests: readonly string[];
}

/**
 * The owner set of a parsed manifest.
 *
 * @example
 * ```ts
 * import { parseManifest, workloadOwnersOf } from "./mod.ts";
 *
 * const owners = workloadOwnersOf(parseManifest(await Deno.readFile("manifest.json")));
 * console.log(owners.keys.length + owners.keyDigests.length, "owners");
 * ```
 */
export function workloadOwnersOf(
  manifest: {
    readonly WorkloadOwnerPubKeys: readonly string[];
    readonly WorkloadOwnerKeyDigests: readonly string[];
  },
): WorkloadOwners {
  return { keys: manifest.WorkloadOwnerPubKeys, keyDigests: manifest.WorkloadOwnerKeyDigests };
}

/** Whether `owners` names nobody (updates disabled). */
export function hasNoOwners(owners: WorkloadOwners): boolean {
  return owners.keys.length === 0 && owners.keyDigests.length === 0;
}

/** A bare key list (contrast's own field only) as an owner set. */
export function ownersOfKeys(keys: readonly string[]): WorkloadOwners {
  return { keys, keyDigests: [] };
}

/**
 * The `WorkloadOwnerKeyDigests` entry of a PKIX DER public key: lower-case hex SHA-256 of the
 * exact DER bytes.
 *
 * @example The digest an older Contrast manifest lists for a key
 * ```ts
 * import { workloadOwnerKeyDigest } from "./mod.ts";
 *
 * const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
 *   "sign",
 * ]);
 * const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
 * console.log(await workloadOwnerKeyDigest(spki)); // 64 hex digits
 * ```
 */
export async function workloadOwnerKeyDigest(spkiDer: Uint8Array): Promise<string> {
  return encodeHex(new Uint8Array(await crypto.subtle.digest("SHA-256", spkiDer.slice())));
}

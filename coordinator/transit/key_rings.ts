/**
 * Transit key rings of the active state: each version's key derived from the seed on first use,
 * imported as a non-extractable AES-GCM key and kept (the raw bytes wiped) for the life of the
 * manifest generation. Versions run from 1 to the manifest generation: every manifest update
 * (signed by a workload owner, recorded in the signed history) rotates every key, and the
 * version count comes back from the history after a restart and recovery with no storage of its
 * own.
 *
 * @module
 */
import { importAesGcmKey } from "../../kms/aes_gcm.ts";
import type { TransitKeyId } from "../../kms/key_name.ts";
import type { KeyRing } from "../../kms/transit_engine.ts";
import type { TransitView } from "./view.ts";

/** Most derived keys kept per generation before the cache starts over. */
const MAX_CACHED_KEYS = 4096;

/** Key rings of the current view, with a per-view cache of imported keys. */
export class TransitKeyRings {
  readonly #cache = new WeakMap<TransitView, Map<string, Promise<CryptoKey>>>();

  /** The ring of `key` in `view`. */
  ring(view: TransitView, key: TransitKeyId): KeyRing {
    let keys = this.#cache.get(view);
    if (!keys) {
      keys = new Map();
      this.#cache.set(view, keys);
    }
    const cache = keys;
    return {
      latestVersion: view.generation,
      key(version: number): Promise<CryptoKey> {
        const name = JSON.stringify([key.workloadSecretId, key.label, version]);
        let imported = cache.get(name);
        if (!imported) {
          if (cache.size >= MAX_CACHED_KEYS) cache.clear();
          imported = view.transitKey(key.workloadSecretId, key.label, version).then(
            async (raw) => {
              try {
                return await importAesGcmKey(raw);
              } finally {
                raw.fill(0);
              }
            },
          );
          imported.catch(() => cache.delete(name));
          cache.set(name, imported);
        }
        return imported;
      },
    };
  }
}

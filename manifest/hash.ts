/**
 * The manifest hash and the transition hash, exactly as DESIGN.md defines them:
 * manifest hash = SHA-256 of the exact manifest bytes; transition hash =
 * SHA-256(manifest hash ‖ previous transition hash), where the first previous is 32 zero bytes.
 *
 * @module
 */
import { concatBytes, constantTimeEqual, sha256 } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";

/** Length of every hash in the history (SHA-256). */
export const HASH_LENGTH = 32;

/**
 * The "previous transition" of the first manifest: 32 zero bytes.
 *
 * @example The first transition of a history
 * ```ts
 * import { GENESIS_TRANSITION, manifestHash, transitionHash } from "./mod.ts";
 *
 * const first = await transitionHash(await manifestHash(new TextEncoder().encode("{}")), GENESIS_TRANSITION);
 * console.log(first.length); // 32
 * ```
 */
export const GENESIS_TRANSITION: Uint8Array = new Uint8Array(HASH_LENGTH);

/**
 * SHA-256 of the exact manifest bytes (never of a re-serialisation).
 *
 * @example The hash `contrast set` prints
 * ```ts
 * import { manifestHash } from "./mod.ts";
 *
 * import { encodeHex } from "../mod.ts";
 *
 * console.log(encodeHex(await manifestHash(await Deno.readFile("manifest.json"))));
 * ```
 */
export function manifestHash(manifestBytes: Uint8Array): Promise<Uint8Array> {
  return sha256(manifestBytes);
}

/**
 * The body a transition hash is taken over: manifest hash ‖ previous transition hash (64 bytes).
 * The history store keeps exactly these bytes under `transitions/<transition hash>`.
 *
 * @throws {ParseError} when either hash is not 32 bytes
 */
export function transitionBody(
  manifestHash: Uint8Array,
  previousTransition: Uint8Array,
): Uint8Array {
  if (manifestHash.length !== HASH_LENGTH) {
    throw new ParseError(
      "manifestHash",
      `expected ${HASH_LENGTH} bytes, got ${manifestHash.length}`,
    );
  }
  if (previousTransition.length !== HASH_LENGTH) {
    throw new ParseError(
      "previousTransition",
      `expected ${HASH_LENGTH} bytes, got ${previousTransition.length}`,
    );
  }
  return concatBytes(manifestHash, previousTransition);
}

/**
 * SHA-256(manifest hash ‖ previous transition hash).
 *
 * @param previousTransition the latest transition hash before this one, or
 *   {@link GENESIS_TRANSITION} for the first manifest
 *
 * @example Chain a second manifest onto the first
 * ```ts
 * import { GENESIS_TRANSITION, manifestHash, transitionHash } from "./mod.ts";
 *
 * const first = await transitionHash(await manifestHash(new TextEncoder().encode("{\"v\":1}")), GENESIS_TRANSITION);
 * const second = await transitionHash(await manifestHash(new TextEncoder().encode("{\"v\":2}")), first);
 * console.log(second.length); // 32
 * ```
 */
export async function transitionHash(
  manifestHash: Uint8Array,
  previousTransition: Uint8Array,
): Promise<Uint8Array> {
  return await sha256(transitionBody(manifestHash, previousTransition));
}

/**
 * Whether the hash chain of `manifests` (oldest first, the first after
 * {@link GENESIS_TRANSITION}) passes through `transition`.
 */
export async function historyContains(
  manifests: readonly Uint8Array[],
  transition: Uint8Array,
): Promise<boolean> {
  let current = GENESIS_TRANSITION;
  for (const bytes of manifests) {
    current = await transitionHash(await manifestHash(bytes), current);
    if (constantTimeEqual(current, transition)) return true;
  }
  return false;
}

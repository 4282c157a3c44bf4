/**
 * The owner chain of a manifest history: every manifest, the first included, is signed by a
 * workload owner. The signature is the update signature of `signatures.ts` (ECDSA over the
 * 32-byte transition hash); the first manifest is signed by a workload owner it names itself
 * (`WorkloadOwnerPubKeys`, or by digest in `WorkloadOwnerKeyDigests`), every later one by an owner
 * its predecessor names.
 *
 * A chain that verifies on its own proves only that *someone* holding a listed key wrote it: an
 * infrastructure that wipes the Coordinator's state can start a fresh chain with a key of its
 * own. What defeats that is the pin: `contrast generate` writes the owner's public keys into
 * every pod's trust document, and a pod accepts a Coordinator only if some transition of its
 * chain is signed by a pinned key. A signature over a transition binds every manifest before it
 * (transitions are a hash chain), and every later link is signed by keys that link's
 * predecessor names, so the whole chain is the owner's.
 *
 * @module
 */
import { decodeHex, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { ContrastError, VerificationError } from "../util/errors/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../manifest/hash.ts";
import { authenticateManifestUpdate, type UpdateSigner } from "./signatures.ts";
import { ownersOfKeys, type WorkloadOwners } from "../manifest/workload_owners.ts";

/** One manifest of a history with the owner signature stored for its transition. */
export interface SignedManifest {
  /** The exact manifest bytes. */
  readonly bytes: Uint8Array;
  /** The owner's signature over the manifest's transition hash (absent: unsigned). */
  readonly signature?: Uint8Array;
}

/**
 * Reads the workload owners of manifest bytes (strict parsing; throws on bad bytes): the owner
 * set, or a bare `WorkloadOwnerPubKeys` list.
 */
type OwnerKeysOf = (
  bytes: Uint8Array,
  field: string,
) => WorkloadOwners | readonly string[];

function asOwners(owners: WorkloadOwners | readonly string[]): WorkloadOwners {
  return Array.isArray(owners) ? ownersOfKeys(owners) : owners as WorkloadOwners;
}

/**
 * The keys a verifier pins: full PKIX DER keys (lower-case hex), or an owner set whose keys
 * named by digest (`WorkloadOwnerKeyDigests`) count too.
 */
type PinnedOwners = readonly string[] | WorkloadOwners;

/** Whether `signer` is one of `pinned`'s keys (by full key, or by the SHA-256 of its DER). */
async function isPinned(
  pinned: { keys: ReadonlySet<string>; keyDigests: ReadonlySet<string> },
  signer: UpdateSigner,
): Promise<boolean> {
  if (pinned.keys.has(signer.publicKeyHex)) return true;
  if (pinned.keyDigests.size === 0) return false;
  return pinned.keyDigests.has(encodeHex(await sha256(decodeHex(signer.publicKeyHex))));
}

/** What a verified chain showed. */
interface VerifiedOwnerChain {
  /** The transition hash of every manifest, oldest first. */
  readonly transitions: readonly Uint8Array[];
  /** Indexes of the transitions signed by a pinned key (empty without pins). */
  readonly pinnedLinks: readonly number[];
}

/**
 * Verifies that every manifest of `history` is signed by a workload owner (the first by a key
 * it lists itself, each later one by a key its predecessor lists) and, when `pinned` is given,
 * that at least one transition is signed by one of those keys.
 *
 * @param pinned lower-case hex PKIX DER keys the verifier trusts (a pod's trust document), or an
 *   owner set (the CLI's local manifest, whose owners may be named by key digest)
 * @param pinnedBy who pins them, for the error message (default: a pod)
 * @throws {VerificationError} naming `history[i].signature` for a missing or wrong signature, or
 *   `WorkloadOwnerPubKeys` when no transition is signed by a pinned key
 */
export async function verifyOwnerChain(
  history: readonly SignedManifest[],
  ownerKeysOf: OwnerKeysOf,
  pinned?: PinnedOwners,
  pinnedBy = "this pod pins",
): Promise<VerifiedOwnerChain> {
  const owners = pinned === undefined ? ownersOfKeys([]) : asOwners(pinned);
  const pinnedSet = {
    keys: new Set(owners.keys.map((k) => k.toLowerCase())),
    keyDigests: new Set(owners.keyDigests.map((k) => k.toLowerCase())),
  };
  const transitions: Uint8Array[] = [];
  const pinnedLinks: number[] = [];
  let previous = GENESIS_TRANSITION;
  let signerKeys: WorkloadOwners = ownersOfKeys([]);
  for (const [i, entry] of history.entries()) {
    const field = `history[${i}]`;
    const ownKeys = asOwners(ownerKeysOf(entry.bytes, `${field}.manifest`));
    const keys = i === 0 ? ownKeys : signerKeys;
    const transition = await transitionHash(await manifestHash(entry.bytes), previous);
    if (!entry.signature || entry.signature.length === 0) {
      throw new VerificationError(`${field}.signature`, "the manifest is not signed by an owner");
    }
    let signer: UpdateSigner;
    try {
      signer = await authenticateManifestUpdate(keys, transition, entry.signature);
    } catch (cause) {
      const reason = cause instanceof ContrastError ? cause.reason : String(cause);
      throw new VerificationError(
        `${field}.signature`,
        `${
          i === 0 ? "the first manifest is not signed by a key it lists" : "not signed by a key " +
            "of the previous manifest"
        }: ${reason}`,
        { cause },
      );
    }
    if (await isPinned(pinnedSet, signer)) pinnedLinks.push(i);
    transitions.push(transition);
    previous = transition;
    signerKeys = ownKeys;
  }
  if (pinned !== undefined && pinnedLinks.length === 0) {
    throw new VerificationError(
      "WorkloadOwnerPubKeys",
      history.length === 0
        ? "the Coordinator has no manifest yet"
        : `no manifest of the Coordinator's history (latest ${
          encodeHex(transitions.at(-1)!).slice(0, 16)
        }…) is signed by a workload owner key ${pinnedBy}: a history written by someone else`,
    );
  }
  return { transitions, pinnedLinks };
}

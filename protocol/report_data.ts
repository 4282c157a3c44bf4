/**
 * What a Coordinator's and an initializer's evidence bind in their 64-byte `report_data`.
 *
 * Both are SHA-512 over a fixed-layout byte string; every field has a fixed length (or a count
 * prefix), so two different inputs can never encode to the same bytes:
 *
 * Coordinator (`POST /attest`, and the TLS certificate extension):
 * ```
 * "contrast/coordinator/v1" 0x00
 * nonce                         32 bytes (all zero in the TLS certificate's evidence)
 * SHA-256(TLS server SPKI DER)  32 bytes
 * SHA-256(HPKE public key)      32 bytes (the key seed shares are sealed to)
 * latest transition hash        32 bytes (all zero before the first manifest)
 * count of CA PEMs              1 byte
 * SHA-256(CA PEM text) …        32 bytes each, in order: root CA, then mesh CA
 * ```
 *
 * Initializer (mesh API, `POST /mesh/certificate`):
 * ```
 * "contrast/mesh/v2" 0x00
 * TLS channel binding            32 bytes (the exporter of the TLS 1.3 connection the request
 *                                travels on, `atls/channel_binding.ts`)
 * SHA-256(leaf SPKI DER)         32 bytes (the key the mesh certificate is issued to)
 * ```
 * The channel binding takes the place of a challenge nonce: it is unique per connection, so
 * evidence made for one connection is refused on any other, and the workload secret is sent
 * inside that connection (no HPKE key to bind).
 *
 * Peer Coordinator (asking an active peer for the seed):
 * ```
 * "contrast/peer/v1" 0x00
 * nonce                          32 bytes (the peer's single-use challenge)
 * SHA-256(HPKE public key)       32 bytes (the key the seed is sealed to)
 * ```
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { concatBytes, digest, sha256 } from "../util/bytes/mod.ts";
import { digestSync } from "../util/bytes/digest_sync.ts";

/** Length of every nonce in the protocol. */
export const NONCE_LENGTH = 32;

/** Length of the TLS channel binding an initializer's evidence binds (`atls/channel_binding.ts`). */
export const CHANNEL_BINDING_LENGTH = 32;

const COORDINATOR_LABEL = "contrast/coordinator/v1";
const MESH_LABEL = "contrast/mesh/v2";
const PEER_LABEL = "contrast/peer/v1";
const encoder = new TextEncoder();

function label(text: string): Uint8Array {
  return concatBytes(encoder.encode(text), new Uint8Array([0]));
}

function exact(bytes: Uint8Array, length: number, field: string): Uint8Array {
  if (bytes.length !== length) {
    throw new ParseError(field, `expected ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** The inputs a Coordinator's evidence binds. */
export interface CoordinatorBinding {
  /** The client's nonce (32 bytes), or 32 zero bytes for the TLS certificate's evidence. */
  readonly nonce: Uint8Array;
  /** DER of the SubjectPublicKeyInfo of the TLS server certificate. */
  readonly tlsSpki: Uint8Array;
  /** The Coordinator's HPKE public key. */
  readonly hpkePublicKey: Uint8Array;
  /** The latest transition hash (32 bytes), or `undefined` before the first manifest. */
  readonly latestTransition?: Uint8Array;
  /** PEM texts of the CAs, in order: root CA, mesh CA (empty before the first manifest). */
  readonly caPems: readonly string[];
}

/** The exact bytes hashed into a Coordinator's report data (see the module documentation). */
export async function encodeCoordinatorBinding(binding: CoordinatorBinding): Promise<Uint8Array> {
  if (binding.caPems.length > 255) throw new ParseError("caPems", "more than 255 CAs");
  return concatBytes(
    label(COORDINATOR_LABEL),
    exact(binding.nonce, NONCE_LENGTH, "nonce"),
    await sha256(binding.tlsSpki),
    await sha256(binding.hpkePublicKey),
    binding.latestTransition
      ? exact(binding.latestTransition, 32, "latestTransition")
      : new Uint8Array(32),
    new Uint8Array([binding.caPems.length]),
    ...await Promise.all(binding.caPems.map((pem) => sha256(encoder.encode(pem)))),
  );
}

/** The 64-byte report data of a Coordinator's evidence. */
export async function coordinatorReportData(binding: CoordinatorBinding): Promise<Uint8Array> {
  return digest("SHA-512", await encodeCoordinatorBinding(binding));
}

/** The inputs an initializer's evidence binds. */
interface MeshBinding {
  /** The channel binding (32 bytes) of the TLS connection the request travels on. */
  readonly channelBinding: Uint8Array;
  /** DER of the SubjectPublicKeyInfo the mesh certificate is issued to. */
  readonly leafSpki: Uint8Array;
}

/** A hash function computed in the calling thread (`digestSync`, or a native one). */
type SyncDigest = (algorithm: "SHA-256" | "SHA-512", data: Uint8Array) => Uint8Array;

/** `"contrast/mesh/v2" 0x00`, the first bytes of every initializer binding. */
const MESH_PREFIX = label(MESH_LABEL);

/**
 * The 64-byte report data of an initializer's evidence. Hashed in this thread with `hash`
 * (default {@link digestSync}; the Coordinator, which computes it for every attestation, passes
 * `node:crypto`'s native hashing, `util/bytes/digest_native.ts`).
 */
export function meshReportData(
  binding: MeshBinding,
  hash: SyncDigest = digestSync,
): Promise<Uint8Array> {
  try {
    const encoded = new Uint8Array(MESH_PREFIX.length + CHANNEL_BINDING_LENGTH + 32);
    encoded.set(MESH_PREFIX);
    encoded.set(
      exact(binding.channelBinding, CHANNEL_BINDING_LENGTH, "channelBinding"),
      MESH_PREFIX.length,
    );
    encoded.set(hash("SHA-256", binding.leafSpki), MESH_PREFIX.length + CHANNEL_BINDING_LENGTH);
    return Promise.resolve(hash("SHA-512", encoded));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The inputs a recovering Coordinator's evidence binds when it asks a peer for the seed. */
interface PeerBinding {
  /** The peer's challenge nonce (32 bytes). */
  readonly nonce: Uint8Array;
  /** The recovering Coordinator's HPKE public key. */
  readonly hpkePublicKey: Uint8Array;
}

/** The 64-byte report data of a recovering Coordinator's evidence for a peer. */
export async function peerReportData(binding: PeerBinding): Promise<Uint8Array> {
  return digest(
    "SHA-512",
    concatBytes(
      label(PEER_LABEL),
      exact(binding.nonce, NONCE_LENGTH, "nonce"),
      await sha256(binding.hpkePublicKey),
    ),
  );
}

/**
 * The two signatures of the user API:
 *
 * - Manifest update: ECDSA (hash by curve: P-256/SHA-256, P-384/SHA-384, P-521/SHA-512; IEEE
 *   P1363 encoding) by a workload owner of the *current* manifest over the 32 bytes of the new
 *   transition hash: a `WorkloadOwnerPubKeys` key, or a key whose SHA-256 is listed in
 *   `WorkloadOwnerKeyDigests` (older Contrast releases; the key is recovered from the signature,
 *   `owner_key_recovery.ts`).
 * - Recovery: RSA-PSS (SHA-256, 32-byte salt) by a `SeedshareOwnerPubKeys` key over
 *   `"contrast/recover/v1" 0x00 ‖ Coordinator HPKE key (32) ‖ latest transition (32) ‖
 *   u16be(len enc) ‖ enc ‖ ciphertext`, binding the sealed seed to the Coordinator instance it
 *   was sealed for and the history it recovers.
 *
 * @module
 */
import {
  concatBytes,
  constantTimeEqual,
  decodeHex,
  decodePem,
  encodeHex,
  sha256,
} from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { readEcdsaPublicKey, readRsaPublicKey, sameRsaPublicKey } from "../manifest/public_keys.ts";
import type { SealedBox } from "./hpke.ts";
import { ForbiddenError, UnauthenticatedError } from "./errors.ts";
import { RECOVERY_SIGNATURE_LABEL } from "./messages.ts";
import { ECDSA_HASH, type EcdsaCurve, ecdsaSignatureToP1363 } from "./ecdsa_signature.ts";
import { recoverSigningKeys } from "./owner_key_recovery.ts";
import { hasNoOwners, ownersOfKeys, type WorkloadOwners } from "../manifest/workload_owners.ts";

const HASH_BY_CURVE = ECDSA_HASH;
const PSS = { name: "RSA-PSS", hash: "SHA-256" } as const;
const PSS_SALT = 32;

/** The workload owner whose signature authorised an update. */
export interface UpdateSigner {
  /** Lower-case hex PKIX DER of the key that made the signature. */
  readonly publicKeyHex: string;
  /** Index in `WorkloadOwnerPubKeys` when the key is listed there. */
  readonly keyIndex?: number;
  /** Index in `WorkloadOwnerKeyDigests` when the key is listed by digest. */
  readonly digestIndex?: number;
}

const UPDATES_DISABLED = "the current manifest names no workload owner (WorkloadOwnerPubKeys and " +
  "WorkloadOwnerKeyDigests are empty): updates are disabled";

async function verifyWithKey(
  spki: Uint8Array,
  curve: keyof typeof HASH_BY_CURVE,
  transition: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    "spki",
    spki.slice(),
    { name: "ECDSA", namedCurve: curve },
    false,
    ["verify"],
  );
  return await crypto.subtle.verify(
    { name: "ECDSA", hash: HASH_BY_CURVE[curve] },
    key,
    signature.slice(),
    transition.slice(),
  );
}

/** The listed owner key (by full key) that signed `transition`, if any. */
async function signerByKey(
  keys: readonly string[],
  transition: Uint8Array,
  signature: Uint8Array,
): Promise<UpdateSigner | undefined> {
  for (const [i, hex] of keys.entries()) {
    const info = readEcdsaPublicKey(decodeHex(hex, `WorkloadOwnerPubKeys[${i}]`));
    if ("error" in info) continue;
    if (await verifyWithKey(info.der, info.curve, transition, signature)) {
      return { publicKeyHex: hex.toLowerCase(), keyIndex: i };
    }
  }
  return undefined;
}

/**
 * The owner listed by key digest (Contrast's `WorkloadOwnerKeyDigests`) that signed
 * `transition`: the keys the signature recovers to, kept when their SHA-256 is listed and the
 * signature verifies under them.
 */
async function signerByDigest(
  digests: readonly string[],
  transition: Uint8Array,
  signature: Uint8Array,
): Promise<UpdateSigner | undefined> {
  if (digests.length === 0) return undefined;
  const listed = digests.map((hex, i) => decodeHex(hex, `WorkloadOwnerKeyDigests[${i}]`));
  for (const candidate of await recoverSigningKeys(signature, transition)) {
    const digest = await sha256(candidate.spki);
    const digestIndex = listed.findIndex((d) => constantTimeEqual(d, digest));
    if (digestIndex < 0) continue;
    if (await verifyWithKey(candidate.spki, candidate.curve, transition, signature)) {
      return { publicKeyHex: encodeHex(candidate.spki), digestIndex };
    }
  }
  return undefined;
}

/**
 * The workload owner of `owners` (the *current* manifest's, or the first manifest's own) whose
 * signature over `transition` is `signature` (P1363).
 *
 * @throws {UnauthenticatedError} naming `signature` when it is missing or no owner made it
 * @throws {ForbiddenError} naming `WorkloadOwnerPubKeys` when updates are disabled (no owners)
 */
export async function authenticateManifestUpdate(
  owners: WorkloadOwners,
  transition: Uint8Array,
  signature: Uint8Array,
): Promise<UpdateSigner> {
  if (hasNoOwners(owners)) throw new ForbiddenError("WorkloadOwnerPubKeys", UPDATES_DISABLED);
  if (signature.length === 0) {
    throw new UnauthenticatedError("signature", "an update needs a workload owner's signature");
  }
  const signer = await signerByKey(owners.keys, transition, signature) ??
    await signerByDigest(owners.keyDigests, transition, signature);
  if (signer) return signer;
  throw new UnauthenticatedError(
    "signature",
    "not a signature over the transition by a workload owner of the current manifest",
  );
}

/**
 * Index of the `WorkloadOwnerPubKeys` key whose signature over `transition` is `signature`.
 *
 * @throws {UnauthenticatedError} naming `signature` when it is missing or no key verifies it
 * @throws {ForbiddenError} naming `WorkloadOwnerPubKeys` when updates are disabled (no keys)
 */
export async function verifyManifestUpdateSignature(
  ownerKeys: readonly string[],
  transition: Uint8Array,
  signature: Uint8Array,
): Promise<number> {
  const signer = await authenticateManifestUpdate(ownersOfKeys(ownerKeys), transition, signature);
  return signer.keyIndex!;
}

/** A manifest-update signature made outside contrast, accepted by {@link acceptExternalUpdateSignature}. */
export interface AcceptedUpdateSignature {
  /** The signature in the IEEE P1363 form the Coordinator checks. */
  readonly p1363: Uint8Array;
  /** The owner that made it. */
  readonly signer: UpdateSigner;
}

/** The curves a signature by one of `owners` can be on (all three when owners are digests). */
function ownerCurves(owners: WorkloadOwners): EcdsaCurve[] {
  const curves = new Set<EcdsaCurve>();
  for (const [i, hex] of owners.keys.entries()) {
    const info = readEcdsaPublicKey(decodeHex(hex, `WorkloadOwnerPubKeys[${i}]`));
    if (!("error" in info)) curves.add(info.curve);
  }
  if (owners.keyDigests.length > 0) {
    for (const curve of Object.keys(HASH_BY_CURVE) as EcdsaCurve[]) curves.add(curve);
  }
  return [...curves];
}

/**
 * Checks a manifest-update signature made outside contrast (an HSM, `openssl`, Go), given as
 * ASN.1 DER or raw IEEE P1363, against `owners` over `transition`, and returns it in P1363.
 *
 * @throws {ParseError} naming `field` when it is neither encoding for any owner key's curve
 * @throws {UnauthenticatedError} naming `field` when no owner made it over `transition`
 * @throws {ForbiddenError} when `owners` is empty (updates disabled)
 */
export async function acceptExternalUpdateSignature(
  owners: WorkloadOwners,
  transition: Uint8Array,
  signature: Uint8Array,
  field: string,
): Promise<AcceptedUpdateSignature> {
  if (hasNoOwners(owners)) throw new ForbiddenError("WorkloadOwnerPubKeys", UPDATES_DISABLED);
  let firstParseError: ParseError | undefined;
  let parsedAny = false;
  for (const curve of ownerCurves(owners)) {
    let p1363: Uint8Array;
    try {
      p1363 = ecdsaSignatureToP1363(signature, curve, field);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      firstParseError ??= error;
      continue;
    }
    parsedAny = true;
    try {
      return { p1363, signer: await authenticateManifestUpdate(owners, transition, p1363) };
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
    }
  }
  if (!parsedAny && firstParseError) throw firstParseError;
  throw new UnauthenticatedError(
    field,
    "not a signature over the prepared transition by a workload owner of the current manifest",
  );
}

/** A workload owner's signing key, loaded from PKCS#8 PEM. */
export interface WorkloadOwnerKey {
  /** The private key (never log it). */
  readonly privateKey: CryptoKey;
  /** PKIX DER of the public key. */
  readonly publicKeyDer: Uint8Array;
  /** The curve. */
  readonly curve: keyof typeof HASH_BY_CURVE;
}

/**
 * Loads a workload owner key (`workload-owner.pem`, PKCS#8 ECDSA P-256/384/521).
 *
 * @throws {ParseError} naming `field` when it is not such a key
 */
export async function importWorkloadOwnerKey(
  pem: string,
  field = "workload-owner.pem",
): Promise<WorkloadOwnerKey> {
  const [block] = decodePem(pem, "PRIVATE KEY", field);
  for (const curve of ["P-384", "P-256", "P-521"] as const) {
    try {
      const privateKey = await crypto.subtle.importKey(
        "pkcs8",
        block!.der.slice(),
        { name: "ECDSA", namedCurve: curve },
        true,
        ["sign"],
      );
      const jwk = await crypto.subtle.exportKey("jwk", privateKey);
      delete jwk.d;
      jwk.key_ops = ["verify"];
      const pub = await crypto.subtle.importKey(
        "jwk",
        jwk,
        { name: "ECDSA", namedCurve: curve },
        true,
        ["verify"],
      );
      const publicKeyDer = new Uint8Array(await crypto.subtle.exportKey("spki", pub));
      return { privateKey, publicKeyDer, curve };
    } catch {
      // try the next curve
    }
  }
  throw new ParseError(field, "not a PKCS#8 ECDSA P-256/P-384/P-521 private key");
}

/** The signature of a manifest update over `transition`. */
export async function signManifestUpdate(
  key: WorkloadOwnerKey,
  transition: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: HASH_BY_CURVE[key.curve] },
      key.privateKey,
      transition.slice(),
    ),
  );
}

/** The bytes a seedshare owner signs to authorise a recovery. */
export function recoveryMessage(
  coordinatorHpkeKey: Uint8Array,
  latestTransition: Uint8Array,
  sealed: SealedBox,
): Uint8Array {
  if (sealed.enc.length > 0xffff) throw new ParseError("sealedSeed.enc", "too long");
  return concatBytes(
    new TextEncoder().encode(RECOVERY_SIGNATURE_LABEL),
    new Uint8Array([0]),
    coordinatorHpkeKey,
    latestTransition,
    new Uint8Array([sealed.enc.length >> 8, sealed.enc.length & 0xff]),
    sealed.enc,
    sealed.ciphertext,
  );
}

/**
 * Checks that `ownerPublicKey` is one of `ownerKeys` and signed `message`.
 *
 * @throws {ForbiddenError} naming `ownerPublicKey` when it is not a seedshare owner
 * @throws {UnauthenticatedError} naming `signature` when the signature does not verify
 */
export async function verifyRecoverySignature(
  ownerKeys: readonly string[],
  ownerPublicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<void> {
  // Manifest keys may be PKCS#1 (Contrast's encoding) or PKIX DER; the request carries PKIX.
  const listed = ownerKeys.some((hex) => sameRsaPublicKey(decodeHex(hex), ownerPublicKey));
  if (!listed) {
    throw new ForbiddenError("ownerPublicKey", "not a SeedshareOwnerPubKeys key of the manifest");
  }
  const info = readRsaPublicKey(ownerPublicKey);
  if ("error" in info) throw new ParseError("ownerPublicKey", info.error);
  const key = await crypto.subtle.importKey("spki", info.der.slice(), PSS, false, ["verify"]);
  const ok = await crypto.subtle.verify(
    { name: "RSA-PSS", saltLength: PSS_SALT },
    key,
    signature.slice(),
    message.slice(),
  );
  if (!ok) {
    throw new UnauthenticatedError("signature", "recovery signature does not verify");
  }
}

/** A seedshare owner's key for signing recoveries, loaded from PKCS#8 PEM. */
export interface SeedshareOwnerSigningKey {
  /** The RSA-PSS private key (never log it). */
  readonly privateKey: CryptoKey;
  /** PKIX DER of the public key. */
  readonly publicKeyDer: Uint8Array;
}

/**
 * Loads a seedshare owner's RSA key (`seedshare-owner.pem`) for RSA-PSS signing.
 *
 * @throws {ParseError} naming `field` when it is not a PKCS#8 RSA key
 */
export async function importSeedshareOwnerSigningKey(
  pem: string,
  field = "seedshare-owner.pem",
): Promise<SeedshareOwnerSigningKey> {
  const [block] = decodePem(pem, "PRIVATE KEY", field);
  try {
    const privateKey = await crypto.subtle.importKey("pkcs8", block!.der.slice(), PSS, true, [
      "sign",
    ]);
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    const pub = await crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n: jwk.n, e: jwk.e, alg: "PS256", ext: true },
      PSS,
      true,
      ["verify"],
    );
    return {
      privateKey,
      publicKeyDer: new Uint8Array(await crypto.subtle.exportKey("spki", pub)),
    };
  } catch (cause) {
    throw new ParseError(field, "not a PKCS#8 RSA private key", { cause });
  }
}

/** The RSA-PSS signature authorising a recovery. */
export async function signRecovery(
  key: SeedshareOwnerSigningKey,
  message: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign(
      { name: "RSA-PSS", saltLength: PSS_SALT },
      key.privateKey,
      message.slice(),
    ),
  );
}

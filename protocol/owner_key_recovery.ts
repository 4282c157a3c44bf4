/**
 * The public keys an ECDSA signature can have been made with. A manifest of an older Contrast
 * release names its workload owners only by key digest (`WorkloadOwnerKeyDigests`: SHA-256 of the
 * PKIX DER key); an update signature then carries no key to check it with. ECDSA public key
 * recovery (SEC 1 v2, section 4.1.6) yields the at most four keys under which `r ‖ s` verifies
 * for the message; the caller keeps the one whose digest the manifest lists and verifies the
 * signature with it again. A forger would need a key whose SHA-256 is listed (a preimage) and a
 * signature valid under it, so this is as strong as listing the key itself.
 *
 * The curve follows from the P1363 length (64, 96 or 132 bytes). `@noble/curves` does the point
 * arithmetic (WebCrypto has no recovery); the recovered point goes through WebCrypto to get the
 * canonical SubjectPublicKeyInfo, byte for byte what Go's `x509.MarshalPKIXPublicKey` writes.
 *
 * @module
 */
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ECDSA_HASH, ECDSA_SCALAR_LENGTH, type EcdsaCurve } from "./ecdsa_signature.ts";

/** A key a signature may have been made with. */
interface RecoveredKey {
  /** The curve (from the signature length). */
  readonly curve: EcdsaCurve;
  /** PKIX DER SubjectPublicKeyInfo of the key. */
  readonly spki: Uint8Array;
}

const CURVES = { "P-256": p256, "P-384": p384, "P-521": p521 } as const;

/** The curve whose P1363 signatures are `length` bytes long, if any. */
function curveOfP1363Length(length: number): EcdsaCurve | undefined {
  return (Object.keys(ECDSA_SCALAR_LENGTH) as EcdsaCurve[]).find((c) =>
    ECDSA_SCALAR_LENGTH[c] * 2 === length
  );
}

/**
 * Every public key under which the P1363 signature `signature` over `message` is valid (the hash
 * is the curve's: SHA-256, SHA-384, SHA-512). Malformed signatures yield none.
 */
export async function recoverSigningKeys(
  signature: Uint8Array,
  message: Uint8Array,
): Promise<RecoveredKey[]> {
  const curve = curveOfP1363Length(signature.length);
  if (curve === undefined) return [];
  const digest = new Uint8Array(
    await crypto.subtle.digest(ECDSA_HASH[curve], message.slice()),
  );
  const points: Uint8Array[] = [];
  for (const bit of [0, 1, 2, 3]) {
    try {
      const sig = CURVES[curve].Signature.fromBytes(signature, "compact").addRecoveryBit(bit);
      points.push(sig.recoverPublicKey(digest).toBytes(false));
    } catch {
      // no key for this recovery id (r + n beyond the field, or r, s out of range)
    }
  }
  const keys: RecoveredKey[] = [];
  for (const point of points) {
    const key = await crypto.subtle.importKey(
      "raw",
      point.slice(),
      { name: "ECDSA", namedCurve: curve },
      true,
      ["verify"],
    );
    keys.push({ curve, spki: new Uint8Array(await crypto.subtle.exportKey("spki", key)) });
  }
  return keys;
}

/**
 * A pod's fresh keys for a mesh certificate request, as tests that speak the mesh API by hand make
 * them.
 *
 * @module
 */
import { HpkeRecipient } from "../../protocol/hpke.ts";

/**
 * An extractable ECDSA P-256 leaf key pair (for signing), its public key as SPKI, and an HPKE
 * recipient for the sealed workload secret.
 */
export async function podMeshKeys() {
  const leaf = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const leafPublicKey = new Uint8Array(await crypto.subtle.exportKey("spki", leaf.publicKey));
  return { leaf, leafPublicKey, hpke: await HpkeRecipient.generate() };
}

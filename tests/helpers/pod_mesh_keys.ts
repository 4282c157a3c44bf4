/**
 * A pod's fresh key for a mesh certificate request, as tests that speak the mesh API by hand make
 * it.
 *
 * @module
 */

/** An extractable ECDSA P-256 leaf key pair (for signing) and its public key as SPKI. */
export async function podMeshKeys() {
  const leaf = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  const leafPublicKey = new Uint8Array(await crypto.subtle.exportKey("spki", leaf.publicKey));
  return { leaf, leafPublicKey };
}

/**
 * A stand-in for a TLS connection's channel binding (32 random bytes), for tests that call the
 * Coordinator's `issueMeshCertificate` directly, as the mesh route does with its connection's.
 */
export function connectionBindingStandIn(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

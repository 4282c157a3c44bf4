/**
 * For the child processes of the history crash and race tests: opens the file history at
 * `Deno.args[0]` with the signing key passed as a JWK in the environment variable
 * `HISTORY_KEY_JWK`.
 *
 * @module
 */
import { FileHistoryBackend } from "../../../coordinator/history/file_backend.ts";
import { ManifestHistory } from "../../../coordinator/history/manifest_history.ts";

/** The history the parent test named, and the private key that signs its entries. */
export async function openChildHistory(): Promise<
  { history: ManifestHistory; privateKey: CryptoKey }
> {
  const jwk = JSON.parse(Deno.env.get("HISTORY_KEY_JWK")!) as JsonWebKey;
  const algorithm = { name: "ECDSA", namedCurve: "P-384" };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["sign"]);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    algorithm,
    true,
    ["verify"],
  );
  const history = ManifestHistory.open(await FileHistoryBackend.open(Deno.args[0]!), publicKey);
  return { history, privateKey };
}

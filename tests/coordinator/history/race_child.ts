/**
 * Child process of the cross-process race test: appends one manifest to the file history at
 * `Deno.args[0]` with expected previous transition `Deno.args[1]` (hex) once the file
 * `Deno.args[2]` exists (a start line shared by all racers). Exits 0 when it won, 3 on a
 * StaleTransitionError, 1 on anything else. Key as in crash_child.ts.
 */
import { decodeHex, encodeHex } from "../../../bytes/mod.ts";
import { StaleTransitionError } from "../../../coordinator/history/errors.ts";
import { FileHistoryBackend } from "../../../coordinator/history/file_backend.ts";
import { ManifestHistory } from "../../../coordinator/history/manifest_history.ts";

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
const manifest = new TextEncoder().encode(JSON.stringify({ writer: Deno.pid }));
for (;;) {
  try {
    await Deno.stat(Deno.args[2]!);
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 1));
  }
}
try {
  const entry = await history.append(
    { manifestBytes: manifest, policies: [], expectedPrevious: decodeHex(Deno.args[1]!) },
    privateKey,
  );
  console.log(encodeHex(entry.transitionHash));
  Deno.exit(0);
} catch (e) {
  Deno.exit(e instanceof StaleTransitionError ? 3 : 1);
}

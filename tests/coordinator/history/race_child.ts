/**
 * Child process of the cross-process race test: appends one manifest to the file history at
 * `Deno.args[0]` with expected previous transition `Deno.args[1]` (hex) once the file
 * `Deno.args[2]` exists (a start line shared by all racers). Exits 0 when it won, 3 on a
 * StaleTransitionError, 1 on anything else. History and key as in child_history.ts.
 */
import { decodeHex, encodeHex } from "../../../util/bytes/mod.ts";
import { StaleTransitionError } from "../../../coordinator/history/errors.ts";
import { openChildHistory } from "./child_history.ts";

const { history, privateKey } = await openChildHistory();
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

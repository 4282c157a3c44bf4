/**
 * Child process of the crash test: opens the file history at `Deno.args[0]` and appends manifests
 * in a loop until it is killed, printing `ACK <transition hash hex>` after each append resolved
 * (the point at which a Coordinator would answer the client). The history signing key comes as a
 * JWK in the environment variable `HISTORY_KEY_JWK`.
 */
import { encodeHex } from "../../../util/bytes/mod.ts";
import { GENESIS_TRANSITION } from "../../../manifest/hash.ts";
import { openChildHistory } from "./child_history.ts";

const { history, privateKey } = await openChildHistory();
let previous = (await history.latest())?.transitionHash ?? GENESIS_TRANSITION;
const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("READY\n"));
for (let i = 0;; i++) {
  const manifest = encoder.encode(JSON.stringify({ run: Deno.pid, i, pad: "x".repeat(i % 97) }));
  const policy = encoder.encode(`policy ${Deno.pid} ${i}\n`);
  const entry = await history.append(
    { manifestBytes: manifest, policies: [policy], expectedPrevious: previous },
    privateKey,
  );
  previous = entry.transitionHash;
  await Deno.stdout.write(encoder.encode(`ACK ${encodeHex(entry.transitionHash)}\n`));
}

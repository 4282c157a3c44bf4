import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { FileHistoryBackend } from "../../../coordinator/history/file_backend.ts";
import { ManifestHistory } from "../../../coordinator/history/manifest_history.ts";

/** How many times the writer is killed. The issue asks for at least 200. */
const KILLS = 200;
/** A kill lands at a random moment up to this long after the writer is ready. */
const MAX_KILL_DELAY_MS = 25;

const CHILD = new URL("./crash_child.ts", import.meta.url).pathname;

async function readLines(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const text = await new Response(stream).text();
  // Only complete lines count: a line cut by the kill was never acknowledged.
  return text.split("\n").slice(0, -1);
}

Deno.test(`history survives ${KILLS} SIGKILLs of a writer at random moments without losing an acknowledged append`, async () => {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-384" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", keys.privateKey);
  const dir = await Deno.makeTempDir({ prefix: "contrast-crash-" });
  const acknowledged: string[] = [];
  let previousChain: string[] = [];
  let killedMidRun = 0;
  try {
    for (let round = 0; round < KILLS; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-check", "--allow-read", "--allow-write", "--allow-env", CHILD, dir],
        env: { HISTORY_KEY_JWK: JSON.stringify(jwk) },
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const [ready, rest] = child.stdout.tee();
      const reader = ready.getReader();
      let seen = "";
      // Half the rounds are killed at a random moment after the writer is ready (possibly in its
      // first append), the other half after its first acknowledged append (in a later one).
      const waitFor = round % 2 === 0 ? "READY\n" : "ACK ";
      while (!seen.includes(waitFor)) {
        const chunk = await reader.read();
        if (chunk.done) break;
        seen += new TextDecoder().decode(chunk.value);
      }
      reader.releaseLock();
      ready.cancel();
      await new Promise((r) => setTimeout(r, Math.random() * MAX_KILL_DELAY_MS));
      child.kill("SIGKILL");
      const lines = await readLines(rest);
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL", `round ${round}: the writer must die by SIGKILL`);
      assert.ok(lines.includes("READY"), `round ${round}: the writer never got ready`);
      const acks = lines.filter((l) => l.startsWith("ACK ")).map((l) => l.slice(4));
      if (acks.length > 0) killedMidRun++;
      acknowledged.push(...acks);

      // A fresh process view of the store: latest verifies, the chain is complete.
      const history = ManifestHistory.open(await FileHistoryBackend.open(dir), keys.publicKey);
      const latest = await history.latest();
      const chain = (await history.chain()).map((e) => encodeHex(e.transitionHash));
      if (acknowledged.length > 0) assert.ok(latest, `round ${round}: latest lost`);
      if (latest) assert.equal(chain.at(-1), encodeHex(latest.transitionHash));
      // History only grows: the previous chain is a prefix of this one.
      assert.deepEqual(chain.slice(0, previousChain.length), previousChain, `round ${round}`);
      // Nothing acknowledged is lost; at most the one append in flight went unacknowledged.
      const inChain = new Set(chain);
      for (const hash of acknowledged) assert.ok(inChain.has(hash), `round ${round}: lost ${hash}`);
      assert.ok(
        chain.length <= previousChain.length + acks.length + 1,
        `round ${round}: more appends than acknowledged plus the one in flight`,
      );
      previousChain = chain;
    }
    assert.ok(killedMidRun >= KILLS / 2, `only ${killedMidRun} kills hit a running append loop`);
    assert.ok(acknowledged.length >= KILLS / 2, `only ${acknowledged.length} appends acknowledged`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

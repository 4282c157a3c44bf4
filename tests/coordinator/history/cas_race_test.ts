import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import {
  FileHistoryBackend,
  type HistoryBackend,
  type HistoryEntry,
  ManifestHistory,
  MemoryHistoryBackend,
  StaleTransitionError,
} from "../../../coordinator/history/mod.ts";
import { GENESIS_TRANSITION } from "../../../manifest/hash.ts";
import { historyKey } from "./helpers.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

const ROUNDS = 12;
const WRITERS = 8;

async function race(histories: ManifestHistory[], key: CryptoKey) {
  let previous = GENESIS_TRANSITION;
  const winners: HistoryEntry[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results = await Promise.allSettled(histories.map((h, w) =>
      h.append(
        {
          manifestBytes: new TextEncoder().encode(JSON.stringify({ round, writer: w })),
          policies: [],
          expectedPrevious: previous,
        },
        key,
      )
    ));
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1, `round ${round}: exactly one writer wins, got ${won.length}`);
    for (const r of lost) {
      assert.ok(r.reason instanceof StaleTransitionError, `round ${round}: ${r.reason}`);
    }
    const winner = (won[0] as PromiseFulfilledResult<HistoryEntry>).value;
    assert.deepEqual(winner.previousTransition, previous);
    winners.push(winner);
    previous = winner.transitionHash;
  }
  // No fork: the chain is exactly the winners, in order.
  const chain = await histories[0]!.chain();
  assert.deepEqual(
    chain.map((e) => encodeHex(e.transitionHash)),
    winners.map((w) => encodeHex(w.transitionHash)),
  );
}

Deno.test(`memory backend: ${WRITERS} concurrent writers, exactly one wins each of ${ROUNDS} rounds`, async () => {
  const keys = await historyKey();
  const backend = new MemoryHistoryBackend();
  await race(
    Array.from({ length: WRITERS }, () => ManifestHistory.open(backend, keys.publicKey)),
    keys.privateKey,
  );
});

Deno.test(`file backend: ${WRITERS} backend instances on one folder (separate locks), exactly one wins each round`, async () => {
  const keys = await historyKey();
  const dir = await Deno.makeTempDir({ prefix: "contrast-race-" });
  try {
    const backends: HistoryBackend[] = [];
    for (let i = 0; i < WRITERS; i++) backends.push(await FileHistoryBackend.open(dir));
    await race(backends.map((b) => ManifestHistory.open(b, keys.publicKey)), keys.privateKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file backend: one instance shared by concurrent writers, exactly one wins each round", async () => {
  const keys = await historyKey();
  const dir = await Deno.makeTempDir({ prefix: "contrast-race-" });
  try {
    const backend = await FileHistoryBackend.open(dir);
    await race(
      Array.from({ length: WRITERS }, () => ManifestHistory.open(backend, keys.publicKey)),
      keys.privateKey,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backend compare-and-swap: a stale version never wins, for both backends", () =>
  withTempDir(async (dir) => {
    for (const backend of [new MemoryHistoryBackend(), await FileHistoryBackend.open(dir)]) {
      const a = new Uint8Array([1]);
      const b = new Uint8Array([2]);
      const v1 = await backend.compareAndSwapLatest(undefined, a);
      assert.ok(v1);
      assert.equal(await backend.compareAndSwapLatest(undefined, b), undefined, "create twice");
      const v2 = await backend.compareAndSwapLatest(v1, b);
      assert.ok(v2);
      assert.equal(await backend.compareAndSwapLatest(v1, a), undefined, "stale version");
      const latest = await backend.readLatest();
      assert.deepEqual(latest?.bytes, b);
      assert.equal(latest?.version, v2);
    }
  }, { prefix: "contrast-cas-" }));

Deno.test("file backend: processes racing on one folder, exactly one wins each round", async () => {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const jwk = JSON.stringify(await crypto.subtle.exportKey("jwk", keys.privateKey));
  const dir = await Deno.makeTempDir({ prefix: "contrast-race-proc-" });
  const child = new URL("./race_child.ts", import.meta.url).pathname;
  try {
    let previous = encodeHex(GENESIS_TRANSITION);
    const winners: string[] = [];
    for (let round = 0; round < 3; round++) {
      const start = `${dir}/start-${round}`;
      const racers = Array.from({ length: 4 }, () =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--no-check",
            "--allow-read",
            "--allow-write",
            "--allow-env",
            child,
            `${dir}/h`,
            previous,
            start,
          ],
          env: { HISTORY_KEY_JWK: jwk },
          stdout: "piped",
          stderr: "null",
        }).spawn());
      await Deno.writeTextFile(start, "go");
      const outputs = await Promise.all(racers.map((r) => r.output()));
      const codes = outputs.map((o) => o.code).sort();
      assert.deepEqual(codes, [0, 3, 3, 3], `round ${round}: exit codes ${codes}`);
      previous = new TextDecoder().decode(outputs.find((o) => o.code === 0)!.stdout).trim();
      winners.push(previous);
    }
    const history = ManifestHistory.open(await FileHistoryBackend.open(`${dir}/h`), keys.publicKey);
    assert.deepEqual((await history.chain()).map((e) => encodeHex(e.transitionHash)), winners);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

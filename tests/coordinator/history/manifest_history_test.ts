import assert from "node:assert/strict";
import { encodeHex, sha256 } from "../../../util/bytes/mod.ts";
import {
  FileHistoryBackend,
  type HistoryBackend,
  HistoryCorruptionError,
  LATEST_RECORD_LENGTH,
  ManifestHistory,
  MemoryHistoryBackend,
  signLatestTransition,
  StaleTransitionError,
} from "../../../coordinator/history/mod.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../../manifest/hash.ts";
import { historyKey, manifestBytes, policyBytes, TamperingBackend } from "./helpers.ts";

async function appendN(history: ManifestHistory, n: number, key: CryptoKey) {
  let previous = GENESIS_TRANSITION;
  const entries = [];
  for (let i = 0; i < n; i++) {
    const entry = await history.append(
      { manifestBytes: manifestBytes(i), policies: [policyBytes(i)], expectedPrevious: previous },
      key,
    );
    entries.push(entry);
    previous = entry.transitionHash;
  }
  return entries;
}

for (
  const [name, make] of [
    ["memory", () => Promise.resolve(new MemoryHistoryBackend())],
    ["file", async () => await FileHistoryBackend.open(await Deno.makeTempDir())],
  ] as [string, () => Promise<HistoryBackend>][]
) {
  Deno.test(`${name} backend: appends chain with DESIGN.md transition hashes, oldest first`, async () => {
    const keys = await historyKey();
    const history = ManifestHistory.open(await make(), keys.publicKey);
    assert.equal(await history.latest(), undefined);
    assert.deepEqual(await history.chain(), []);
    const appended = await appendN(history, 3, keys.privateKey);
    const chain = await history.chain();
    assert.equal(chain.length, 3);
    let previous = GENESIS_TRANSITION;
    for (const [i, entry] of chain.entries()) {
      assert.deepEqual(entry.manifestBytes, manifestBytes(i));
      assert.deepEqual(entry.manifestHash, await sha256(manifestBytes(i)));
      assert.deepEqual(entry.previousTransition, previous);
      assert.deepEqual(
        entry.transitionHash,
        await transitionHash(await manifestHash(manifestBytes(i)), previous),
      );
      assert.deepEqual(entry.transitionHash, appended[i]!.transitionHash);
      previous = entry.transitionHash;
    }
    assert.deepEqual((await history.latest())!.transitionHash, appended[2]!.transitionHash);
    assert.deepEqual(await history.policy(await sha256(policyBytes(1))), policyBytes(1));
  });

  Deno.test(`${name} backend: append with a stale previous transition is a StaleTransitionError`, async () => {
    const keys = await historyKey();
    const history = ManifestHistory.open(await make(), keys.publicKey);
    const [first] = await appendN(history, 2, keys.privateKey);
    await assert.rejects(
      history.append(
        { manifestBytes: manifestBytes(9), policies: [], expectedPrevious: first!.transitionHash },
        keys.privateKey,
      ),
      (e) =>
        e instanceof StaleTransitionError && e.field === "previous_transition" &&
        e.expected === encodeHex(first!.transitionHash),
    );
    await assert.rejects(
      history.append(
        { manifestBytes: manifestBytes(9), policies: [], expectedPrevious: GENESIS_TRANSITION },
        keys.privateKey,
      ),
      StaleTransitionError,
    );
    assert.equal((await history.chain()).length, 2);
  });
}

Deno.test("append on an empty history with a non-zero previous is stale", async () => {
  const keys = await historyKey();
  const history = ManifestHistory.open(new MemoryHistoryBackend(), keys.publicKey);
  await assert.rejects(
    history.append(
      {
        manifestBytes: manifestBytes(0),
        policies: [],
        expectedPrevious: new Uint8Array(32).fill(1),
      },
      keys.privateKey,
    ),
    (e) => e instanceof StaleTransitionError && e.actual === "00".repeat(32),
  );
  assert.equal(await history.latest(), undefined);
});

Deno.test("append rejects a previous transition of the wrong length", async () => {
  const keys = await historyKey();
  const history = ManifestHistory.open(new MemoryHistoryBackend(), keys.publicKey);
  await assert.rejects(
    history.append(
      { manifestBytes: manifestBytes(0), policies: [], expectedPrevious: new Uint8Array(31) },
      keys.privateKey,
    ),
    (e) => e instanceof Error && (e as { field?: string }).field === "previous_transition",
  );
});

Deno.test("latest is a 128-byte record signed over the transition hash", async () => {
  const keys = await historyKey();
  const backend = new MemoryHistoryBackend();
  const history = ManifestHistory.open(backend, keys.publicKey);
  const [entry] = await appendN(history, 1, keys.privateKey);
  const record = (await backend.readLatest())!.bytes;
  assert.equal(record.length, LATEST_RECORD_LENGTH);
  assert.deepEqual(record.slice(0, 32), entry!.transitionHash);
});

// ---- tampering ----

async function tamperedHistory() {
  const keys = await historyKey();
  const backend = new TamperingBackend();
  const history = ManifestHistory.open(backend, keys.publicKey);
  const entries = await appendN(history, 3, keys.privateKey);
  return { keys, backend, history, entries };
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at]! ^= 0x01;
  return copy;
}

Deno.test("a flipped byte in any stored manifest is detected when walking the chain", async () => {
  for (let i = 0; i < 3; i++) {
    const { backend, history, entries } = await tamperedHistory();
    const name = `manifests/${encodeHex(entries[i]!.manifestHash)}`;
    backend.tamper(name, flip(manifestBytes(i), 3));
    await assert.rejects(
      history.chain(),
      (e) => e instanceof HistoryCorruptionError && e.field === name && /hash/.test(e.message),
    );
  }
});

Deno.test("a flipped byte in any stored transition is detected", async () => {
  for (let i = 0; i < 3; i++) {
    const { backend, history, entries } = await tamperedHistory();
    const name = `transitions/${encodeHex(entries[i]!.transitionHash)}`;
    const body = (await backend.getObject("transitions", encodeHex(entries[i]!.transitionHash)))!;
    for (const at of [0, 40, 63]) {
      backend.tamper(name, flip(body, at));
      await assert.rejects(
        history.chain(),
        (e) => e instanceof HistoryCorruptionError && e.field === name,
      );
    }
  }
});

Deno.test("a truncated transition is detected", async () => {
  const { backend, history, entries } = await tamperedHistory();
  const name = `transitions/${encodeHex(entries[2]!.transitionHash)}`;
  backend.tamper(name, new Uint8Array(0));
  await assert.rejects(
    history.latest(),
    (e) => e instanceof HistoryCorruptionError && e.field === name,
  );
});

Deno.test("a flipped byte anywhere in latest is detected", async () => {
  const { backend, history } = await tamperedHistory();
  const record = (await backend.readLatest())!.bytes;
  for (const at of [0, 31, 32, 80, 127]) {
    backend.tamper("latest", flip(record, at));
    await assert.rejects(
      history.latest(),
      (e) => e instanceof HistoryCorruptionError && e.field === "transitions/latest",
    );
  }
  backend.tamper("latest", record.slice(0, 100));
  await assert.rejects(
    history.chain(),
    (e) => e instanceof HistoryCorruptionError && /torn/.test(e.message),
  );
});

Deno.test("a latest signed by another key is rejected, and appends on top of it fail", async () => {
  const { backend, history, entries, keys } = await tamperedHistory();
  const other = await historyKey(2);
  backend.tamper(
    "latest",
    await signLatestTransition(entries[1]!.transitionHash, other.privateKey),
  );
  await assert.rejects(
    history.latest(),
    (e) =>
      e instanceof HistoryCorruptionError &&
      /not signed by the history signing key/.test(e.message),
  );
  await assert.rejects(
    history.append(
      {
        manifestBytes: manifestBytes(7),
        policies: [],
        expectedPrevious: entries[1]!.transitionHash,
      },
      keys.privateKey,
    ),
    HistoryCorruptionError,
  );
});

Deno.test("a transition pointing at a missing manifest is reported by name", async () => {
  const { backend, history, entries } = await tamperedHistory();
  const name = `manifests/${encodeHex(entries[0]!.manifestHash)}`;
  backend.tamper(name, null);
  await assert.rejects(
    history.chain(),
    (e) => e instanceof HistoryCorruptionError && e.field === name && /missing/.test(e.message),
  );
  // latest itself still verifies: only the broken link is reported.
  assert.ok(await history.latest());
});

Deno.test("a latest pointing at a missing transition is reported", async () => {
  const { backend, history, keys } = await tamperedHistory();
  const bogus = new Uint8Array(32).fill(0xab);
  backend.tamper("latest", await signLatestTransition(bogus, keys.privateKey));
  await assert.rejects(
    history.chain(),
    (e) => e instanceof HistoryCorruptionError && e.field === `transitions/${encodeHex(bogus)}`,
  );
});

Deno.test("a missing or corrupted policy is reported", async () => {
  const { backend, history } = await tamperedHistory();
  const digest = await sha256(policyBytes(0));
  backend.tamper(`policies/${encodeHex(digest)}`, flip(policyBytes(0), 0));
  await assert.rejects(history.policy(digest), HistoryCorruptionError);
  await assert.rejects(
    history.policy(new Uint8Array(32)),
    (e) => e instanceof HistoryCorruptionError && /missing/.test(e.message),
  );
});

import assert from "node:assert/strict";
import { encodeHex } from "../../../util/bytes/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import {
  FileHistoryBackend,
  HistoryCorruptionError,
  ManifestHistory,
  STALE_TEMP_AGE_MS,
  writeFileAtomically,
} from "../../../coordinator/history/mod.ts";
import { GENESIS_TRANSITION } from "../../../manifest/hash.ts";
import { historyKey, manifestBytes, policyBytes } from "./helpers.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

async function withStore(
  fn: (dir: string, history: ManifestHistory, hashes: string[]) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "contrast-file-" });
  try {
    const keys = await historyKey();
    const history = ManifestHistory.open(await FileHistoryBackend.open(dir), keys.publicKey);
    let previous = GENESIS_TRANSITION;
    const hashes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const e = await history.append(
        { manifestBytes: manifestBytes(i), policies: [policyBytes(i)], expectedPrevious: previous },
        keys.privateKey,
      );
      previous = e.transitionHash;
      hashes.push(encodeHex(e.manifestHash));
    }
    await fn(dir, history, hashes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("file layout is manifests/, policies/, transitions/ and transitions/latest", async () => {
  await withStore(async (dir, _history, hashes) => {
    for (const h of hashes) assert.ok((await Deno.stat(`${dir}/manifests/${h}`)).isFile);
    assert.equal((await Deno.stat(`${dir}/transitions/latest`)).size, 128);
    const transitions = [...Deno.readDirSync(`${dir}/transitions`)].map((e) => e.name);
    assert.equal(transitions.filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 3);
    assert.equal([...Deno.readDirSync(`${dir}/policies`)].length, 3);
    const temps = [...Deno.readDirSync(`${dir}/manifests`)].filter((e) => e.name.startsWith("."));
    assert.deepEqual(temps, [], "no temporary file is left behind after successful writes");
  });
});

Deno.test("a torn (truncated) manifest file on disk is detected, never trusted", async () => {
  await withStore(async (dir, history, hashes) => {
    const path = `${dir}/manifests/${hashes[1]}`;
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.slice(0, bytes.length >> 1));
    await assert.rejects(
      history.chain(),
      (e) => e instanceof HistoryCorruptionError && e.field === `manifests/${hashes[1]}`,
    );
  });
});

Deno.test("a torn latest file (short write) is detected as torn", async () => {
  await withStore(async (dir, history) => {
    const path = `${dir}/transitions/latest`;
    await Deno.writeFile(path, (await Deno.readFile(path)).slice(0, 77));
    await assert.rejects(
      history.latest(),
      (e) => e instanceof HistoryCorruptionError && /torn/.test(e.message),
    );
  });
});

Deno.test("a flipped byte in a file on disk is detected", async () => {
  await withStore(async (dir, history, hashes) => {
    const path = `${dir}/manifests/${hashes[0]}`;
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 1]! ^= 0x80;
    await Deno.writeFile(path, bytes);
    await assert.rejects(history.chain(), HistoryCorruptionError);
  });
});

Deno.test("re-putting an object replaces a corrupted copy with the right bytes", async () => {
  await withStore(async (dir, history, hashes) => {
    const path = `${dir}/manifests/${hashes[0]}`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await history.store.putManifest(manifestBytes(0));
    assert.deepEqual(await Deno.readFile(path), manifestBytes(0));
    assert.equal((await history.chain()).length, 3);
  });
});

Deno.test("leftover temporary files of a crashed writer do not disturb reads; stale ones are removed on open", async () => {
  await withStore(async (dir, history) => {
    const stale = `${dir}/transitions/.tmp-stale`;
    const fresh = `${dir}/transitions/.tmp-fresh`;
    await Deno.writeFile(stale, new Uint8Array([9, 9]));
    await Deno.writeFile(fresh, new Uint8Array([9]));
    const old = new Date(Date.now() - 2 * STALE_TEMP_AGE_MS);
    await Deno.utime(stale, old, old);
    assert.equal((await history.chain()).length, 3);
    await FileHistoryBackend.open(dir);
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    assert.ok(
      (await Deno.stat(fresh)).isFile,
      "a temp file that may belong to a live writer stays",
    );
  });
});

Deno.test("object names must be 64 lower-case hex digits (no path traversal)", () =>
  withTempDir(async (dir) => {
    const backend = await FileHistoryBackend.open(dir);
    for (const name of ["../latest", "latest", "A".repeat(64), "a".repeat(63)]) {
      await assert.rejects(
        backend.putObject("manifests", name, new Uint8Array(1)),
        (e) => e instanceof ParseError && e.field === "name",
      );
      await assert.rejects(backend.getObject("transitions", name), ParseError);
    }
  }, { prefix: "contrast-file-" }));

Deno.test("writeFileAtomically replaces the whole file and leaves no temporary file", () =>
  withTempDir(async (dir) => {
    await writeFileAtomically(dir, "f", new Uint8Array(100_000).fill(1));
    await writeFileAtomically(dir, "f", new Uint8Array([2]));
    assert.deepEqual(await Deno.readFile(`${dir}/f`), new Uint8Array([2]));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["f"]);
    await assert.rejects(writeFileAtomically(`${dir}/missing`, "f", new Uint8Array(1)));
  }, { prefix: "contrast-atomic-" }));

import assert from "node:assert/strict";
import { ImageCache } from "../../oci/cache.ts";
import { digestOf } from "../../oci/digest.ts";
import { parseImageReference } from "../../oci/reference.ts";
import { ephemeralImageCacheKey } from "../../oci/cache_key.ts";
import { settlesWithin } from "../helpers/settles_within.ts";

const KEY = ephemeralImageCacheKey();

async function withCache(fn: (cache: ImageCache, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-cache-test-" });
  try {
    await fn(new ImageCache(dir, KEY), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("stores documents by digest and returns them after re-checking the digest", async () => {
  await withCache(async (cache) => {
    const doc = new TextEncoder().encode('{"schemaVersion":2}');
    const digest = await digestOf(doc);
    assert.equal(await cache.getBlob(digest), undefined);
    await cache.putBlob(digest, doc);
    assert.deepEqual(await cache.getBlob(digest), doc);
  });
});

Deno.test("treats a corrupted cached document as missing and removes it", async () => {
  await withCache(async (cache, dir) => {
    const doc = new TextEncoder().encode('{"a":1}');
    const digest = await digestOf(doc);
    await cache.putBlob(digest, doc);
    const path = `${dir}/blobs/sha256/${digest.slice(7)}`;
    await Deno.writeTextFile(path, '{"a":2}');
    assert.equal(await cache.getBlob(digest), undefined);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});

Deno.test("records tag resolutions per registry, repository and tag", async () => {
  await withCache(async (cache, dir) => {
    const ref = parseImageReference("127.0.0.1:5000/team/app:v1");
    const digest = `sha256:${"ab".repeat(32)}`;
    await cache.putTag(ref, "v1", digest, new Date("2026-01-02T03:04:05Z"));
    assert.deepEqual(await cache.getTag(ref, "v1"), {
      digest,
      resolvedAt: "2026-01-02T03:04:05.000Z",
    });
    assert.equal(await cache.getTag(ref, "v2"), undefined);
    assert.equal(
      await cache.getTag(parseImageReference("127.0.0.1:5000/other:v1"), "v1"),
      undefined,
    );
    await Deno.writeTextFile(
      `${dir}/tags/127.0.0.1:5000/team/app/v1.json`,
      '{"digest":"sha256:zz","resolvedAt":"x"}',
    );
    assert.equal(await cache.getTag(ref, "v1"), undefined, "a malformed record is a miss");
  });
});

Deno.test("stores account files, keeping absent files absent", async () => {
  await withCache(async (cache, dir) => {
    const digest = `sha256:${"cd".repeat(32)}`;
    await cache.putAccountFiles(digest, { passwd: "root:x:0:0\n" });
    assert.deepEqual(await cache.getAccountFiles(digest), { passwd: "root:x:0:0\n" });
    await Deno.writeTextFile(`${dir}/files/sha256/${"cd".repeat(32)}.json`, '{"passwd":5}');
    assert.equal(await cache.getAccountFiles(digest), undefined);
  });
});

/** Replaces `from` by `to` in the cache file at `path`, keeping its MAC line. */
async function tamper(path: string, from: string, to: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.includes(from), `${path} holds ${from}`);
  await Deno.writeTextFile(path, text.replace(from, to));
}

const APP_PASSWD = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";

Deno.test("account files: a changed body, an unsealed entry or a bare MAC line is a miss", async () => {
  await withCache(async (cache, dir) => {
    const digest = `sha256:${"cd".repeat(32)}`;
    const path = `${dir}/files/sha256/${"cd".repeat(32)}.json`;
    await cache.putAccountFiles(digest, { passwd: APP_PASSWD });
    assert.match(await Deno.readTextFile(path), /^[0-9a-f]{64}\n\{"passwd"/);
    // The app's user made root, MAC line kept.
    await tamper(path, "app:x:1000:1000", "app:x:0:0");
    assert.equal(await cache.getAccountFiles(digest), undefined);
    // The entry format before MACs (or anyone without the key): plain JSON.
    await Deno.writeTextFile(path, JSON.stringify({ passwd: "app:x:0:0::/:/bin/sh\n" }));
    assert.equal(await cache.getAccountFiles(digest), undefined);
    await Deno.writeTextFile(path, `${"00".repeat(32)}\n`);
    assert.equal(await cache.getAccountFiles(digest), undefined);
    // Written again, it verifies.
    await cache.putAccountFiles(digest, { passwd: APP_PASSWD });
    assert.deepEqual(await cache.getAccountFiles(digest), { passwd: APP_PASSWD });
  });
});

Deno.test("an entry copied to another name is a miss (the MAC covers kind and name)", async () => {
  await withCache(async (cache, dir) => {
    const rootImage = `sha256:${"aa".repeat(32)}`;
    const appImage = `sha256:${"bb".repeat(32)}`;
    await cache.putAccountFiles(rootImage, { passwd: "app:x:0:0::/:/bin/sh\n" });
    await Deno.mkdir(`${dir}/files/sha256`, { recursive: true });
    await Deno.copyFile(
      `${dir}/files/sha256/${"aa".repeat(32)}.json`,
      `${dir}/files/sha256/${"bb".repeat(32)}.json`,
    );
    assert.equal(await cache.getAccountFiles(appImage), undefined);

    const ref = parseImageReference("127.0.0.1:5000/team/app:v1");
    const other = parseImageReference("127.0.0.1:5000/team/other:v1");
    await cache.putTag(other, "v1", rootImage);
    await Deno.mkdir(`${dir}/tags/127.0.0.1:5000/team/app`, { recursive: true });
    await Deno.copyFile(
      `${dir}/tags/127.0.0.1:5000/team/other/v1.json`,
      `${dir}/tags/127.0.0.1:5000/team/app/v1.json`,
    );
    assert.equal(await cache.getTag(ref, "v1"), undefined, "another repository's record");
    await Deno.copyFile(
      `${dir}/tags/127.0.0.1:5000/team/other/v1.json`,
      `${dir}/tags/127.0.0.1:5000/team/other/v2.json`,
    );
    assert.equal(await cache.getTag(other, "v2"), undefined, "another tag's record");
    assert.equal((await cache.getTag(other, "v1"))?.digest, rootImage);
  });
});

Deno.test("a tag record pointed at another digest is a miss", async () => {
  await withCache(async (cache, dir) => {
    const ref = parseImageReference("127.0.0.1:5000/team/app:v1");
    await cache.putTag(ref, "v1", `sha256:${"aa".repeat(32)}`);
    await tamper(`${dir}/tags/127.0.0.1:5000/team/app/v1.json`, "aa".repeat(32), "bb".repeat(32));
    assert.equal(await cache.getTag(ref, "v1"), undefined);
  });
});

Deno.test("entries written under another workspace's key are misses", async () => {
  await withCache(async (cache, dir) => {
    const digest = `sha256:${"cd".repeat(32)}`;
    const ref = parseImageReference("127.0.0.1:5000/team/app:v1");
    const other = new ImageCache(dir, ephemeralImageCacheKey());
    await other.putAccountFiles(digest, { passwd: APP_PASSWD });
    await other.putTag(ref, "v1", digest);
    assert.deepEqual(await other.getAccountFiles(digest), { passwd: APP_PASSWD });
    assert.equal(await cache.getAccountFiles(digest), undefined);
    assert.equal(await cache.getTag(ref, "v1"), undefined);
    assert.throws(() => new ImageCache(dir, new Uint8Array(16)), RangeError);
  });
});

Deno.test("leaves no temporary files behind", async () => {
  await withCache(async (cache, dir) => {
    const doc = new Uint8Array([1]);
    const digest = await digestOf(doc);
    await Promise.all([cache.putBlob(digest, doc), cache.putBlob(digest, doc)]);
    const names = [...Deno.readDirSync(`${dir}/blobs/sha256`)].map((e) => e.name);
    assert.deepEqual(names, [digest.slice(7)]);
  });
});

Deno.test({
  name: "a tampered cache cannot make reads endless: FIFOs, links and oversized files are misses",
  // Before the fix the FIFO's open never returned (a pending op the sanitizer would report).
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withCache(async (cache, dir) => {
      const ref = parseImageReference("127.0.0.1:5000/team/app:v1");
      const digest = `sha256:${"cd".repeat(32)}`;
      await cache.putBlob(digest, new Uint8Array([1]));
      await cache.putTag(ref, "v1", digest);
      await cache.putAccountFiles(digest, { passwd: "root:x:0:0::/:/bin/sh\n" });
      const blob = `${dir}/blobs/sha256/${digest.slice(7)}`;
      const files = `${dir}/files/sha256/${digest.slice(7)}.json`;
      const tag = `${dir}/tags/127.0.0.1:5000/team/app/v1.json`;
      const replaceWithFifo = async (path: string) => {
        await Deno.remove(path);
        const made = await new Deno.Command("mkfifo", { args: [path] }).output();
        assert.ok(made.success, "mkfifo");
      };
      for (const path of [blob, files, tag]) await replaceWithFifo(path);
      assert.equal(await settlesWithin(cache.getBlob(digest), 3000), undefined);
      assert.equal(await settlesWithin(cache.getAccountFiles(digest), 3000), undefined);
      assert.equal(await settlesWithin(cache.getTag(ref, "v1"), 3000), undefined);
      // A link to an endless device, and a file larger than any document.
      await Deno.remove(blob).catch(() => {});
      await Deno.symlink("/dev/zero", blob);
      assert.equal(await settlesWithin(cache.getBlob(digest), 3000), undefined);
      await Deno.remove(blob).catch(() => {});
      await Deno.writeFile(blob, new Uint8Array(4 * 1024 * 1024 + 1));
      assert.equal(await cache.getBlob(digest), undefined);
      await assert.rejects(Deno.lstat(blob), Deno.errors.NotFound);
    });
  },
});

import assert from "node:assert/strict";
import {
  ephemeralImageCacheKey,
  imageCacheKeyPath,
  newImageCacheKey,
  readImageCacheKey,
} from "../../oci/cache_key.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

Deno.test("image-cache key: missing is undefined, a stored key reads back", () =>
  withTempDir(async (dir) => {
    assert.equal(await readImageCacheKey(dir), undefined);
    const { key, text } = newImageCacheKey();
    assert.equal(key.length, 32);
    assert.match(text, /^[0-9a-f]{64}\n$/);
    assert.equal(imageCacheKeyPath(`${dir}/`), `${dir}/image-cache.key`);
    await Deno.writeTextFile(imageCacheKeyPath(dir), text);
    assert.deepEqual(await readImageCacheKey(dir), key);
    assert.notDeepEqual(ephemeralImageCacheKey(), ephemeralImageCacheKey());
  }));

Deno.test("image-cache key: a malformed key file is a ParseError naming it", () =>
  withTempDir(async (dir) => {
    const path = imageCacheKeyPath(dir);
    for (const bad of ["", "ab".repeat(31), `${"AB".repeat(32)}\n`, `${"ab".repeat(32)}\n\n`]) {
      await Deno.writeTextFile(path, bad);
      await assert.rejects(
        readImageCacheKey(dir),
        (e: unknown) => e instanceof ParseError && e.message.includes(path),
        JSON.stringify(bad),
      );
    }
    await Deno.writeFile(path, new Uint8Array([0xff, 0xfe]));
    await assert.rejects(readImageCacheKey(dir), ParseError);
    await Deno.remove(path);
    await Deno.mkdir(path);
    await assert.rejects(readImageCacheKey(dir), ParseError);
  }));

import assert from "node:assert/strict";
import { writeFileAtomic } from "../../collateral/mod.ts";

Deno.test("writeFileAtomic replaces the content and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/entry`;
    await writeFileAtomic(path, new TextEncoder().encode("first"));
    await writeFileAtomic(path, new TextEncoder().encode("second, longer"));
    assert.equal(await Deno.readTextFile(path), "second, longer");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["entry"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic fails cleanly when the directory does not exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      writeFileAtomic(`${dir}/missing/entry`, new Uint8Array(1)),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { writeFileAtomic } from "../../../util/files/atomic_write.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

Deno.test("writeFileAtomic replaces the content and leaves no temporary file", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/entry`;
    await writeFileAtomic(path, new TextEncoder().encode("first"));
    await writeFileAtomic(path, new TextEncoder().encode("second, longer"));
    assert.equal(await Deno.readTextFile(path), "second, longer");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["entry"]);
  }));

Deno.test("writeFileAtomic fails cleanly when the directory does not exist", () =>
  withTempDir(async (dir) => {
    await assert.rejects(
      writeFileAtomic(`${dir}/missing/entry`, new Uint8Array(1)),
      Deno.errors.NotFound,
    );
  }));

Deno.test("writeFileAtomic writes text as UTF-8 with exactly the given mode", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/key.pem`;
    await writeFileAtomic(path, "secret ✓", { mode: 0o400 });
    assert.equal(await Deno.readTextFile(path), "secret ✓");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o400);
    await writeFileAtomic(path, "replaced", { mode: 0o666 });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o666, "not reduced by the umask");
  }));

Deno.test("writeFileAtomic uses the named temporary file and removes it when the rename fails", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeTextFile(`${dir}/target/inside`, "x");
    // Renaming a file over a non-empty folder fails after the temporary file was written.
    await assert.rejects(writeFileAtomic(`${dir}/target`, "data", { tempName: ".tmp-known" }));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["target"]);
    await writeFileAtomic(`${dir}/other`, "data", { tempName: ".tmp-known" });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["other", "target"]);
  }));

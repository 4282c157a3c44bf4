import assert from "node:assert/strict";
import { readFileIfExists } from "../../../util/files/read_if_exists.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

Deno.test("readFileIfExists returns the content, or undefined only when the file is absent", () =>
  withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, Uint8Array.of(1, 2));
    assert.deepEqual(await readFileIfExists(`${dir}/f`), Uint8Array.of(1, 2));
    assert.equal(await readFileIfExists(`${dir}/absent`), undefined);
    // A folder is not "absent": the error is passed on.
    await assert.rejects(readFileIfExists(dir));
  }));

/**
 * A directory is read as `kubectl apply -f DIR` reads it: symbolic links to YAML files are read
 * (before, they were skipped without a word, so a workload kubectl applies from a linked file was
 * neither made confidential nor reported as left unchanged), links to directories are not
 * descended into, and a YAML-named link to nothing is an error naming it (exit 2).
 */
import assert from "node:assert/strict";
import { expandYamlPaths } from "../../../util/files/mod.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { exitCodeFor } from "../../../cli/exit_codes.ts";
import { readCheckInputs } from "../../../policy/check/inputs.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { writeAll } from "../../../deploy/workspace.ts";

const POD = (name: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  runtimeClassName: contrast-cc\n` +
  `  containers: [{name: c, image: "127.0.0.1:5000/web:1.0"}]\n`;

/** `dir/app` with a regular, a linked and a nested file, a linked folder and a text file. */
async function linkedTree(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/shared/more`, { recursive: true });
  await Deno.mkdir(`${dir}/app/sub`, { recursive: true });
  await Deno.writeTextFile(`${dir}/app/a.yml`, POD("a"));
  await Deno.writeTextFile(`${dir}/shared/b.yml`, POD("b"));
  await Deno.symlink("../shared/b.yml", `${dir}/app/b.yml`);
  await Deno.writeTextFile(`${dir}/app/sub/c.yaml`, POD("c"));
  await Deno.writeTextFile(`${dir}/shared/more/d.yml`, POD("d"));
  await Deno.symlink("../shared/more", `${dir}/app/more`);
  await Deno.writeTextFile(`${dir}/app/notes.txt`, "not yaml: [");
  return `${dir}/app`;
}

Deno.test("a linked YAML file in a directory is read (kubectl applies it); a linked folder is not entered", () =>
  withTempDir(async (dir) => {
    const app = await linkedTree(dir);
    assert.deepEqual(await expandYamlPaths([app]), [
      `${app}/a.yml`,
      `${app}/b.yml`,
      `${app}/sub/c.yaml`,
    ]);
    // policy check reads the same files.
    const inputs = await readCheckInputs([app]);
    assert.deepEqual(inputs.workloads.map((w) => w.workload.name), ["a", "b", "c"]);
  }));

Deno.test("a YAML-named link to nothing, or to a folder, is bad input naming it", () =>
  withTempDir(async (dir) => {
    const app = await linkedTree(dir);
    await Deno.symlink("../shared/gone.yml", `${app}/gone.yml`);
    for (const read of [() => expandYamlPaths([app]), () => readCheckInputs([app])]) {
      await assert.rejects(read(), (e: unknown) => {
        assert.ok(e instanceof ParseError, String(e));
        assert.equal(e.field, `${app}/gone.yml`);
        assert.match(e.reason, /symbolic link to a missing file/);
        assert.equal(exitCodeFor(e), 2);
        return true;
      });
    }
    await Deno.remove(`${app}/gone.yml`);
    await Deno.symlink("../shared/more", `${app}/folder.yml`);
    await assert.rejects(
      expandYamlPaths([app]),
      /folder\.yml: a symbolic link to something that is not a file/,
    );
  }));

Deno.test("written in place (generate's writeAll), a linked input's link is replaced; its target is not touched", () =>
  withTempDir(async (dir) => {
    const app = await linkedTree(dir);
    const [, linked] = await expandYamlPaths([app]);
    await writeAll([{ path: linked!, data: "# generated\n" }]);
    const info = await Deno.lstat(`${app}/b.yml`);
    assert.ok(info.isFile && !info.isSymlink);
    assert.equal(await Deno.readTextFile(`${app}/b.yml`), "# generated\n");
    assert.equal(await Deno.readTextFile(`${dir}/shared/b.yml`), POD("b"));
  }));

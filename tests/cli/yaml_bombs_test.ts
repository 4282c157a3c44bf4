/**
 * A hostile YAML file (a self-referential alias, a "billion laughs" alias bomb) given to `set`,
 * `policy check` or `generate` is bad input: exit 2 with a message naming the file, never a crash
 * with a stack trace (exit 70). Each command runs as its own process.
 */
import assert from "node:assert/strict";
import { runDenoScript } from "../../testing/simulation/processes.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { deployment } from "../../testing/simulation/deployment.ts";

const DEPLOYMENT = deployment();

const SELF = `apiVersion: v1
kind: Pod
metadata: &m
  name: x
  labels: *m
spec: {containers: [{name: a, image: a}]}
`;

const LAUGHS = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"].concat(
  "bcdefghi".split("").map((c, i) =>
    `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`
  ),
).join("\n") + "\n";

const COMMANDS: [string, (file: string) => string[]][] = [
  ["set", (f) => ["set", "-c", "127.0.0.1:1", "-m", "manifest.json", f]],
  ["policy check", (f) => ["policy", "check", f]],
  ["generate", (f) => ["generate", "--reference-values", "Metal-QEMU-SNP", f]],
];

for (const [name, yaml] of [["self-referential alias", SELF], ["billion laughs", LAUGHS]]) {
  for (const [command, args] of COMMANDS) {
    Deno.test(`contrast ${command}: a ${name} is exit 2 naming the file`, () =>
      withTempDir(async (dir) => {
        const file = `${dir}/bomb.yml`;
        await Deno.writeTextFile(file, yaml);
        await Deno.writeFile(`${dir}/manifest.json`, (await DEPLOYMENT).manifest());
        const r = await runDenoScript("cli/main.ts", args(file), dir);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /bomb\.yml/);
        assert.match(r.stderr, /alias/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      }));
  }
}

import assert from "node:assert/strict";
import { runContrast } from "../helpers/contrast_cli.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** Runs bash completion of `words` (the last one is being typed) with `script` sourced. */
async function complete(script: string, words: string[]): Promise<string[]> {
  const program = [
    `source ${script}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    `_contrast`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join("\n");
  const out = await new Deno.Command("bash", { args: ["-c", program], stdout: "piped" }).output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

Deno.test("completion bash: commands, subcommands and flags of the command being typed", () =>
  withTempDir(async (dir) => {
    const r = await runContrast("completion", "bash");
    assert.equal(r.code, 0, r.stderr);
    await Deno.writeTextFile(`${dir}/contrast.bash`, r.stdout);
    const script = `${dir}/contrast.bash`;
    assert.deepEqual(await complete(script, ["contrast", "ev"]), ["evidence"]);
    assert.deepEqual(await complete(script, ["contrast", "evidence", ""]), [
      "show",
      "verify",
      "--help",
    ]);
    const flags = await complete(script, ["contrast", "evidence", "verify", "--pl"]);
    assert.deepEqual(flags, ["--platform"]);
    const verify = await complete(script, ["contrast", "verify", "--json", "--ti"]);
    assert.deepEqual(verify, ["--timeout"]);
  }));

Deno.test("completion zsh and fish print scripts; another shell is bad input", async () => {
  const zsh = await runContrast("completion", "zsh");
  assert.equal(zsh.code, 0);
  assert.match(zsh.stdout, /^#compdef contrast/);
  const fish = await runContrast("completion", "fish");
  assert.equal(fish.code, 0);
  assert.match(fish.stdout, /complete -c contrast -n '__fish_use_subcommand' -a evidence/);
  assert.match(fish.stdout, /__fish_seen_subcommand_from verify' -l timeout/);
  const other = await runContrast("completion", "tcsh");
  assert.equal(other.code, 2);
  assert.match(other.stderr, /shell: expected one of bash, zsh, fish/);
});

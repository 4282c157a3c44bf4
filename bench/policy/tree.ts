/**
 * An earlier commit's source tree, for benchmarks that compare the current code with it in one
 * process: extracted with `git archive` into a temporary directory, from which its modules are
 * imported (each tree with its own rules, wasm and evaluator).
 *
 * @module
 */

/** The repository root (this file is `bench/policy/tree.ts`). */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Extracts `commit`'s tree into a new temporary directory (prefix `prefix`) and returns its path;
 * the caller removes it.
 *
 * @throws {Error} when git cannot archive `commit` (unknown revision) or tar cannot unpack it
 */
export async function extractTree(commit: string, prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  const archive = new Deno.Command("git", {
    args: ["-C", REPO_ROOT, "archive", "--format=tar", commit],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tar = new Deno.Command("tar", { args: ["-x", "-C", dir], stdin: "piped" }).spawn();
  await archive.stdout.pipeTo(tar.stdin);
  const [a, t] = await Promise.all([archive.output(), tar.status]);
  if (!a.success || !t.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`git archive ${commit}: ${new TextDecoder().decode(a.stderr)}`);
  }
  return dir;
}

/**
 * `deno bundle` of contrast's entry points: one self-contained JavaScript file per program, with
 * every asset it reads embedded (JSON/bytes imports), runnable with `deno run` anywhere.
 *
 * @module
 */
import type { Component } from "./components.ts";

/** The repository root (with a trailing slash). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/**
 * Bundles `component` into `outDir/<name>.js`; returns the path.
 *
 * @throws {Error} with deno's output when bundling fails
 */
export async function bundleComponent(component: Component, outDir: string): Promise<string> {
  return await bundleEntry(component.entry, `${outDir}/${component.name}.js`);
}

/**
 * Bundles the module `entry` (relative to the repository root, or absolute) into `out`.
 *
 * @throws {Error} with deno's output when bundling fails
 */
export async function bundleEntry(entry: string, out: string): Promise<string> {
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")) || "/", { recursive: true });
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--config", `${REPO_ROOT}deno.json`, "-o", out, entry],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`deno bundle ${entry} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  return out;
}

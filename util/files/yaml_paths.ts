/**
 * Expanding the paths a user gives to commands that read Kubernetes YAML: files as they are,
 * directories as every `*.yml` / `*.yaml` below them (sorted, recursively).
 *
 * @module
 */
import { ParseError } from "../errors/mod.ts";

async function yamlFilesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const full = `${dir.replace(/\/+$/, "")}/${entry.name}`;
    if (entry.isDirectory) found.push(...await yamlFilesIn(full));
    else if (entry.isFile && /\.ya?ml$/.test(entry.name)) found.push(full);
  }
  return found.sort();
}

/**
 * The YAML files `paths` name, each once, in a stable order (`-` is kept as is: stdin).
 *
 * @throws {ParseError} naming the path when it does not exist
 */
export async function expandYamlPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (path === "-") {
      out.push(path);
      continue;
    }
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch (cause) {
      throw new ParseError(path, "no such file or directory", { cause });
    }
    for (const file of stat.isDirectory ? await yamlFilesIn(path) : [path]) {
      if (seen.has(file)) continue;
      seen.add(file);
      out.push(file);
    }
  }
  return out;
}

/**
 * Expanding the paths a user gives to commands that read Kubernetes YAML: files as they are,
 * directories as every `*.yml` / `*.yaml` below them (sorted, recursively), read the way
 * `kubectl apply -f DIR` reads a directory: a symbolic link to a file is read (kubectl follows
 * it), a symbolic link to a directory is not descended into (Go's `filepath.Walk`), and a link
 * whose target is missing or not a file is an error naming it (kubectl fails on it too). Before,
 * links were skipped without a word: a workload kubectl applies from a linked file was neither
 * made confidential nor reported as left unchanged.
 *
 * @module
 */
import { ParseError } from "../errors/mod.ts";

/** Names of the files a directory contributes. */
const YAML_NAME = /\.ya?ml$/;
/** With JSON: what `kubectl apply -f DIR` reads from a directory (`.json`, `.yaml`, `.yml`). */
const YAML_OR_JSON_NAME = /\.(ya?ml|json)$/;

/** Options of {@link expandYamlPaths} and {@link yamlFilesInDirectory}. */
interface ExpandOptions {
  /** Also list `*.json` files found in directories (kubectl applies them too). */
  readonly json?: boolean;
}

/**
 * Whether the symbolic link `path` (named like YAML) leads to a file.
 *
 * @throws {ParseError} naming `path` when the target is missing or not a file
 */
async function linkedFile(path: string): Promise<true> {
  let target: Deno.FileInfo;
  try {
    target = await Deno.stat(path);
  } catch (cause) {
    throw new ParseError(
      path,
      "a symbolic link to a missing file (kubectl apply -f on the directory fails on it too)",
      { cause },
    );
  }
  if (!target.isFile) {
    throw new ParseError(path, "a symbolic link to something that is not a file");
  }
  return true;
}

/**
 * Every YAML file below `dir`, sorted, as `kubectl apply -f dir` finds them: symbolic links to
 * files included (named by the link), links to directories not followed.
 *
 * @throws {ParseError} naming a YAML-named link whose target is missing or not a file
 */
export async function yamlFilesInDirectory(
  dir: string,
  options: ExpandOptions = {},
): Promise<string[]> {
  const names = options.json === true ? YAML_OR_JSON_NAME : YAML_NAME;
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const full = `${dir.replace(/\/+$/, "")}/${entry.name}`;
    if (entry.isDirectory) found.push(...await yamlFilesInDirectory(full, options));
    else if (!names.test(entry.name)) continue;
    else if (entry.isFile || (entry.isSymlink && await linkedFile(full))) found.push(full);
  }
  return found.sort();
}

/**
 * The YAML files `paths` name, each once, in a stable order (`-` is kept as is: stdin); with
 * `json`, the `*.json` files found in directories too.
 *
 * @throws {ParseError} naming the path when it does not exist, or a YAML-named symbolic link in
 *   a directory whose target is missing or not a file
 */
export async function expandYamlPaths(
  paths: readonly string[],
  options: ExpandOptions = {},
): Promise<string[]> {
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
    for (const file of stat.isDirectory ? await yamlFilesInDirectory(path, options) : [path]) {
      if (seen.has(file)) continue;
      seen.add(file);
      out.push(file);
    }
  }
  return out;
}

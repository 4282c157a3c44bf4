/**
 * Where `contrast generate -o DIR` writes each input file: a file named on the command line goes
 * to `DIR/<its name>`, a file found in a directory named on the command line to `DIR/<its path
 * below that directory>`, stdin to `DIR/stdin.yml`. (Not the input's full path below DIR:
 * `-o out /abs/app.yaml` writes `out/app.yaml`, not `out/abs/app.yaml`.)
 *
 * @module
 */
import { basename, normalize, relative, resolve } from "node:path";
import { InvalidDocumentError } from "../util/errors/mod.ts";

/**
 * The output path of every input file, in order.
 *
 * @throws {InvalidDocumentError} when two inputs would be written to the same output path
 */
export function outputPaths(
  files: readonly string[],
  inputs: readonly string[],
  outDir: string,
): string[] {
  const out = normalize(outDir).replace(/\/+$/, "") || ".";
  const roots = inputs.filter((p) => p !== "-").map((p) => ({ given: p, abs: resolve(p) }));
  const paths = files.map((file) => {
    if (file === "-") return `${out}/stdin.yml`;
    const abs = resolve(file);
    const exact = roots.find((r) => r.abs === abs);
    if (exact) return `${out}/${basename(abs)}`;
    const dir = roots.find((r) => abs.startsWith(`${r.abs}/`));
    return `${out}/${dir ? relative(dir.abs, abs) : basename(abs)}`;
  });
  const seen = new Map<string, string>();
  const issues: { path: string; reason: string }[] = [];
  paths.forEach((p, i) => {
    const first = seen.get(p);
    if (first !== undefined) {
      issues.push({
        path: files[i]!,
        reason:
          `would be written to ${p}, like ${first}; generate them into separate -o directories`,
      });
    } else seen.set(p, files[i]!);
  });
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  return paths;
}

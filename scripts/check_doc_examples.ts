/**
 * Keeps the public API documented by example: reads every entry of the exports map in
 * `deno.json` with `deno doc --json` and fails when an exported symbol has no `@example` in its
 * doc comment. (That the examples type-check is the `doc-examples` step, `deno check --doc`.)
 *
 * ```
 * deno run -A scripts/check_doc_examples.ts [--root DIR]
 * ```
 *
 * Prints `public exports: N, with @example: N` and one line per symbol without an example
 * (`file:line name (entry)`); exit code 0 when every export has one, 1 otherwise.
 *
 * @module
 */
import { exportEntries } from "./unused_exports.ts";

/** A public export without an `@example`. */
interface MissingExample {
  /** The exports-map module that exports it. */
  readonly entry: string;
  readonly name: string;
  /** Where it is declared, relative to the root. */
  readonly file: string;
  readonly line: number;
}

/** What `deno doc --json` reports per module (the parts this check reads). */
interface DocJson {
  readonly nodes: Record<string, { readonly symbols?: readonly DocSymbol[] }>;
}

interface DocSymbol {
  readonly name: string;
  readonly declarations: readonly {
    readonly location: { readonly filename: string; readonly line: number };
    readonly jsDoc?: { readonly tags?: readonly { readonly kind: string }[] };
  }[];
}

/** The public exports of `entries` (relative to `root`) and those without an `@example`. */
export async function findMissingExamples(
  root: string,
  entries: readonly string[],
): Promise<{ exports: number; missing: MissingExample[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno doc --json failed in ${root}`);
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as DocJson;
  const rootUrl = new URL(`file://${root}/`).href;
  let exports = 0;
  const missing: MissingExample[] = [];
  for (const [url, node] of Object.entries(doc.nodes)) {
    for (const symbol of node.symbols ?? []) {
      exports++;
      const hasExample = symbol.declarations.some((d) =>
        d.jsDoc?.tags?.some((t) => t.kind === "example")
      );
      if (hasExample) continue;
      const at = symbol.declarations[0]?.location;
      missing.push({
        entry: url.replace(rootUrl, ""),
        name: symbol.name,
        file: at ? at.filename.replace(rootUrl, "") : "?",
        line: at ? at.line + 1 : 0, // deno doc counts lines from 0
      });
    }
  }
  return { exports, missing };
}

if (import.meta.main) {
  const rootAt = Deno.args.indexOf("--root");
  const root = Deno.realPathSync(rootAt >= 0 ? Deno.args[rootAt + 1] : ".");
  const { exports, missing } = await findMissingExamples(root, await exportEntries(root));
  for (const m of missing) console.log(`${m.file}:${m.line} ${m.name} (${m.entry})`);
  console.log(`public exports: ${exports}, with @example: ${exports - missing.length}`);
  if (missing.length > 0) Deno.exit(1);
}

/**
 * Lists exported declarations that no other module imports: the TypeScript compiler resolves every
 * import (named, namespace, re-export, literal dynamic `import()` and `typeof import()`) across all
 * tracked `.ts` files to the declaration it names, so re-exports through `mod.ts` files count as
 * uses of the original. What the package's exports map (`deno.json` `exports`) makes public counts
 * as used: it is the library's API. Uses inside the declaring file do not count (such an export
 * should simply not be exported).
 *
 * ```
 * deno run -A scripts/unused_exports.ts [--root DIR] [--json] [--fail]
 * ```
 *
 * Prints one line per unused export (`file:line kind name`) and a closing count line; with
 * `--fail`, exits 1 when there is any.
 *
 * @module
 */
import ts from "npm:typescript@5.9.3";

/** An exported declaration nothing else imports. */
interface UnusedExport {
  /** Path relative to the root. */
  readonly file: string;
  readonly line: number;
  readonly name: string;
  /** `value` (function, class, variable, enum) or `type` (interface, type alias). */
  readonly kind: "value" | "type";
}

/** The result of a scan. */
interface ExportScan {
  /** Exported declarations in all scanned modules (each counted once, where declared). */
  readonly exported: number;
  /** Of those, the public API: reachable from an entry of the exports map. */
  readonly publicApi: number;
  readonly unused: readonly UnusedExport[];
}

/** Reads the tracked TypeScript files of the checkout at `root` (paths relative to it). */
async function trackedTypeScript(root: string): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"],
    cwd: root,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error(`git ls-files failed in ${root}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((f) =>
    f !== "" && !f.startsWith("tools/") && !f.endsWith(".d.ts")
  );
}

/** The module files of the exports map in `root/deno.json`. */
export async function exportEntries(root: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const exports = typeof config.exports === "string" ? { ".": config.exports } : config.exports;
  return Object.values(exports ?? {}).map((p) => String(p).replace(/^\.\//, ""));
}

/**
 * Scans `files` (relative to `root`) and returns the exported declarations nothing else imports.
 * `entries` are the public modules.
 */
function scanExports(root: string, files: readonly string[], entries: readonly string[]) {
  const abs = (f: string) => `${root}/${f}`;
  const program = ts.createProgram(files.map(abs), {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ESNext,
    skipLibCheck: true,
    types: [],
    noLib: true,
  });
  const checker = program.getTypeChecker();
  const original = (symbol: ts.Symbol): ts.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const ownFiles = new Set(files.map(abs));
  const moduleExports = (sf: ts.SourceFile | undefined): ts.Symbol[] => {
    const moduleSymbol = sf ? checker.getSymbolAtLocation(sf) : undefined;
    return moduleSymbol ? checker.getExportsOfModule(moduleSymbol).map(original) : [];
  };
  const sourceOf = (from: ts.SourceFile, specifier: string): ts.SourceFile | undefined => {
    const resolved =
      ts.resolveModuleName(specifier, from.fileName, program.getCompilerOptions(), ts.sys)
        .resolvedModule;
    return resolved ? program.getSourceFile(resolved.resolvedFileName) : undefined;
  };

  // Every declaration imported by another module.
  const used = new Set<ts.Symbol>();
  const useFrom = (symbol: ts.Symbol | undefined, importer: ts.SourceFile) => {
    if (!symbol) return;
    const target = original(symbol);
    if (target.declarations?.some((d) => d.getSourceFile() !== importer)) used.add(target);
  };
  const useAll = (from: ts.SourceFile, specifier: string) => {
    for (const s of moduleExports(sourceOf(from, specifier))) useFrom(s, from);
  };
  for (const sf of program.getSourceFiles()) {
    if (!ownFiles.has(sf.fileName)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const clause = node.importClause;
        if (clause?.name) useFrom(checker.getSymbolAtLocation(clause.name), sf);
        const bindings = clause?.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) useAll(sf, node.moduleSpecifier.text);
        if (bindings && ts.isNamedImports(bindings)) {
          for (const spec of bindings.elements) useFrom(checker.getSymbolAtLocation(spec.name), sf);
        }
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
        // A re-export is a use only when it re-exports everything under a namespace name; named
        // and `*` re-exports pass the original through (its users are the re-exporter's users).
        if (node.exportClause && ts.isNamespaceExport(node.exportClause)) {
          useAll(sf, (node.moduleSpecifier as ts.StringLiteral).text);
        }
      } else if (
        ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] && ts.isStringLiteral(node.arguments[0])
      ) {
        useAll(sf, node.arguments[0].text);
      } else if (
        ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        useAll(sf, node.argument.literal.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  // Re-exports: a symbol used through a re-exporting module is a use of the original, which
  // `original()` already resolves; what the exports map reaches is public.
  const publicApi = new Set<ts.Symbol>();
  for (const entry of entries) {
    for (const s of moduleExports(program.getSourceFile(abs(entry)))) publicApi.add(s);
  }

  const unused: UnusedExport[] = [];
  let exported = 0;
  for (const sf of program.getSourceFiles()) {
    if (!ownFiles.has(sf.fileName)) continue;
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    if (!moduleSymbol) continue;
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      if (symbol.flags & ts.SymbolFlags.Alias) continue; // a re-export; counted where declared
      const declaration = symbol.declarations?.[0];
      if (!declaration || declaration.getSourceFile() !== sf) continue;
      exported++;
      if (used.has(symbol) || publicApi.has(symbol)) continue;
      const isValue = (symbol.flags & ts.SymbolFlags.Value) !== 0;
      unused.push({
        file: sf.fileName.slice(root.length + 1),
        line: sf.getLineAndCharacterOfPosition(declaration.getStart()).line + 1,
        name: symbol.getName(),
        kind: isValue ? "value" : "type",
      });
    }
  }
  unused.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { exported, publicApi: publicApi.size, unused } satisfies ExportScan;
}

if (import.meta.main) {
  const rootAt = Deno.args.indexOf("--root");
  const root = Deno.realPathSync(rootAt >= 0 ? Deno.args[rootAt + 1] : ".");
  const scan = scanExports(root, await trackedTypeScript(root), await exportEntries(root));
  if (Deno.args.includes("--json")) {
    console.log(JSON.stringify(scan, null, 2));
  } else {
    for (const u of scan.unused) console.log(`${u.file}:${u.line} ${u.kind} ${u.name}`);
    const values = scan.unused.filter((u) => u.kind === "value").length;
    console.log(
      `unused exports: ${scan.unused.length} (${values} values, ${
        scan.unused.length - values
      } types) of ${scan.exported} exported declarations; ${scan.publicApi} public`,
    );
  }
  if (Deno.args.includes("--fail") && scan.unused.length > 0) Deno.exit(1);
}

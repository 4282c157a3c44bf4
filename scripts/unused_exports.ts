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

/**
 * The project's TypeScript files under `root` (paths relative to it): what git tracks or would
 * track, or, outside a git checkout, every `.ts` file but build output, caches and `tools/` (Go
 * build modules).
 */
export async function trackedTypeScript(root: string): Promise<string[]> {
  const keep = (f: string) => f !== "" && !f.startsWith("tools/") && !f.endsWith(".d.ts");
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (out?.success) return new TextDecoder().decode(out.stdout).split("\n").filter(keep);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(`${root}/${dir}`)) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) await walk(path);
      else if (entry.isFile && path.endsWith(".ts")) files.push(path);
    }
  };
  await walk("");
  return files.filter(keep).sort();
}

/** Folders the walk outside git skips. */
const SKIPPED_DIRS: ReadonlySet<string> = new Set([
  ".git",
  ".tools",
  ".cache",
  "dist",
  "node_modules",
]);

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
export function scanExports(
  root: string,
  files: readonly string[],
  entries: readonly string[],
): ExportScan {
  const scan = new ModuleGraph(root, files);
  const used = scan.importedDeclarations();
  const publicApi = scan.publicDeclarations(entries);
  const declared = scan.exportedDeclarations();
  const unused = declared.filter((d) => !used.has(d.symbol) && !publicApi.has(d.symbol))
    .map((d) => d.unused);
  unused.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { exported: declared.length, publicApi: publicApi.size, unused };
}

/** An exported declaration, with how it is reported when unused. */
interface ExportedDeclaration {
  readonly symbol: ts.Symbol;
  readonly unused: UnusedExport;
}

/** The scanned modules, type-checked together so every import resolves to its declaration. */
class ModuleGraph {
  readonly #root: string;
  readonly #program: ts.Program;
  readonly #checker: ts.TypeChecker;
  readonly #ownFiles: ReadonlySet<string>;

  constructor(root: string, files: readonly string[]) {
    this.#root = root;
    this.#program = ts.createProgram(files.map((f) => this.#abs(f)), {
      allowImportingTsExtensions: true,
      noEmit: true,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ESNext,
      skipLibCheck: true,
      types: [],
      noLib: true,
    });
    this.#checker = this.#program.getTypeChecker();
    this.#ownFiles = new Set(files.map((f) => this.#abs(f)));
  }

  /** Every declaration some other module imports (named, default, namespace or `import()`). */
  importedDeclarations(): Set<ts.Symbol> {
    const used = new Set<ts.Symbol>();
    for (const sf of this.#sourceFiles()) {
      const use = (symbol: ts.Symbol | undefined) => {
        if (!symbol) return;
        const target = this.#original(symbol);
        if (target.declarations?.some((d) => d.getSourceFile() !== sf)) used.add(target);
      };
      const useAll = (specifier: string) => {
        for (const s of this.#moduleExports(this.#resolve(sf, specifier))) use(s);
      };
      const visit = (node: ts.Node): void => {
        this.#importsOf(node, use, useAll);
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    return used;
  }

  /** The declarations the exports map reaches: the public API. */
  publicDeclarations(entries: readonly string[]): Set<ts.Symbol> {
    const publicApi = new Set<ts.Symbol>();
    for (const entry of entries) {
      const sf = this.#program.getSourceFile(this.#abs(entry));
      for (const s of this.#moduleExports(sf)) publicApi.add(s);
    }
    return publicApi;
  }

  /** Every exported declaration, counted once, in the module that declares it. */
  exportedDeclarations(): ExportedDeclaration[] {
    const out: ExportedDeclaration[] = [];
    for (const sf of this.#sourceFiles()) {
      const moduleSymbol = this.#checker.getSymbolAtLocation(sf);
      if (!moduleSymbol) continue;
      for (const symbol of this.#checker.getExportsOfModule(moduleSymbol)) {
        if (symbol.flags & ts.SymbolFlags.Alias) continue; // a re-export; counted where declared
        const declaration = symbol.declarations?.[0];
        if (!declaration || declaration.getSourceFile() !== sf) continue;
        out.push({
          symbol,
          unused: {
            file: sf.fileName.slice(this.#root.length + 1),
            line: sf.getLineAndCharacterOfPosition(declaration.getStart()).line + 1,
            name: symbol.getName(),
            kind: symbol.flags & ts.SymbolFlags.Value ? "value" : "type",
          },
        });
      }
    }
    return out;
  }

  /**
   * Reports what one node imports: `use` for a named or default import, `useAll` for a module
   * imported whole (namespace import, `export * as`, `import()`, `typeof import()`). Named and
   * `*` re-exports pass the original through: its users are the re-exporter's users.
   */
  #importsOf(
    node: ts.Node,
    use: (symbol: ts.Symbol | undefined) => void,
    useAll: (specifier: string) => void,
  ): void {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      if (clause?.name) use(this.#checker.getSymbolAtLocation(clause.name));
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) useAll(node.moduleSpecifier.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const spec of bindings.elements) use(this.#checker.getSymbolAtLocation(spec.name));
      }
    } else if (
      ts.isExportDeclaration(node) && node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier) && node.exportClause &&
      ts.isNamespaceExport(node.exportClause)
    ) {
      useAll(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] && ts.isStringLiteral(node.arguments[0])
    ) {
      useAll(node.arguments[0].text);
    } else if (
      ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      useAll(node.argument.literal.text);
    }
  }

  #abs(file: string): string {
    return `${this.#root}/${file}`;
  }

  #sourceFiles(): ts.SourceFile[] {
    return this.#program.getSourceFiles().filter((sf) => this.#ownFiles.has(sf.fileName));
  }

  #original(symbol: ts.Symbol): ts.Symbol {
    return symbol.flags & ts.SymbolFlags.Alias ? this.#checker.getAliasedSymbol(symbol) : symbol;
  }

  #moduleExports(sf: ts.SourceFile | undefined): ts.Symbol[] {
    const moduleSymbol = sf ? this.#checker.getSymbolAtLocation(sf) : undefined;
    if (!moduleSymbol) return [];
    return this.#checker.getExportsOfModule(moduleSymbol).map((s) => this.#original(s));
  }

  #resolve(from: ts.SourceFile, specifier: string): ts.SourceFile | undefined {
    const resolved = ts.resolveModuleName(
      specifier,
      from.fileName,
      this.#program.getCompilerOptions(),
      ts.sys,
    ).resolvedModule;
    return resolved ? this.#program.getSourceFile(resolved.resolvedFileName) : undefined;
  }
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
  if (Deno.args.includes("--fail") && scan.unused.length > 0) {
    console.error(
      "remove `export` from each (or delete it if nothing uses it), or add it to a public mod.ts " +
        "with an @example when it belongs to the library API",
    );
    Deno.exit(1);
  }
}

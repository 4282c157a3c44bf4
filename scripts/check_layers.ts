/**
 * Keeps the tree layered: reads the import graph of every module (through `deno info --json`, so
 * static, type-only and literal dynamic imports all count) and fails when
 *
 * - two top-level folders import each other, directly or around a longer cycle;
 * - a library (or the protocol) imports an application (`cli/`, `coordinator/`, `initializer/`,
 *   `meshproxy/`);
 * - an application imports another application's internals;
 * - production code imports a development aid (`testing/`, `bench/`, `scripts/`, `tests/`,
 *   `examples/`), except for the dynamic imports listed in {@link ALLOWED_DYNAMIC_IMPORTS};
 * - a development aid imports one above it (`testing/` < `bench/`, `scripts/` < `tests/`);
 * - production code imports a module listed in {@link RESTRICTED_MODULES} other than from the
 *   importers listed for it (test-only entry points that sit in production folders).
 *
 * A top-level folder this file does not name counts as a library. Run as a step of
 * `deno task test` (`scripts/test_extra_steps.json`):
 *
 * ```
 * deno run -A scripts/check_layers.ts [--root DIR]
 * ```
 *
 * Exit code 0 when the tree is layered, 1 with one line per violation otherwise.
 *
 * @module
 */

/** What a top-level folder is, lowest layer first. */
type FolderKind = "library" | "application" | "testing" | "tool" | "tests";

/** The applications: thin programs over the libraries; none imports another. */
const APPLICATIONS: readonly string[] = ["cli", "coordinator", "initializer", "meshproxy"];

/** Development aids by kind; everything else (the libraries, `protocol/`, `mod.ts`) is production. */
const DEVELOPMENT_AIDS: Readonly<Record<string, FolderKind>> = {
  testing: "testing",
  bench: "tool",
  scripts: "tool",
  examples: "tool",
  tools: "tool",
  tests: "tests",
};

const RANK: Readonly<Record<FolderKind, number>> = {
  library: 0,
  application: 1,
  testing: 2,
  tool: 3,
  tests: 4,
};

/**
 * The only imports from production code into a development aid: the Coordinator and the
 * initializer load the simulated TEE on demand, for `--evidence simulated-* --allow-simulated`.
 * Each entry is `importer -> imported` (paths from the repository root) and must be a dynamic
 * import.
 */
const ALLOWED_DYNAMIC_IMPORTS: readonly string[] = [
  "coordinator/main.ts -> testing/simulated_evidence.ts",
  "initializer/main.ts -> testing/simulated_evidence.ts",
];

/**
 * Production modules that only the listed production modules (and any development aid) may import:
 * each exposes a choice production code must never make. `protocol/hpke_seal_core.ts` lets the
 * caller pick the HPKE ephemeral key (for RFC 9180's test vectors, through
 * `testing/hpke_seal_vectors.ts`); production seals go through `protocol/hpke_seal.ts`, which always
 * takes a fresh random key.
 */
const RESTRICTED_MODULES: Readonly<Record<string, readonly string[]>> = {
  "protocol/hpke_seal_core.ts": ["protocol/hpke_seal.ts"],
};

/** One import between two modules of the repository. */
export interface ImportEdge {
  /** The importing module, relative to the repository root (`atls/certificate.ts`). */
  readonly from: string;
  /** The imported module, relative to the repository root. */
  readonly to: string;
  /** Whether it is a dynamic `import()`. */
  readonly dynamic: boolean;
}

/** The top-level folder of `path`, or `(root)` for a file at the top. */
function topFolder(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "(root)" : path.slice(0, slash);
}

/** The kind of top-level folder `folder`; unnamed folders (and the root) are libraries. */
function folderKind(folder: string): FolderKind {
  if (APPLICATIONS.includes(folder)) return "application";
  return DEVELOPMENT_AIDS[folder] ?? "library";
}

/** Every violation of the layering rules in `edges`, one sentence each, sorted. */
export function layerViolations(edges: readonly ImportEdge[]): string[] {
  const violations = new Set<string>();
  const folderEdges = new Map<string, Map<string, ImportEdge>>();
  for (const edge of edges) {
    const from = topFolder(edge.from);
    const to = topFolder(edge.to);
    const restricted = restrictedImport(from, edge);
    if (restricted) violations.add(`${edge.from} imports ${edge.to}: ${restricted}`);
    if (from === to) continue;
    const targets = folderEdges.get(from) ?? new Map<string, ImportEdge>();
    if (!targets.has(to)) targets.set(to, edge);
    folderEdges.set(from, targets);
    const rule = ruleBroken(from, to, edge);
    if (rule) violations.add(`${edge.from} imports ${edge.to}: ${rule}`);
  }
  for (const cycle of folderCycles(folderEdges)) violations.add(cycle);
  return [...violations].sort();
}

/** Why `edge` breaks {@link RESTRICTED_MODULES}, or undefined when it does not. */
function restrictedImport(from: string, edge: ImportEdge): string | undefined {
  const allowed = RESTRICTED_MODULES[edge.to];
  if (allowed === undefined || allowed.includes(edge.from)) return undefined;
  if (RANK[folderKind(from)] >= RANK.testing) return undefined;
  return `only ${allowed.join(", ")} and development aids may import it (a test-only entry point)`;
}

function ruleBroken(from: string, to: string, edge: ImportEdge): string | undefined {
  const fromKind = folderKind(from);
  const toKind = folderKind(to);
  if (fromKind === "application" && toKind === "application") {
    return `an application imports another application (${from}/ -> ${to}/); move shared code to a library`;
  }
  if (RANK[toKind] <= RANK[fromKind]) return undefined;
  if (
    fromKind === "application" && toKind === "testing" && edge.dynamic &&
    ALLOWED_DYNAMIC_IMPORTS.includes(`${edge.from} -> ${edge.to}`)
  ) {
    return undefined;
  }
  return `${article(fromKind)} (${from}/) imports ${article(toKind)} (${to}/), which sits above it`;
}

function article(kind: FolderKind): string {
  const name = kind === "tool"
    ? "development tool"
    : kind === "tests"
    ? "test"
    : kind === "testing"
    ? "testing aid"
    : kind;
  return `${/^[aeiou]/.test(name) ? "an" : "a"} ${name}`;
}

/** One sentence per strongly connected group of folders, naming one import of each step. */
function folderCycles(graph: Map<string, Map<string, ImportEdge>>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return groups.map((group) => {
    const cycle = shortestCycle(graph, group);
    const steps = cycle.map((from, i) => {
      const edge = graph.get(from)!.get(cycle[(i + 1) % cycle.length]!)!;
      return `${edge.from} -> ${edge.to}`;
    });
    return `import cycle between folders ${cycle.map((g) => `${g}/`).join(" -> ")} -> ${
      cycle[0]
    }/ (${steps.join("; ")}; ${group.length} folders in the cycle group: ${group.join(", ")})`;
  });
}

/** The shortest cycle through the first folder of `group` (a strongly connected group). */
function shortestCycle(graph: Map<string, Map<string, ImportEdge>>, group: string[]): string[] {
  const start = group[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      if (!group.includes(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return path;
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return group;
}

const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;
const SKIPPED_ANYWHERE = new Set([".git", ".cache", "node_modules"]);
const SKIPPED_AT_TOP = new Set([".tools", "dist", "tools"]);

/** Every source file under `root`, relative to it, skipping build output and tool caches. */
async function sourceFiles(root: string, dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${dir}`)) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    const skipped = SKIPPED_ANYWHERE.has(entry.name) || (!dir && SKIPPED_AT_TOP.has(entry.name));
    if (entry.isDirectory && !skipped) {
      files.push(...await sourceFiles(root, path));
    } else if (entry.isFile && SOURCE.test(entry.name)) {
      files.push(path);
    }
  }
  return files.sort();
}

interface DenoInfo {
  readonly modules: readonly {
    readonly specifier: string;
    readonly dependencies?: readonly {
      readonly code?: { readonly specifier: string };
      readonly type?: { readonly specifier: string };
      readonly isDynamic?: boolean;
    }[];
  }[];
}

/** The imports between modules of `root`, read with `deno info --json` over every source file. */
async function importEdges(root: string): Promise<ImportEdge[]> {
  const absolute = await Deno.realPath(root);
  const base = new URL(`file://${absolute}/`).href;
  const entry = await Deno.makeTempFile({ prefix: "check_layers_", suffix: ".ts" });
  try {
    const files = await sourceFiles(absolute);
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(new URL(f, base).href)};\n`).join(""),
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: absolute,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`deno info failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as DenoInfo;
    const edges: ImportEdge[] = [];
    for (const module of info.modules) {
      if (!module.specifier.startsWith(base)) continue;
      const from = decodeURIComponent(module.specifier.slice(base.length));
      for (const dependency of module.dependencies ?? []) {
        const targets = new Set(
          [dependency.code?.specifier, dependency.type?.specifier].filter((s) => s !== undefined),
        );
        for (const target of targets) {
          if (!target.startsWith(base)) continue;
          const to = decodeURIComponent(target.slice(base.length));
          edges.push({ from, to, dynamic: dependency.isDynamic === true });
        }
      }
    }
    return edges;
  } finally {
    await Deno.remove(entry);
  }
}

if (import.meta.main) {
  const rootFlag = Deno.args.indexOf("--root");
  const root = rootFlag >= 0 ? Deno.args[rootFlag + 1] ?? "." : ".";
  const edges = await importEdges(root);
  const violations = layerViolations(edges);
  const folders = new Set(edges.flatMap((e) => [topFolder(e.from), topFolder(e.to)]));
  if (violations.length === 0) {
    console.log(
      `layers: ${edges.length} imports between ${folders.size} top-level folders, no cycle, ` +
        "no import against the layers",
    );
    Deno.exit(0);
  }
  for (const violation of violations) console.error(`layers: ${violation}`);
  console.error(`layers: ${violations.length} violation(s); see scripts/check_layers.ts`);
  Deno.exit(1);
}

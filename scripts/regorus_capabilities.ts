/**
 * Derives the OPA capabilities file of the Kata agent's Rego engine: regorus at the commit
 * kata-containers pins (`src/agent/policy/Cargo.toml`), built with the features Kata enables
 * (`default-features = false`, features `arc`, `base64`, `base64url`, `regex`, `std`).
 *
 * Derivation: read `src/builtins/mod.rs` at the commit, keep the modules whose `register` call is
 * not behind a disabled `#[cfg(feature = …)]`, then collect every `m.insert("name", …)` of those
 * modules, skipping inserts and `{ … }` blocks behind a disabled feature. Each builtin gets OPA's
 * declaration (from `opa capabilities --current`) so `opa check`/`opa build` can type-check; the
 * infix operators regorus evaluates in its interpreter (not through the builtins map) are kept
 * from OPA's list. The output records the commit, features and the names.
 *
 * Usage:
 *   deno run -A scripts/regorus_capabilities.ts <regorus git dir> [commit] > rego/capabilities/kata-regorus.json
 *
 * @module
 */

/** regorus commit kata-containers pins (src/agent/policy/Cargo.toml). */
export const KATA_REGORUS_COMMIT = "898643129e3652efd43e596f978d99f85e770235";

/** Features Kata enables (default-features = false). */
export const KATA_REGORUS_FEATURES = ["arc", "base64", "base64url", "regex", "std"] as const;

/**
 * OPA's infix operators and internal helpers that regorus evaluates in its interpreter
 * (arithmetic, comparison, set union/intersection, `in`, assignment, unification).
 */
const INTERPRETER_OPERATORS = [
  "assign",
  "eq",
  "equal",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "plus",
  "minus",
  "mul",
  "div",
  "rem",
  "and",
  "or",
  "internal.member_2",
  "internal.member_3",
] as const;

/** Evaluates a `cfg(...)` predicate over the enabled features. */
export function cfgEnabled(expr: string, features: ReadonlySet<string>): boolean {
  const e = expr.trim();
  const feature = /^feature\s*=\s*"([^"]+)"$/.exec(e);
  if (feature) return features.has(feature[1]!);
  const call = /^(any|all|not)\((.*)\)$/s.exec(e);
  if (call) {
    const args = splitTopLevel(call[2]!);
    if (call[1] === "not") return !cfgEnabled(args[0] ?? "", features);
    const values = args.map((a) => cfgEnabled(a, features));
    return call[1] === "any" ? values.some(Boolean) : values.every(Boolean);
  }
  // `test`, `target_os = …` and the like are not enabled in the agent's build.
  return false;
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")") depth--;
    else if (text[i] === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (text.slice(start).trim() !== "") out.push(text.slice(start));
  return out;
}

/**
 * The names a source file registers (`m.insert("name", …)` and `<module>::register(&mut m)`),
 * honouring `#[cfg(…)]` on the next item or `{ … }` block.
 */
export function registrations(
  source: string,
  features: ReadonlySet<string>,
): { inserts: string[]; modules: string[] } {
  const inserts: string[] = [];
  const modules: string[] = [];
  let pending: boolean | undefined;
  // Depths at which a disabled block started.
  const disabledBlocks: number[] = [];
  let depth = 0;
  for (const raw of source.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (line === "") continue;
    const cfg = /^#\[cfg\((.*)\)\]$/.exec(line);
    if (cfg) {
      pending = cfgEnabled(cfg[1]!, features);
      continue;
    }
    const enabled = disabledBlocks.length === 0 && pending !== false;
    if (line.startsWith("{") && pending === false) disabledBlocks.push(depth);
    if (enabled) {
      const insert = /^m\.insert\("([^"]+)"/.exec(line);
      if (insert) inserts.push(insert[1]!);
      const module = /^([a-z_]+)::register\(&mut m\);$/.exec(line);
      if (module) modules.push(module[1]!);
    }
    for (const ch of line) {
      if (ch === "{") depth++;
      else if (ch === "}") {
        depth--;
        if (disabledBlocks.length > 0 && disabledBlocks.at(-1) === depth) disabledBlocks.pop();
      }
    }
    pending = undefined;
  }
  return { inserts, modules };
}

async function gitShow(gitDir: string, commit: string, path: string): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["--git-dir", gitDir, "show", `${commit}:${path}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git show ${commit}:${path}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The builtin names regorus registers at `commit` with `features`. */
async function regorusBuiltins(
  gitDir: string,
  commit: string,
  features: readonly string[],
): Promise<string[]> {
  const enabled = new Set(features);
  const mod = registrations(await gitShow(gitDir, commit, "src/builtins/mod.rs"), enabled);
  const names = new Set(mod.inserts);
  for (const module of mod.modules) {
    const file = await gitShow(gitDir, commit, `src/builtins/${module}.rs`);
    for (const name of registrations(file, enabled).inserts) names.add(name);
  }
  return [...names].sort();
}

interface OpaCapabilities {
  builtins: { name: string }[];
  [key: string]: unknown;
}

if (import.meta.main) {
  const [gitDir, commit = KATA_REGORUS_COMMIT] = Deno.args;
  if (!gitDir) {
    console.error("usage: regorus_capabilities.ts <regorus git dir> [commit]");
    Deno.exit(2);
  }
  const names = await regorusBuiltins(gitDir, commit, KATA_REGORUS_FEATURES);
  const opa = Deno.env.get("OPA") ?? new URL("../.tools/bin/opa", import.meta.url).pathname;
  const out = await new Deno.Command(opa, { args: ["capabilities", "--current"], stdout: "piped" })
    .output();
  const current = JSON.parse(new TextDecoder().decode(out.stdout)) as OpaCapabilities;
  const wanted = new Set<string>([...names, ...INTERPRETER_OPERATORS]);
  const builtins = current.builtins.filter((b) => wanted.has(b.name));
  const known = new Set(builtins.map((b) => b.name));
  const result = {
    ...current,
    builtins,
    regorus: {
      about:
        "Builtins of regorus as the Kata agent builds it; derived by scripts/regorus_capabilities.ts",
      repository: "github.com/microsoft/regorus",
      commit,
      features: KATA_REGORUS_FEATURES,
      registered: names,
      without_opa_declaration: names.filter((n) => !known.has(n)),
      interpreter_operators: INTERPRETER_OPERATORS,
    },
  };
  console.log(JSON.stringify(result, null, 1));
}

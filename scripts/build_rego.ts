/**
 * Compiles `rego/rules.rego` to WebAssembly with the pinned `opa` (`.tools/bin/opa`, installed by
 * `scripts/install_tools.sh`) and writes `rego/policy.wasm`, the module contrast evaluates, so
 * users need no Go toolchain, and its provenance record `rego/policy.wasm.json` (SHA-256 of the
 * exact rules bytes compiled, opa version, optimiser, entrypoints, SHA-256 of the wasm). opa's
 * output is optimised by binaryen (`scripts/wasm_optimizer.ts`: the rules evaluate 7-14% faster).
 * Both are deterministic for the same versions and input (the rules are compiled from a copy of
 * the exact bytes hashed, by relative path, so the checkout location does not leak into the
 * module).
 *
 * Usage:
 *   deno task build:rego            rebuild rego/policy.wasm and rego/policy.wasm.json
 *   deno task build:rego --check    rebuild in a temp dir; fail if the committed wasm or record is
 *                                   stale or does not match (CI)
 *
 * @module
 */
import { optimizeWasm, WASM_OPTIMIZER } from "./wasm_optimizer.ts";
import {
  type CompiledRulesRecord,
  expectedEntrypoints,
  parseRecord,
  recordCompilation,
  recordDifferences,
  serializeRecord,
} from "../rego/compiled_record.ts";

const ROOT = new URL("../", import.meta.url);
const REGO_DIR = new URL("rego/", ROOT);
const RULES = new URL("rules.rego", REGO_DIR);
const WASM = new URL("policy.wasm", REGO_DIR);
const RECORD = new URL("policy.wasm.json", REGO_DIR);

/**
 * The OPA capabilities of the Kata agent's Rego engine (regorus at the commit Kata pins, with
 * Kata's features; derived by scripts/regorus_capabilities.ts). Rules are checked and compiled
 * against it, so no rule can call a builtin the agent lacks.
 */
export const KATA_CAPABILITIES: URL = new URL("capabilities/kata-regorus.json", REGO_DIR);

/** Result of {@link checkCapabilities}. */
interface CapabilitiesCheck {
  readonly ok: boolean;
  /** opa's messages (the undefined functions, with file and line). */
  readonly output: string;
}

/** Runs `opa check --capabilities` on `rulesFile`: fails when it uses a builtin outside them. */
export async function checkCapabilities(
  rulesFile: string,
  capabilities: string = KATA_CAPABILITIES.pathname,
): Promise<CapabilitiesCheck> {
  const out = await new Deno.Command(opaPath(), {
    args: ["check", "--capabilities", capabilities, rulesFile],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, output: text.trim() };
}

/** The opa binary: `$OPA` if set, else `.tools/bin/opa`. */
function opaPath(): string {
  return Deno.env.get("OPA") ?? new URL(".tools/bin/opa", ROOT).pathname;
}

/** Extracts a file from a (gunzipped) POSIX tar archive. */
export function extractTarEntry(tar: Uint8Array, wanted: string): Uint8Array | undefined {
  const decoder = new TextDecoder();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const name = decoder.decode(header.subarray(0, 100)).replace(/\0.*$/s, "");
    const prefix = decoder.decode(header.subarray(345, 500)).replace(/\0.*$/s, "");
    const size = parseInt(
      decoder.decode(header.subarray(124, 136)).replace(/\0.*$/s, "").trim(),
      8,
    );
    const full = (prefix ? `${prefix}/${name}` : name).replace(/^\/+/, "");
    const start = offset + 512;
    if (full === wanted.replace(/^\/+/, "")) return tar.slice(start, start + size);
    offset = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The version of the opa binary (`Version: x.y.z` of `opa version`). */
async function opaVersion(opa: string = opaPath()): Promise<string> {
  const out = await new Deno.Command(opa, { args: ["version"], stdout: "piped", stderr: "piped" })
    .output();
  const version = new TextDecoder().decode(out.stdout).match(/^Version: (\d+\.\d+\.\d+)$/m)?.[1];
  if (!out.success || version === undefined) {
    throw new Error(`cannot read the version of ${opa}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return version;
}

/** A compilation: the wasm module and its record. */
interface Compilation {
  readonly wasm: Uint8Array;
  readonly record: CompiledRulesRecord;
}

/**
 * Compiles `rules` (the exact bytes) with `opa build -t wasm`, one entrypoint per request type,
 * optimises the module with binaryen and records the compilation.
 */
async function compileRules(rules: Uint8Array): Promise<Compilation> {
  const tmp = await Deno.makeTempDir({ prefix: "contrast-rego-" });
  try {
    const bundle = `${tmp}/bundle.tar.gz`;
    await Deno.writeFile(`${tmp}/rules.rego`, rules);
    await Deno.copyFile(KATA_CAPABILITIES, `${tmp}/capabilities.json`);
    const entrypoints = expectedEntrypoints();
    const args = ["build", "-t", "wasm", "--capabilities", "capabilities.json"];
    for (const e of entrypoints) args.push("-e", e);
    args.push("-o", bundle, "rules.rego");
    const opa = opaPath();
    const version = await opaVersion(opa);
    const out = await new Deno.Command(opa, { args, cwd: tmp, stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`opa build failed:\n${new TextDecoder().decode(out.stderr)}`);
    }
    const gz = await Deno.readFile(bundle);
    const tar = new Uint8Array(
      await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")))
        .arrayBuffer(),
    );
    const opaWasm = extractTarEntry(tar, "policy.wasm");
    if (!opaWasm) throw new Error("opa bundle has no /policy.wasm");
    const wasm = await optimizeWasm(opaWasm);
    const toolchain = { opaVersion: version, wasmOptimizer: WASM_OPTIMIZER };
    return { wasm, record: await recordCompilation(rules, wasm, toolchain, entrypoints) };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * What is stale in the committed artifacts compared with a fresh compilation of the current
 * rules: one line per problem, empty when the wasm and its record are up to date.
 */
export function staleness(
  committedWasm: Uint8Array | undefined,
  committedRecord: Uint8Array | undefined,
  fresh: Compilation,
): string[] {
  const problems: string[] = [];
  if (committedWasm === undefined) problems.push("rego/policy.wasm is missing");
  else if (
    committedWasm.length !== fresh.wasm.length ||
    !committedWasm.every((b, i) => b === fresh.wasm[i])
  ) {
    problems.push("rego/policy.wasm differs from a fresh compilation of rego/rules.rego");
  }
  if (committedRecord === undefined) {
    problems.push("rego/policy.wasm.json is missing");
    return problems;
  }
  let record: CompiledRulesRecord;
  try {
    record = parseRecord(committedRecord);
  } catch (error) {
    problems.push(`rego/policy.wasm.json is malformed: ${(error as Error).message}`);
    return problems;
  }
  problems.push(
    ...recordDifferences(record, fresh.record).map((d) => `rego/policy.wasm.json ${d}`),
  );
  if (new TextDecoder().decode(committedRecord) !== serializeRecord(fresh.record)) {
    if (problems.length === 0) problems.push("rego/policy.wasm.json is not in canonical form");
  }
  return problems;
}

async function readIfExists(url: URL): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

if (import.meta.main) {
  const caps = await checkCapabilities(RULES.pathname);
  if (!caps.ok) {
    console.error(caps.output);
    console.error("rego/rules.rego uses a builtin the Kata agent's engine (regorus) lacks");
    Deno.exit(1);
  }
  const fresh = await compileRules(await Deno.readFile(RULES));
  if (Deno.args.includes("--check")) {
    const problems = staleness(await readIfExists(WASM), await readIfExists(RECORD), fresh);
    if (problems.length > 0) {
      for (const p of problems) console.error(p);
      console.error("run `deno task build:rego` and commit rego/policy.wasm and its record");
      Deno.exit(1);
    }
    console.log("rego/policy.wasm and rego/policy.wasm.json are up to date");
  } else {
    await Deno.writeFile(WASM, fresh.wasm);
    await Deno.writeTextFile(RECORD, serializeRecord(fresh.record));
    console.log(
      `wrote rego/policy.wasm (${fresh.wasm.length} bytes, sha256 ${fresh.record.wasmSha256}) ` +
        `and rego/policy.wasm.json`,
    );
  }
}

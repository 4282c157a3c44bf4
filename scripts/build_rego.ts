/**
 * Compiles `rego/rules.rego` to WebAssembly with the pinned `opa` (`.tools/bin/opa`, installed by
 * `scripts/install_tools.sh`) and writes `rego/policy.wasm`, the module contrast evaluates, so
 * users need no Go toolchain. opa's wasm output is deterministic for the same opa version and
 * input (the rules are compiled from inside `rego/` by relative path so the checkout location
 * does not leak into the module).
 *
 * Usage:
 *   deno task build:rego            rebuild rego/policy.wasm
 *   deno task build:rego --check    rebuild into a temp dir; fail if the committed wasm is stale
 *
 * @module
 */
import { REQUEST_TYPES } from "../rego/request_types.ts";

const ROOT = new URL("../", import.meta.url);
const REGO_DIR = new URL("rego/", ROOT);
const WASM = new URL("policy.wasm", REGO_DIR);

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

/** Runs `opa build -t wasm` for every request entrypoint and returns the wasm module bytes. */
export async function compileRules(): Promise<Uint8Array> {
  const tmp = await Deno.makeTempDir({ prefix: "contrast-rego-" });
  try {
    const bundle = `${tmp}/bundle.tar.gz`;
    const args = ["build", "-t", "wasm"];
    for (const t of REQUEST_TYPES) args.push("-e", `agent_policy/${t}`);
    args.push("-o", bundle, "rules.rego");
    const out = await new Deno.Command(opaPath(), { args, cwd: REGO_DIR, stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`opa build failed:\n${new TextDecoder().decode(out.stderr)}`);
    }
    const gz = await Deno.readFile(bundle);
    const tar = new Uint8Array(
      await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")))
        .arrayBuffer(),
    );
    const wasm = extractTarEntry(tar, "policy.wasm");
    if (!wasm) throw new Error("opa bundle has no /policy.wasm");
    return wasm;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  const wasm = await compileRules();
  if (Deno.args.includes("--check")) {
    let committed: Uint8Array;
    try {
      committed = await Deno.readFile(WASM);
    } catch {
      console.error("rego/policy.wasm is missing: run `deno task build:rego` and commit it");
      Deno.exit(1);
    }
    const same = committed.length === wasm.length && committed.every((b, i) => b === wasm[i]);
    if (!same) {
      console.error("rego/policy.wasm is stale: run `deno task build:rego` and commit it");
      Deno.exit(1);
    }
    console.log("rego/policy.wasm is up to date");
  } else {
    await Deno.writeFile(WASM, wasm);
    console.log(`wrote rego/policy.wasm (${wasm.length} bytes)`);
  }
}

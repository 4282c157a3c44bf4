/**
 * `tools/tlsimpostor` for tests: built once per call with the local Go toolchain (absent: the
 * caller skips), run as a server (a certificate presented without its key) or as a client (a
 * client certificate presented without its key).
 *
 * @module
 */
import assert from "node:assert/strict";
import { withTempDir } from "./temp_dir.ts";

const TOOL = new URL("../../tools/tlsimpostor/", import.meta.url).pathname;

/** The `go` command, on PATH or where install_tools.sh looks; undefined when there is none. */
export async function findGo(): Promise<string | undefined> {
  for (const go of ["go", "/usr/local/go/bin/go"]) {
    try {
      const { success } = await new Deno.Command(go, { args: ["version"], stdout: "null" })
        .output();
      if (success) return go;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/**
 * Registers the test `name` (sanitizers off), ignored where `go` (from {@link findGo}) is
 * undefined: `fn` gets tlsimpostor built into a fresh temporary folder `dir`, removed afterwards.
 */
export function impostorTest(
  name: string,
  go: string | undefined,
  fn: (binary: string, dir: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: go === undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => withTempDir(async (dir) => await fn(await buildImpostor(go!, dir), dir)),
  });
}

/** Builds tlsimpostor with `go` into `dir`; returns the binary's path. */
async function buildImpostor(go: string, dir: string): Promise<string> {
  const binary = `${dir}/tlsimpostor`;
  const build = await new Deno.Command(go, {
    args: ["build", "-o", binary, "."],
    cwd: TOOL,
    env: { GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod", CGO_ENABLED: "0" },
  }).output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  return binary;
}

/** A running tlsimpostor server: its address and how to stop it. */
interface Impostor {
  readonly address: string;
  stop(): Promise<void>;
}

/** Starts tlsimpostor as a server with `args`; resolves once it listens. */
export async function startImpostor(binary: string, args: string[]): Promise<Impostor> {
  const child = new Deno.Command(binary, { args, stdin: "piped", stdout: "piped", stderr: "null" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tlsimpostor exited before listening: ${text}`);
    text += value;
  }
  reader.releaseLock();
  return {
    address: text.trim(),
    async stop() {
      await child.stdin.close();
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/**
 * Runs tlsimpostor as a client with `args` (`-connect` among them) and returns what it printed:
 * `STATUS <code>` or `ERROR <reason>`.
 */
export async function runImpostorClient(binary: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(binary, { args, stdout: "piped", stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

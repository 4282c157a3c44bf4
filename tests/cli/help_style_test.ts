/**
 * Every command's `--help` follows one style: a one-line summary in sentence case ending with a
 * period (details after a blank line), the top-level summaries equal to the command list's,
 * option descriptions as lower-case fragments (or starting with a proper name: Coordinator, AMD,
 * Intel, SNP, TDX) without a final period, defaults written `(default: …)`, shared flags with one
 * description, and an "Examples:" section on every command that runs something, whose
 * `contrast …` lines name real commands and only options those commands have.
 */
import assert from "node:assert/strict";
import type { Command } from "commander";
import { buildProgram, COMMANDS } from "../../cli/program.ts";
import { commandPath, HELP_EXAMPLES } from "../../cli/help_examples.ts";
import { JSON_OPTION_HELP } from "../../cli/coordinator_options.ts";
import { runContrast } from "../helpers/contrast_cli.ts";

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

function helpText(command: Command): string {
  let out = "";
  command.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  command.outputHelp();
  return out;
}

const PROPER_START = /^(?:Coordinator|AMD|Intel|SNP|TDX)\b/;

/** Flags several commands share, with the descriptions they may have. */
const SHARED_FLAGS: Readonly<Record<string, readonly string[]>> = {
  "--json": [JSON_OPTION_HELP, "print JSON"],
  "--offline": [
    "never use the network: read only the cache and --collateral-dir",
    "never use the network: resolve images from the cache only",
  ],
};

const program = await buildProgram([], { loadAll: true });
const commands = allCommands(program);

Deno.test("help style: one-line summaries in sentence case, equal to the command list", () => {
  assert.ok(commands.length >= 15, `${commands.length} commands`);
  for (const c of commands) {
    const path = commandPath(c) || "contrast";
    const [summary, blank, ...rest] = c.description().split("\n");
    assert.ok(summary && summary.length <= 90, `${path}: summary of ${summary?.length} chars`);
    assert.match(summary, /^[A-Z].*\.$/, `${path}: summary "${summary}"`);
    if (rest.length > 0 || blank !== undefined) {
      assert.equal(blank, "", `${path}: details follow the summary after a blank line`);
    }
  }
  for (const entry of COMMANDS) {
    const c = program.commands.find((x) => x.name() === entry.name)!;
    assert.equal(c.description().split("\n")[0], entry.summary, entry.name);
  }
});

Deno.test("help style: option descriptions are lower-case fragments with (default: …)", () => {
  const seen = new Map<string, Set<string>>();
  for (const c of commands) {
    const path = commandPath(c) || "contrast";
    for (const o of c.options) {
      if (o.hidden) continue;
      const d = o.description;
      const at = `${path} ${o.flags}`;
      assert.ok(d.length > 0, `${at}: no description`);
      assert.ok(/^[a-z]/.test(d) || PROPER_START.test(d), `${at}: "${d}" starts upper-case`);
      assert.ok(!d.endsWith("."), `${at}: "${d}" ends with a period`);
      assert.ok(!/\(default [^:]|; default [^:]/.test(d), `${at}: write defaults "(default: …)"`);
      const long = o.long ?? o.flags;
      if (!seen.has(long)) seen.set(long, new Set());
      seen.get(long)!.add(d);
    }
  }
  for (const [flag, allowed] of Object.entries(SHARED_FLAGS)) {
    for (const d of seen.get(flag) ?? []) assert.ok(allowed.includes(d), `${flag}: "${d}"`);
  }
  for (
    const flag of [
      "--timeout",
      "--cache-dir",
      "--image-cache",
      "--insecure-registry",
      "--image-lock",
      "--image-registry",
      "--coordinator",
      "--kds-url",
      "--pcs-url",
      "--collateral-dir",
    ]
  ) {
    assert.equal(seen.get(flag)?.size, 1, `${flag}: ${[...(seen.get(flag) ?? [])].join(" | ")}`);
  }
});

/** The command a `contrast …` example line runs, and the options it uses. */
function exampleTarget(line: string): { command: Command; options: string[] } {
  const words = line.split(/\s+/).slice(1); // drop "contrast"
  let command: Command = program;
  let i = 0;
  for (; i < words.length; i++) {
    const sub = command.commands.find((c) => c.name() === words[i]);
    if (!sub) break;
    command = sub;
  }
  const options = words.slice(i).filter((w) => w.startsWith("-") && w !== "-")
    .map((w) => w.split("=")[0]!);
  return { command, options };
}

Deno.test("help style: every runnable command's help ends with examples that run real options", () => {
  for (const c of commands) {
    const path = commandPath(c);
    const text = helpText(c);
    if (c.commands.length > 0 && path !== "") continue; // groups list their commands
    assert.match(text, /\nExamples:\n/, `${path || "contrast"}: no Examples section`);
    const ownLines = text.split("\n").filter((l) => l.startsWith(`  $ contrast ${path}`.trimEnd()));
    assert.ok(ownLines.length > 0, `${path}: no example of the command itself`);
  }
  for (const [path, lines] of Object.entries(HELP_EXAMPLES)) {
    for (const line of lines.filter((l) => l.startsWith("contrast "))) {
      const { command, options } = exampleTarget(line);
      assert.ok(command !== program || path === "", `${path}: "${line}" names no command`);
      const known = new Set(
        [...command.options, ...program.options].flatMap((o) => [o.long, o.short]),
      );
      known.add("-h").add("--help");
      for (const option of options) {
        assert.ok(
          known.has(option),
          `${path}: "${line}" uses ${option}, which ${commandPath(command)} lacks`,
        );
      }
    }
  }
});

Deno.test("help style: the real entry point prints the examples and exits 0", async () => {
  const run = await runContrast("verify", "--help");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Usage: contrast verify /);
  assert.match(run.stdout, /\nExamples:\n {2}\$ contrast verify -c /);
});

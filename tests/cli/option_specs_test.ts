/**
 * `cli/option_specs.ts`: the plain reader that runs `evidence show|verify` without commander
 * accepts only command lines commander parses to the same options, and leaves everything else
 * (help, errors, unusual forms) to commander; the CLI gives the same results either way.
 */
import assert from "node:assert/strict";
import { Command } from "../../cli/commander.ts";
import { EVIDENCE_OPTION_SPECS } from "../../cli/commands/evidence.ts";
import { addOptionSpecs, type OptionSpec, parsePlainOptions } from "../../cli/option_specs.ts";
import { runContrast, runContrastWithEnv } from "../helpers/contrast_cli.ts";
import { mulberry32 as prng } from "../../util/random/mulberry32.ts";

/** Commander's options for `args` (undefined when it rejects them), from the same specs. */
function commanderOptions(
  args: readonly string[],
  specs: readonly OptionSpec[],
): Record<string, unknown> | undefined {
  let parsed: Record<string, unknown> | undefined;
  const command = addOptionSpecs(
    new Command("t").exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} }),
    specs,
  ).action((o: Record<string, unknown>) => {
    parsed = { ...o };
  });
  try {
    command.parse([...args], { from: "user" });
  } catch {
    return undefined;
  }
  return parsed;
}

/** A command line of `length` tokens drawn from the specs' flags and awkward values. */
function generatedArgs(next: () => number, specs: readonly OptionSpec[]): string[] {
  const flags = specs.map((s) => s.flags.split(" ")[0]!);
  const values = ["a", "", "-x", "x=y", "help", "tdx", "--", "--help", "-h", "--nope", "b c"];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const args: string[] = [];
  const length = Math.floor(next() * 8);
  for (let i = 0; i < length; i++) {
    const roll = next();
    if (roll < 0.55) args.push(pick(flags), pick(values.slice(0, 6)));
    else if (roll < 0.75) args.push(`${pick(flags)}=${pick(values)}`);
    else if (roll < 0.9) args.push(pick(flags));
    else args.push(pick(values));
  }
  return args;
}

for (const [name, specsOf] of Object.entries(EVIDENCE_OPTION_SPECS)) {
  Deno.test(`evidence ${name}: what the plain reader accepts, commander parses to the same options`, () => {
    const specs = specsOf();
    const next = prng(0x5eed + name.length);
    let accepted = 0;
    let declined = 0;
    for (let i = 0; i < 4000; i++) {
      // Half the lines start with --platform, so required options are often present.
      const args = [...(next() < 0.5 ? ["--platform", "tdx"] : []), ...generatedArgs(next, specs)];
      const plain = parsePlainOptions(args, specs);
      if (plain === undefined) {
        declined++;
        continue;
      }
      accepted++;
      const expected = commanderOptions(args, specs);
      assert.ok(expected !== undefined, `commander rejects ${JSON.stringify(args)}`);
      assert.deepEqual(plain, expected, JSON.stringify(args));
    }
    // Both paths are exercised: the property is not vacuous.
    assert.ok(accepted > 300, `only ${accepted} accepted`);
    assert.ok(declined > 300, `only ${declined} declined`);
  });
}

Deno.test("the plain reader: the plain forms, defaults, and what it leaves to commander", () => {
  const specs = EVIDENCE_OPTION_SPECS.verify();
  assert.deepEqual(
    parsePlainOptions(["--platform", "tdx", "--quote=q.bin", "--json", "--now", ""], specs),
    { platform: "tdx", quote: "q.bin", json: true, now: "", timeout: "30s" },
  );
  for (
    const args of [
      ["--quote", "q"], // --platform is required
      ["--platform", "tdx", "--help"],
      ["--platform", "tdx", "-h"],
      ["--platform", "tdx", "extra"],
      ["--platform", "tdx", "--", "--json"],
      ["--platform", "tdx", "--json=yes"],
      ["--platform", "tdx", "--quote"],
      ["--platform", "tdx", "--now", "-1"],
      ["--platform", "tdx", "--platform", "snp"],
      ["--platform", "tdx", "--log-level", "debug"],
      ["--platform", "tdx", "--unknown"],
    ]
  ) {
    assert.equal(parsePlainOptions(args, specs), undefined, JSON.stringify(args));
  }
  // Short, optional-value and negatable options are commander's alone.
  for (const flags of ["-j, --json", "--out [file]", "--no-color", "--files <f...>"]) {
    assert.equal(parsePlainOptions([], [{ flags, description: "" }]), undefined, flags);
  }
});

Deno.test("evidence on the plain path and through commander: same usage errors and help", async () => {
  // Declined by the plain reader: commander reports it, as before.
  const unknown = await runContrast("evidence", "verify", "--platform", "tdx", "--bogus");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--bogus'/);
  const missing = await runContrast("evidence", "verify", "--quote", "q.bin");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /required option '--platform <platform>' not specified/);
  const help = await runContrast("evidence", "verify", "--platform", "tdx", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--allow-tcb-status <list>/);
  assert.match(help.stdout, /--timeout <duration> +time limit of each network operation/);
  assert.match(help.stdout, /\(default: "30s"\)/);
  // A bad CONTRAST_LOG_LEVEL stays a usage error on a command the plain path would run.
  const env = await runContrastWithEnv(
    { CONTRAST_LOG_LEVEL: "loud" },
    "evidence",
    "verify",
    "--platform",
    "tdx",
    "--quote",
    "q.bin",
  );
  assert.equal(env.code, 2);
  assert.match(env.stderr, /value 'loud' from env 'CONTRAST_LOG_LEVEL'/);
  // Run on the plain path: the command's own typed error, exit code and --json document.
  const plain = await runContrast(
    "evidence",
    "verify",
    "--platform",
    "snp",
    "--quote=q.bin",
    "--json",
  );
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /--quote: not an option of --platform snp/);
  const document = JSON.parse(plain.stdout);
  assert.equal(document.command, "evidence verify");
  assert.equal(document.exitCode, 2);
});

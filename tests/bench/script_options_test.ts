import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { checkOptions, type ScriptUsage, usageText } from "../../bench/script_options.ts";

const SPEC: ScriptUsage = {
  usage: "deno run -A x.ts [options]",
  options: [
    { name: "--rounds", value: "number", default: "5", help: "rounds" },
    { name: "--against", value: "string", help: "a checkout" },
    { name: "--deno-flags", value: "raw", help: "flags" },
    { name: "--sweep", value: "optional", default: "1,2", help: "levels" },
    { name: "--json", help: "JSON" },
  ],
};

Deno.test("checkOptions: a well-formed command line passes", () => {
  for (
    const args of [
      [],
      ["--rounds", "3", "--json"],
      ["--rounds", "-1"],
      ["--sweep", "--json"],
      ["--sweep", "1,4"],
      ["--deno-flags", "--v8-flags=--max-old-space-size=100"],
      ["--against", "../main"],
    ]
  ) assertEquals(checkOptions(args, SPEC), { kind: "ok" }, args.join(" "));
});

Deno.test("checkOptions: --help wins over everything and lists every option", () => {
  const check = checkOptions(["--bogus", "--help"], SPEC);
  assertEquals(check.kind, "help");
  const text = usageText(SPEC);
  ok(text.startsWith("Usage: deno run -A x.ts [options]"));
  for (
    const line of ["--rounds N", "(default 5)", "--against VALUE", "--sweep [VALUE]", "--help"]
  ) {
    ok(text.includes(line), line);
  }
});

Deno.test("checkOptions: each bad command line is refused, naming the option", () => {
  const cases: [string[], string][] = [
    [["--bogus"], "unknown option --bogus (--help lists them)"],
    [["--rounds"], "--rounds needs a value"],
    [["--rounds", "x"], '--rounds: "x" is not a number'],
    [["--rounds", "--json"], "--rounds needs a value"],
    [["--against"], "--against needs a value"],
    [["--against", "--json"], "--against needs a value"],
    [["--rounds=3"], "--rounds: write `--rounds VALUE`, not `--rounds=3`"],
    [["stray"], "no positional arguments are taken (--help lists the options)"],
  ];
  for (const [args, message] of cases) {
    assertEquals(checkOptions(args, SPEC), { kind: "error", message }, args.join(" "));
  }
});

Deno.test("checkOptions: inline values and positional arguments where the script takes them", () => {
  const spec = { ...SPEC, inlineValues: true, positionals: 1 };
  assertEquals(checkOptions(["--rounds=3", "a"], spec), { kind: "ok" });
  assertEquals(checkOptions(["--rounds=x"], spec), {
    kind: "error",
    message: '--rounds: "x" is not a number',
  });
  assertEquals(checkOptions(["--json=1"], spec), {
    kind: "error",
    message: "--json takes no value",
  });
  assertEquals(checkOptions(["a", "b"], spec), {
    kind: "error",
    message: "at most 1 positional argument(s) are taken",
  });
});

import assert from "node:assert/strict";
import { Command, CommanderError } from "commander";
import { ParseError } from "../../util/errors/mod.ts";
import { Logger } from "../../util/log/logger.ts";
import { addLogFormatOption, fatalExitCode, usageExitCode } from "../../util/process_options.ts";
import { addEvidenceOptions, evidenceConfigFromOptions } from "../../evidence/evidence_config.ts";

function parsed(args: string[]): Record<string, unknown> {
  const command = addLogFormatOption(addEvidenceOptions(new Command("p").exitOverride()));
  command.parse(args, { from: "user" });
  return command.opts();
}

Deno.test("evidence options parse into the evidence configuration, simulated only when allowed", () => {
  const config = evidenceConfigFromOptions(parsed([
    "--evidence",
    "simulated-snp",
    "--allow-simulated",
    "--simulated-authority",
    "/a",
    "--simulated-host-data",
    "ab",
    "--simulated-measurement",
    "cd",
  ]));
  assert.deepEqual(config, {
    kind: "simulated-snp",
    allowSimulated: true,
    simulatedAuthorityDir: "/a",
    simulatedHostData: "ab",
    simulatedMeasurement: "cd",
    simulatedWithoutCertificates: false,
    configfsTsmDir: undefined,
  });
  const real = evidenceConfigFromOptions(parsed(["--configfs-tsm-dir", "/tsm"]));
  assert.equal(real.allowSimulated, false);
  assert.equal(real.configfsTsmDir, "/tsm");
});

Deno.test("an unknown log format is refused", () => {
  assert.throws(() => parsed(["--log-format", "xml"]), /log-format|xml/);
  assert.equal(parsed(["--log-format", "text"]).logFormat, "text");
});

Deno.test("fatal errors: a ContrastError exits 1 naming its field, anything else exits 70", () => {
  const lines: string[] = [];
  const logger = new Logger("p", { format: "json", sink: (l) => lines.push(l) });
  assert.equal(fatalExitCode(logger, "failed", new ParseError("evidence", "bad kind")), 1);
  assert.match(lines[0]!, /"failed"/);
  assert.match(lines[0]!, /evidence: bad kind/);
  assert.equal(fatalExitCode(logger, "failed", new TypeError("boom")), 70);
  assert.match(lines[1]!, /TypeError: boom/);
});

Deno.test("--help and --version of the Coordinator and the initializer exit 0, bad usage 2", async () => {
  for (const main of ["coordinator/main.ts", "initializer/main.ts"]) {
    const path = new URL(`../../${main}`, import.meta.url).pathname;
    for (const [args, expected] of [[["--help"], 0], [["--no-such-flag"], 2]] as const) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", path, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, expected, `${main} ${args.join(" ")}`);
      if (expected === 0) assert.match(new TextDecoder().decode(out.stdout), /Usage:/);
    }
  }
});

Deno.test("usageExitCode: 0 for help/version, 2 for anything else", () => {
  assert.equal(usageExitCode(new CommanderError(0, "commander.helpDisplayed", "")), 0);
  assert.equal(usageExitCode(new CommanderError(1, "commander.unknownOption", "")), 2);
  assert.equal(usageExitCode(new Error("x")), 2);
});

/**
 * The global `--log-level error|warn|info|debug` (else `CONTRAST_LOG_LEVEL`, default `info`):
 * accepted before the command name, a bad value is a usage error (exit 2) naming the option,
 * `warn`/`error` drop progress lines but never errors or the `--json` document, `debug` adds the
 * stack of internal errors. And `NO_COLOR`: no command writes ANSI escapes, with or without it.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { internalErrorLines, progressWriter, warningWriter } from "../../cli/output.ts";
import { runContrast, runContrastWithEnv } from "../helpers/contrast_cli.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";

const ESC = "\x1b[";

Deno.test("--log-level warn before the command drops progress lines; info prints them", () =>
  withTempDir(async (dir) => {
    const args = ["collateral", "export", "--cache-dir", `${dir}/cache`, "--out", `${dir}/out`];
    const info = await runContrast(...args);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stderr, /0 written, 0 skipped/);

    const warn = await runContrast("--log-level", "warn", ...args);
    assert.equal(warn.code, 0, warn.stderr);
    assert.equal(warn.stderr, "");

    const byEnv = await runContrastWithEnv({ CONTRAST_LOG_LEVEL: "error" }, ...args);
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal(byEnv.stderr, "");

    // The flag wins over the environment.
    const flagWins = await runContrastWithEnv(
      { CONTRAST_LOG_LEVEL: "error" },
      "--log-level=debug",
      ...args,
    );
    assert.match(flagWins.stderr, /0 written, 0 skipped/);
  }));

Deno.test("an invalid --log-level or CONTRAST_LOG_LEVEL is a usage error (exit 2) naming it", async () => {
  const flag = await runContrast("--log-level", "loud", "runtime", "--platform", "Simulated-SNP");
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--log-level <level>' argument 'loud' is invalid/);
  assert.equal(flag.stdout, "");

  const env = await runContrastWithEnv(
    { CONTRAST_LOG_LEVEL: "loud" },
    "runtime",
    "--platform",
    "Simulated-SNP",
  );
  assert.equal(env.code, 2);
  assert.match(env.stderr, /--log-level <level>' value 'loud' from env 'CONTRAST_LOG_LEVEL'/);
});

Deno.test("NO_COLOR: help, results, progress and errors carry no ANSI escapes", () =>
  withTempDir(async (dir) => {
    const runs = [
      ["--help"],
      ["runtime", "--platform", "Simulated-TDX"],
      ["collateral", "export", "--cache-dir", `${dir}/cache`, "--out", `${dir}/out`],
      ["verify", "-c", "127.0.0.1:1", "--workspace-dir", `${dir}/none`],
      ["--log-level", "nope", "verify"],
    ];
    const envs: Record<string, string>[] = [{}, { NO_COLOR: "1" }];
    for (const env of envs) {
      for (const args of runs) {
        const r = await runContrastWithEnv(env, ...args);
        assert.ok(r.stdout.length + r.stderr.length > 0, `${args.join(" ")} printed something`);
        assert.ok(!r.stdout.includes(ESC), `stdout of ${args.join(" ")} ${JSON.stringify(env)}`);
        assert.ok(!r.stderr.includes(ESC), `stderr of ${args.join(" ")} ${JSON.stringify(env)}`);
      }
    }
  }));

Deno.test("progress lines from info up, warnings from warn up; internal errors show their stack only at debug", () => {
  const lines: string[] = [];
  for (const level of ["error", "warn", "info", "debug"] as const) {
    progressWriter(level, (line) => lines.push(line))(level);
  }
  assert.deepEqual(lines, ["info", "debug"]);
  const warnings: string[] = [];
  for (const level of ["error", "warn", "info", "debug"] as const) {
    warningWriter(level, (line) => warnings.push(line))(level);
  }
  assert.deepEqual(warnings, ["warn", "info", "debug"]);

  const error = new TypeError("boom");
  assert.deepEqual(internalErrorLines(error, "info"), ["boom"]);
  assert.deepEqual(internalErrorLines(error, "warn"), ["boom"]);
  const [first, ...frames] = internalErrorLines(error, "debug");
  assert.equal(first, "TypeError: boom");
  assert.ok(frames.length > 0 && frames.every((f) => /^\s+at /.test(f)), frames.join("|"));
  // A message with a line break stays one entry (printed escaped): it cannot pose as a frame.
  const forged = internalErrorLines(new Error("boom\n    at forged (x.ts:1:1)"), "debug");
  assert.equal(forged.filter((f) => f.includes("forged")).length, 1);
  assert.deepEqual(internalErrorLines("text", "debug"), ["text"]);
});

const run = runCliCaptured;

coordinatorWorkspaceTest(
  "verify: --log-level warn drops progress, never the --json document or an error",
  async (_t, ws, c) => {
    await c.setFirstManifest();
    const verify = ["verify", "-c", c.userAddress, "--workspace-dir", ws.dir];

    const info = await run(...verify);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /✔ Coordinator attested/);

    const warn = await run("--log-level", "warn", ...verify);
    assert.equal(warn.code, 0, warn.stderr);
    assert.equal(warn.stdout, "");

    const json = await run("--log-level", "error", ...verify, "--json");
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).ok, true);

    const missing = await run("--log-level", "error", ...verify, "-m", `${ws.dir}/absent.json`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /absent\.json/);
  },
);

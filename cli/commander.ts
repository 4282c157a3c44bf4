/**
 * The `commander` the CLI runs on: the package's code from `cli/vendor/commander.js` (written by
 * `scripts/vendor_commander.ts`; without the `node:fs` and `node:child_process` imports, which
 * commander needs only for executable subcommands and which cost every process ~6 ms of CPU),
 * typed by the package's own declarations. Import values from here, types from `"commander"`.
 *
 * @example A program with one option
 * ```ts
 * import { Command } from "./commander.ts";
 *
 * const program = new Command("demo").option("--name <value>", "who").exitOverride();
 * program.parse(["--name", "x"], { from: "user" });
 * console.log(program.opts().name); // x
 * ```
 *
 * @module
 */
// @ts-types="commander"
export { Command, CommanderError, Option } from "./vendor/commander.js";

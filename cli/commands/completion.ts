/**
 * `contrast completion bash|zsh|fish`: prints a shell completion script generated from every
 * command and flag (`source <(contrast completion bash)`).
 *
 * @module
 */
import type { Command } from "commander";
import { completionScript, completionTree } from "../completion.ts";

/** Registers `contrast completion`. */
export function registerCompletionCommand(program: Command): void {
  program
    .command("completion")
    .description("Print a shell completion script (bash, zsh or fish).")
    .argument("<shell>", "bash, zsh or fish")
    .action(async (shell: string) => {
      // The full tree: every command loaded, not only the one being run.
      const { buildProgram } = await import("../program.ts");
      const full = await buildProgram([], { loadAll: true });
      await Deno.stdout.write(
        new TextEncoder().encode(completionScript(shell, completionTree(full))),
      );
    });
}

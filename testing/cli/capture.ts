/**
 * Test aid: runs the `contrast` CLI in-process with `console.log` / `console.error` captured.
 *
 * @module
 */
import { runCli } from "../../cli/main.ts";

/** What one in-process run printed and returned. */
interface CapturedRun {
  /** The exit code. */
  readonly code: number;
  /** Everything printed through `console.log`. */
  readonly stdout: string;
  /** Everything printed through `console.error`. */
  readonly stderr: string;
}

/** Runs `contrast ARGS` in-process and returns its exit code and output. */
export async function runCliCaptured(...args: string[]): Promise<CapturedRun> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await runCli(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/**
 * Runs `contrast <command[0]> -c <coordinator> -w <workspace> <command[1..]>` in-process (a
 * command against the Coordinator at `coordinator`, `HOST:PORT`) and returns what it printed.
 */
export async function runCliAgainst(
  coordinator: string,
  workspace: string,
  command: readonly [string, ...string[]],
): Promise<CapturedRun> {
  const [name, ...rest] = command;
  return await runCliCaptured(name, "-c", coordinator, "-w", workspace, ...rest);
}

/**
 * Starts the Coordinator (`coordinator/main.ts`) as a subprocess on real evidence (configfs-tsm
 * over an empty directory) with extra flags, for tests of flags that must stop such a start.
 *
 * @module
 */
import { withTempDir } from "./temp_dir.ts";

const MAIN = new URL("../../coordinator/main.ts", import.meta.url).pathname;

/** Runs the Coordinator on real evidence with `extraArgs` and waits for it to exit. */
export function startOnRealEvidence(
  ...extraArgs: string[]
): Promise<{ readonly code: number; readonly stderr: string }> {
  return withTempDir(async (dir) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--history-dir",
        `${dir}/history`,
        "--evidence",
        "configfs-tsm",
        "--configfs-tsm-dir",
        dir,
        ...extraArgs,
        "--log-format",
        "json",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  });
}

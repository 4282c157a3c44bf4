/**
 * The CPU time a process has used, from `/proc/<pid>/stat` (Linux): user + system of all its
 * threads, in milliseconds, at the kernel's 100 ticks per second (10 ms resolution: time phases
 * of at least a few hundred ms).
 *
 * @example CPU time spent by a phase of this process
 * ```ts
 * import { processCpuMs } from "./process_cpu.ts";
 * const before = processCpuMs();
 * let x = 0;
 * for (let i = 0; i < 1e6; i++) x += i;
 * console.log(processCpuMs() - before >= 0, x > 0);
 * ```
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat`'s times (`USER_HZ`, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU milliseconds (user + system, all threads) that process `pid` (default: this one) has used. */
export function processCpuMs(pid: number | "self" = "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name in parentheses may hold spaces: fields are counted after its ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SECOND;
}

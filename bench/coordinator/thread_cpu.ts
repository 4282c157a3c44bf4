/**
 * CPU time of a process's threads grouped by what runs on them, from `/proc/<pid>/task/<tid>/stat`
 * (Linux): the main thread (JavaScript, `Deno.serve`'s HTTP and TLS, synchronous ops), Tokio's
 * blocking pool (`tokio-runtime-w`: WebCrypto signatures and verifications, asynchronous file
 * reads), V8's worker threads (`V8 DefaultWorke`: concurrent GC marking and sweeping, compilation)
 * and anything else.
 *
 * @module
 */

/** CPU seconds per thread group. */
export interface ThreadCpu {
  /** The main thread (its task id is the process id). */
  readonly main: number;
  /** Tokio's blocking pool. */
  readonly blockingPool: number;
  /** V8's platform worker threads. */
  readonly v8Workers: number;
  /** Every other thread. */
  readonly other: number;
  /**
   * Seconds the threads spent runnable but waiting for a CPU (run-queue delay, all groups, from
   * `/proc/<pid>/task/<tid>/schedstat`): time lost to other processes competing for the cores.
   */
  readonly runQueueWait: number;
}

/** USER_HZ of Linux's /proc accounting (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SECOND = 100;

/** The thread group of a thread named `comm` (the kernel keeps the first 15 bytes of a name). */
function groupOf(comm: string, isMain: boolean): keyof ThreadCpu {
  if (isMain) return "main";
  if (comm.startsWith("tokio-runtime-w")) return "blockingPool";
  if (comm.startsWith("V8 ")) return "v8Workers";
  return "other";
}

/**
 * CPU seconds (user + system) the live threads of `pid` have used so far, by group. Threads that
 * have exited are not counted here (the process total in `/proc/<pid>/stat` keeps them).
 */
export async function threadCpuSeconds(pid: number): Promise<ThreadCpu> {
  const sums = { main: 0, blockingPool: 0, v8Workers: 0, other: 0, runQueueWait: 0 };
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    let stat: string;
    let schedstat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/stat`);
      schedstat = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/schedstat`);
    } catch {
      continue; // the thread exited between listing and reading
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(ticks)) throw new Error(`unreadable /proc/${pid}/task/${entry.name}/stat`);
    sums[groupOf(comm, entry.name === String(pid))] += ticks / CLOCK_TICKS_PER_SECOND;
    // schedstat: time on a CPU, time waiting on a run queue (both ns), time slices.
    const waitNs = Number(schedstat.split(" ")[1]);
    if (Number.isFinite(waitNs)) sums.runQueueWait += waitNs / 1e9;
  }
  return sums;
}

/** `after - before`, per group. */
export function threadCpuDelta(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  return {
    main: after.main - before.main,
    blockingPool: after.blockingPool - before.blockingPool,
    v8Workers: after.v8Workers - before.v8Workers,
    other: after.other - before.other,
    runQueueWait: after.runQueueWait - before.runQueueWait,
  };
}

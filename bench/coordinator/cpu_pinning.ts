/**
 * CPU pinning of the load test's two processes (Linux): the Coordinator on one set of CPUs, the
 * load generator on another, so the generator's CPU (TLS client, simulated evidence, checks of the
 * answers: what initializers in other pods on other nodes spend in production) is not taken from
 * the Coordinator's cores. Pinning uses `taskset` (util-linux) on every thread of a process and is
 * checked afterwards from `/proc/<pid>/task/<tid>/status` (`Cpus_allowed_list`): a pin that did not
 * take throws, so a run never claims a separation it did not have.
 *
 * The CPU-list parsing and splitting are pure ({@link parseCpuList}, {@link formatCpuList},
 * {@link splitCpus}); {@link pinProcess} and {@link allowedCpus} touch the system.
 *
 * @module
 */

/**
 * The CPUs of a kernel CPU list (`0-3,8,10-11`), ascending and without duplicates.
 *
 * @throws {RangeError} naming `field` for an empty list, a malformed entry or a range whose end
 *   is below its start
 */
export function parseCpuList(list: string, field = "CPU list"): number[] {
  const cpus = new Set<number>();
  const text = list.trim();
  if (text === "") throw new RangeError(`${field}: empty`);
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new RangeError(`${field}: "${part}" is not a CPU number or range`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new RangeError(`${field}: range "${part}" ends before it starts`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** `cpus` as a kernel CPU list, ranges collapsed (`[0, 1, 2, 5]` → `0-2,5`). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** Which CPUs each process of the load test may run on. */
export interface CpuSplit {
  /** The Coordinator's CPUs. */
  readonly coordinator: readonly number[];
  /** The load generator's CPUs (disjoint from the Coordinator's). */
  readonly generator: readonly number[];
}

/**
 * Splits the CPUs available into two disjoint halves, the Coordinator's first (the larger half
 * when the count is odd): on a two-core machine, CPU 0 for the Coordinator, CPU 1 for the
 * generator.
 *
 * @throws {RangeError} with fewer than two CPUs (nothing to separate)
 */
export function splitCpus(available: readonly number[]): CpuSplit {
  const cpus = [...new Set(available)].sort((a, b) => a - b);
  if (cpus.length < 2) {
    throw new RangeError(
      `--pin: needs at least two CPUs to separate the Coordinator from the generator, ` +
        `have ${formatCpuList(cpus) || "none"}`,
    );
  }
  const half = Math.ceil(cpus.length / 2);
  return { coordinator: cpus.slice(0, half), generator: cpus.slice(half) };
}

/**
 * Checks that two CPU sets given explicitly are disjoint and within `available`.
 *
 * @throws {RangeError} naming the flag of the set at fault
 */
export function checkSplit(split: CpuSplit, available: readonly number[]): CpuSplit {
  const allowed = new Set(available);
  for (
    const [flag, cpus] of [
      ["--pin-coordinator", split.coordinator],
      ["--pin-generator", split.generator],
    ] as const
  ) {
    if (cpus.length === 0) throw new RangeError(`${flag}: no CPU`);
    const missing = cpus.filter((c) => !allowed.has(c));
    if (missing.length > 0) {
      throw new RangeError(
        `${flag}: CPU ${formatCpuList(missing)} not available (have ${formatCpuList(available)})`,
      );
    }
  }
  const shared = split.coordinator.filter((c) => split.generator.includes(c));
  if (shared.length > 0) {
    throw new RangeError(
      `--pin-coordinator and --pin-generator share CPU ${formatCpuList(shared)}`,
    );
  }
  return split;
}

/** The CPUs every live thread of `pid` may run on, by thread id (`/proc/<pid>/task/*`). */
async function threadAffinities(pid: number): Promise<Map<string, number[]>> {
  const byThread = new Map<string, number[]>();
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/status`);
    } catch {
      continue; // the thread exited between listing and reading
    }
    const line = status.split("\n").find((l) => l.startsWith("Cpus_allowed_list:"));
    if (line === undefined) throw new Error(`/proc/${pid}/task/${entry.name}/status: no CPU list`);
    byThread.set(entry.name, parseCpuList(line.slice(line.indexOf(":") + 1)));
  }
  return byThread;
}

/** The CPUs process `pid`'s main thread may run on. */
export async function allowedCpus(pid: number): Promise<number[]> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const line = status.split("\n").find((l) => l.startsWith("Cpus_allowed_list:"));
  if (line === undefined) throw new Error(`/proc/${pid}/status: no Cpus_allowed_list`);
  return parseCpuList(line.slice(line.indexOf(":") + 1), `/proc/${pid}/status`);
}

/**
 * Pins every thread of `pid` to `cpus` (`taskset -a -p -c`; threads started later inherit it
 * from the thread that starts them) and checks every live thread's CPU list afterwards.
 *
 * @throws {Error} when `taskset` fails or a thread is left with other CPUs
 */
export async function pinProcess(pid: number, cpus: readonly number[]): Promise<void> {
  const list = formatCpuList(cpus);
  // A thread started while taskset walks the threads may keep the old mask: again until none.
  for (let attempt = 0;; attempt++) {
    const stray = [...(await threadAffinities(pid))].filter(([, a]) => formatCpuList(a) !== list);
    if (stray.length === 0) return;
    if (attempt === RETRIES) {
      const [tid, allowed] = stray[0]!;
      throw new Error(
        `--pin: thread ${tid} of process ${pid} may run on CPU ${formatCpuList(allowed)}, ` +
          `not ${list} as pinned`,
      );
    }
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("taskset", {
        args: ["-a", "-p", "-c", list, String(pid)],
        stdout: "null",
        stderr: "piped",
      }).output();
    } catch (error) {
      throw new Error(`--pin: cannot run taskset (util-linux): ${(error as Error).message}`);
    }
    if (!out.success) {
      throw new Error(
        `--pin: taskset -a -p -c ${list} ${pid} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
  }
}

/**
 * Checks that every live thread of `pid` is still confined to `cpus` (threads started since the
 * pin inherit it; this catches one that did not), so a pinned run's figures are pinned ones.
 *
 * @throws {Error} naming the thread that may run elsewhere
 */
export async function checkPinned(pid: number, cpus: readonly number[]): Promise<void> {
  const want = new Set(cpus);
  for (const [tid, allowed] of await threadAffinities(pid)) {
    if (allowed.some((c) => !want.has(c))) {
      throw new Error(
        `pinned run: thread ${tid} of process ${pid} may run on CPU ` +
          `${formatCpuList(allowed)}, outside ${formatCpuList(cpus)}`,
      );
    }
  }
}

/** The nice value of every live thread of `pid`, by thread id (`/proc/<pid>/task/<tid>/stat`). */
async function threadNiceValues(pid: number): Promise<Map<string, number>> {
  const byThread = new Map<string, number>();
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/stat`);
    } catch {
      continue; // the thread exited between listing and reading
    }
    // Fields after the command name; nice is field 19 (index 16 after "pid (comm) ").
    const nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    if (!Number.isInteger(nice)) throw new Error(`/proc/${pid}/task/${entry.name}/stat: no nice`);
    byThread.set(entry.name, nice);
  }
  return byThread;
}

/**
 * The nice value of `pid`'s scheduler autogroup (`/proc/<pid>/autogroup`, "/autogroup-N nice V"),
 * or `undefined` where the kernel has no autogroups. With `kernel.sched_autogroup_enabled`, CPU
 * time is shared fairly between sessions first, and a thread's own nice value only counts within
 * its session: the group's value is what ranks it against other sessions' work.
 */
async function autogroupNice(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/autogroup`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const m = /nice (-?\d+)/.exec(text);
  if (!m) throw new Error(`/proc/${pid}/autogroup: "${text.trim()}" names no nice value`);
  return Number(m[1]);
}

/**
 * Sets the nice value of `pid`'s scheduler autogroup (its session's processes share it) and
 * returns the value it had, or `undefined` where the kernel has no autogroups. Without it other
 * sessions' work still shares the CPU evenly with the process whatever its threads' nice values.
 * The caller restores the old value when done (it outlives the process's threads' values).
 *
 * @throws {RangeError} for a value outside -20..19
 * @throws {Error} when the value cannot be written (privileges)
 */
export async function setAutogroupNice(pid: number, nice: number): Promise<number | undefined> {
  if (!(Number.isInteger(nice) && nice >= -20 && nice <= 19)) {
    throw new RangeError(`--nice ${nice}: a whole number from -20 to 19`);
  }
  const before = await autogroupNice(pid);
  if (before === undefined) return undefined;
  try {
    await Deno.writeTextFile(`/proc/${pid}/autogroup`, String(nice));
  } catch (error) {
    throw new Error(
      `--nice: cannot set /proc/${pid}/autogroup to ${nice}: ${(error as Error).message}`,
    );
  }
  const after = await autogroupNice(pid);
  if (after !== nice) {
    throw new Error(`--nice: the autogroup of process ${pid} runs at nice ${after}, not ${nice}`);
  }
  return before;
}

/**
 * Sets the nice value of every thread of `pid` (Linux keeps one per thread; threads started
 * later inherit their creator's) with `renice`, and checks every live thread afterwards. A
 * negative value needs privileges: the error says so. With scheduler autogroups this ranks the
 * threads within their session only: see {@link setAutogroupNice}.
 *
 * @throws {RangeError} for a value outside -20..19
 * @throws {Error} when `renice` fails or a thread keeps another value
 */
export async function reniceProcess(pid: number, nice: number): Promise<void> {
  if (!(Number.isInteger(nice) && nice >= -20 && nice <= 19)) {
    throw new RangeError(`--nice ${nice}: a whole number from -20 to 19`);
  }
  // A thread started between listing and renicing its creator keeps the old value: again until
  // every live thread has the new one.
  for (let attempt = 0;; attempt++) {
    const tids = [...(await threadNiceValues(pid))].filter(([, v]) => v !== nice).map(([t]) => t);
    if (tids.length === 0) return;
    if (attempt === RETRIES) await checkNice(pid, nice); // throws naming the thread
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("renice", {
        args: ["-n", String(nice), "-p", ...tids],
        stdout: "null",
        stderr: "piped",
      }).output();
    } catch (error) {
      throw new Error(`--nice: cannot run renice (util-linux): ${(error as Error).message}`);
    }
    const stderr = new TextDecoder().decode(out.stderr);
    // A thread that exited in between is "No such process"; anything else is an error.
    if (!out.success && !/No such process/.test(stderr)) {
      throw new Error(`--nice: renice -n ${nice} failed: ${stderr}`);
    }
  }
}

/** How often pinning or renicing is repeated for threads started meanwhile. */
const RETRIES = 5;

/**
 * Checks that every live thread of `pid` runs at nice value `nice`.
 *
 * @throws {Error} naming the thread that does not
 */
export async function checkNice(pid: number, nice: number): Promise<void> {
  for (const [tid, value] of await threadNiceValues(pid)) {
    if (value !== nice) {
      throw new Error(`--nice: thread ${tid} of process ${pid} runs at nice ${value}, not ${nice}`);
    }
  }
}

/**
 * A child process of the local control plane, its stdout and stderr appended to a log file.
 *
 * @module
 */

/** A running (or stopped) server process that can be restarted with the same arguments. */
export class ManagedProcess {
  readonly #name: string;
  readonly #command: string;
  readonly #args: readonly string[];
  readonly #logPath: string;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;

  /**
   * @param name for error messages (`etcd`, `kube-apiserver`)
   * @param logPath stdout and stderr are appended here
   */
  constructor(name: string, command: string, args: readonly string[], logPath: string) {
    this.#name = name;
    this.#command = command;
    this.#args = args;
    this.#logPath = logPath;
  }

  /** The log file. */
  get logPath(): string {
    return this.#logPath;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The process id while running. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the process (a no-op while it runs). */
  async start(): Promise<void> {
    if (this.#child) return;
    const child = new Deno.Command(this.#command, {
      args: [...this.#args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const open = () => Deno.open(this.#logPath, { create: true, append: true });
    const [out, err] = await Promise.all([open(), open()]);
    const copies = Promise.allSettled([
      child.stdout.pipeTo(out.writable),
      child.stderr.pipeTo(err.writable),
    ]);
    this.#child = child;
    this.#exited = child.status.then(async (status) => {
      await copies;
      if (this.#child === child) this.#child = undefined;
      return status;
    });
  }

  /** Resolves with the exit status when the process ends by itself (for readiness waits). */
  exited(): Promise<Deno.CommandStatus> | undefined {
    return this.#exited;
  }

  /**
   * Stops the process with `signal` (SIGTERM by default; SIGKILL for a crash), then SIGKILL after
   * `graceMs`; resolves once it has exited.
   */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 10_000): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (!child || !exited) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        resolve();
      }, graceMs);
    });
    await Promise.race([exited, killed]);
    await exited;
    clearTimeout(timer);
  }

  /** The last `lines` lines of the log, for error messages. */
  async logTail(lines = 20): Promise<string> {
    try {
      const text = await Deno.readTextFile(this.#logPath);
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Name for messages. */
  get name(): string {
    return this.#name;
  }
}

/** A free TCP port on 127.0.0.1 (bound and released; the caller binds it right after). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Polls `probe` every 100 ms until it returns true, failing early when `process` exits and after
 * `timeoutMs`; the error carries the tail of the process's log.
 */
export async function waitUntil(
  process: ManagedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  process.exited()?.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited || !process.running) {
      throw new Error(`${process.name} exited before it was ready:\n${await process.logTail()}`);
    }
    try {
      if (await probe()) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${process.name} not ready after ${timeoutMs} ms:\n${await process.logTail()}`,
  );
}

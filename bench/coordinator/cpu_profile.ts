/**
 * A V8 CPU profile of another Deno process, taken over its inspector (Chrome DevTools Protocol):
 * start the process with `--inspect=127.0.0.1:0`, pass the `ws://` address it prints to
 * {@link InspectorProfiler.connect}, then {@link InspectorProfiler.start} and
 * {@link InspectorProfiler.stop} around the phase of interest. {@link summarizeProfile} turns the
 * profile into the functions and source files with the most self time (what a flame graph's
 * widest leaves show), so a load test can print where its target spends its main thread.
 *
 * Only the JavaScript thread is sampled: work Deno hands to other threads (WebCrypto's
 * asynchronous operations, parts of TLS) shows up in the process's CPU time, not here.
 *
 * @module
 */

/** A CDP `Profiler.Profile`, as much of it as is read here. */
interface CpuProfile {
  /** Call-tree nodes. */
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }[];
  /** The node id of each sample. */
  readonly samples: readonly number[];
  /** Microseconds between consecutive samples. */
  readonly timeDeltas: readonly number[];
  /** Start and end, microseconds. */
  readonly startTime: number;
  readonly endTime: number;
}

/** The `ws://` inspector address a Deno process prints to its standard error, if `line` has it. */
export function inspectorAddress(line: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
}

/** A connection to one process's inspector that can take CPU profiles. */
export class InspectorProfiler {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as Record<string, unknown>;
      const id = message.id as number | undefined;
      if (id === undefined) return;
      this.#pending.get(id)?.(message);
      this.#pending.delete(id);
    };
  }

  /** Connects to the inspector at `address` (`ws://…`). */
  static async connect(address: string): Promise<InspectorProfiler> {
    const socket = new WebSocket(address);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to the inspector at ${address}`));
    });
    const profiler = new InspectorProfiler(socket);
    await profiler.#call("Profiler.enable");
    // The process was started with --inspect only: let it run.
    await profiler.#call("Runtime.runIfWaitingForDebugger");
    return profiler;
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (message) => {
        if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        else resolve((message.result ?? {}) as Record<string, unknown>);
      });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Starts sampling every `intervalMicros` µs (default 250). */
  async start(intervalMicros = 250): Promise<void> {
    await this.#call("Profiler.setSamplingInterval", { interval: intervalMicros });
    await this.#call("Profiler.start");
  }

  /** Stops sampling and returns the profile. */
  async stop(): Promise<CpuProfile> {
    const result = await this.#call("Profiler.stop");
    return result.profile as CpuProfile;
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.close();
  }
}

/** One line of a profile summary. */
interface ProfileEntry {
  /** Function (`name file:line`) or source file. */
  readonly name: string;
  /** Self time, ms. */
  readonly selfMs: number;
  /** Share of the busy (non-idle) time. */
  readonly share: number;
}

/** Where a profile's busy time went. */
interface ProfileSummary {
  /** Sampled time that was not idle, ms. */
  readonly busyMs: number;
  /** Functions by self time, largest first. */
  readonly functions: readonly ProfileEntry[];
  /** Source files (npm packages as one) by self time, largest first. */
  readonly files: readonly ProfileEntry[];
}

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const npm = /\/npm\/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  const ext = /^ext:(.*)$/.exec(url);
  if (ext) return `ext:${ext[1]}`;
  const repo =
    /\/(?:atls|coordinator|protocol|x509|seed|snp|tdx|manifest|util|evidence|policy)\/.*$/
      .exec(url);
  return repo ? repo[0].slice(1) : url.replace(/^file:\/\//, "");
}

function top(byName: Map<string, number>, busy: number, count: number): ProfileEntry[] {
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => ({
      name,
      selfMs: Number((micros / 1000).toFixed(1)),
      share: Number((micros / busy).toFixed(3)),
    }));
}

/** The functions and files with the most self time in `profile` (idle time left out). */
export function summarizeProfile(profile: CpuProfile, count = 25): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    busy += micros;
    const file = shortUrl(frame.url);
    const fn = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    byFile.set(file, (byFile.get(file) ?? 0) + micros);
  }
  return {
    busyMs: Number((busy / 1000).toFixed(1)),
    functions: top(byFunction, busy, count),
    files: top(byFile, busy, count),
  };
}

/**
 * Where a phase of this process allocates its JavaScript heap: V8's sampling heap profiler, run
 * over the phase through this process's own inspector (`node:inspector`), counting every sampled
 * allocation, also those the garbage collector has freed by the end of the phase (CDP's
 * `includeObjectsCollectedByMinorGC` / `…MajorGC`; without them only what is still alive would
 * be reported, and a request's garbage is dead by then). {@link summarizeAllocations} turns the
 * sampled tree into bytes per operation: in all, by allocating function (self) and by the
 * repository's functions including what they call (inclusive), the numbers a flame graph of
 * allocations shows.
 *
 * Sampling is statistical (one sample per `intervalBytes` allocated on average) and costs CPU:
 * profile a phase of its own, never one whose CPU time is measured.
 *
 * @example
 * ```ts
 * import { AllocationSampler, summarizeAllocations } from "./allocation_profile.ts";
 * const sampler = await AllocationSampler.start();
 * const kept: number[][] = [];
 * for (let i = 0; i < 1000; i++) kept.push(new Array(64).fill(i));
 * const summary = summarizeAllocations(await sampler.stop(), 1000);
 * console.log(summary.totalBytes > 0);
 * ```
 *
 * @module
 */
import { Session } from "node:inspector";

/** A CDP `HeapProfiler.SamplingHeapProfileNode`, as much of it as is read here. */
interface SamplingNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  /** Bytes sampled as allocated by this frame itself. */
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

/** A CDP `HeapProfiler.SamplingHeapProfile`. */
export interface SamplingHeapProfile {
  /** The root of the allocation call tree. */
  readonly head: SamplingNode;
}

/** One line of an allocation summary. */
interface AllocationEntry {
  /** `function file:line` (repository paths relative, npm packages by name). */
  readonly name: string;
  /** Bytes per operation. */
  readonly bytes: number;
}

/** Where a phase's heap allocations went, per operation. */
interface AllocationSummary {
  /** Sampled bytes per operation, in all. */
  readonly totalBytes: number;
  /** Allocating functions by their own bytes, largest first. */
  readonly self: readonly AllocationEntry[];
  /**
   * The repository's functions by the bytes they and their callees allocated, largest first
   * (recursion counted once).
   */
  readonly inclusive: readonly AllocationEntry[];
}

/** A sampling heap profile of this process, running until {@link AllocationSampler.stop}. */
export class AllocationSampler {
  readonly #session: Session;

  private constructor(session: Session) {
    this.#session = session;
  }

  /** Starts sampling, one sample per `intervalBytes` allocated on average (default 1024). */
  static async start(intervalBytes = 1024): Promise<AllocationSampler> {
    const session = new Session();
    session.connect();
    const sampler = new AllocationSampler(session);
    await sampler.#post("HeapProfiler.enable");
    await sampler.#post("HeapProfiler.startSampling", {
      samplingInterval: intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return sampler;
  }

  /** Stops sampling and returns the profile. */
  async stop(): Promise<SamplingHeapProfile> {
    try {
      const result = await this.#post("HeapProfiler.stopSampling");
      return result.profile as SamplingHeapProfile;
    } finally {
      this.#session.disconnect();
    }
  }

  #post(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#session.post(method, params, (error: Error | null, result?: unknown) => {
        if (error) reject(new Error(`${method}: ${error.message}`));
        else resolve((result ?? {}) as Record<string, unknown>);
      });
    });
  }
}

function frameName(frame: SamplingNode["callFrame"]): string {
  const npm = /\/npm\/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url);
  const file = npm ? `npm:${npm[1]}` : frame.url.replace(
    /^file:\/\/.*?\/(?=(?:atls|bench|coordinator|protocol|x509|seed|snp|tdx|manifest|util|evidence|policy|testing|collateral)\/)/,
    "",
  );
  return `${frame.functionName || "(anonymous)"} ${file}${file ? `:${frame.lineNumber + 1}` : ""}`;
}

function isRepositoryFrame(frame: SamplingNode["callFrame"]): boolean {
  return frame.url.startsWith("file://") && !frame.url.includes("/npm/registry.npmjs.org/");
}

function sortedPerOperation(
  byName: Map<string, number>,
  operations: number,
  count: number,
): AllocationEntry[] {
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, bytes]) => ({ name, bytes: bytes / operations }));
}

/**
 * The bytes per operation of `profile` (taken over `operations` operations): in all, the
 * `count` largest allocating functions, and the `count` largest repository functions with
 * their callees.
 *
 * @example
 * ```ts
 * import { summarizeAllocations } from "./allocation_profile.ts";
 * const frame = (functionName: string) => ({ functionName, url: "file:///r/util/x.ts", lineNumber: 0 });
 * const summary = summarizeAllocations({
 *   head: { callFrame: frame("(root)"), selfSize: 0, children: [
 *     { callFrame: frame("parse"), selfSize: 400, children: [
 *       { callFrame: frame("slice"), selfSize: 600, children: [] },
 *     ] },
 *   ] },
 * }, 10);
 * console.log(summary.totalBytes); // 100
 * ```
 */
export function summarizeAllocations(
  profile: SamplingHeapProfile,
  operations: number,
  count = 20,
): AllocationSummary {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode, onStack: ReadonlySet<string>): number => {
    const name = frameName(node.callFrame);
    total += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const below = new Set(onStack).add(name);
    let bytes = node.selfSize;
    for (const child of node.children) bytes += walk(child, below);
    if (isRepositoryFrame(node.callFrame) && !onStack.has(name)) {
      inclusive.set(name, (inclusive.get(name) ?? 0) + bytes);
    }
    return bytes;
  };
  walk(profile.head, new Set());
  return {
    totalBytes: total / operations,
    self: sortedPerOperation(self, operations, count),
    inclusive: sortedPerOperation(inclusive, operations, count),
  };
}

/** The summary as text: the total, then both lists in KB per operation. */
export function formatAllocations(summary: AllocationSummary, unit: string): string {
  const kb = (bytes: number) => (bytes / 1024).toFixed(2).padStart(7);
  return [
    `heap allocated per ${unit} (sampled): ${(summary.totalBytes / 1024).toFixed(1)} KB`,
    `by allocating function (self, KB per ${unit}):`,
    ...summary.self.map((e) => `${kb(e.bytes)}  ${e.name}`),
    `by repository function with its callees (inclusive, KB per ${unit}):`,
    ...summary.inclusive.map((e) => `${kb(e.bytes)}  ${e.name}`),
  ].join("\n");
}

/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (version 0.0.4). One registry object per process, passed explicitly.
 *
 * @module
 */

type Labels = Readonly<Record<string, string>>;

/** Characters a label value must escape in the exposition format. */
const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `name="value"` pairs of `labels`, sorted by name, comma-separated (no intermediate arrays). */
function labelKey(labels: Labels): string {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1]! > names[i]!) {
      names.sort();
      break;
    }
  }
  let key = "";
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    key += `${i === 0 ? "" : ","}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return key;
}

function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  return Number.isInteger(value) ? String(value) : value.toPrecision(6);
}

interface Metric {
  render(): string[];
}

/** A monotonically increasing counter. */
export class Counter implements Metric {
  readonly #name: string;
  readonly #help: string;
  readonly #values = new Map<string, number>();
  constructor(name: string, help: string) {
    this.#name = name;
    this.#help = help;
  }
  /** Adds `by` (default 1) to the series with `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  /** The current value of the series with `labels`. */
  value(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  /** Prometheus text lines of this counter. */
  render(): string[] {
    const lines = [`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} counter`];
    for (const [k, v] of this.#values) lines.push(`${this.#name}${k ? `{${k}}` : ""} ${v}`);
    return lines;
  }
}

/** A value that goes up and down. */
export class Gauge implements Metric {
  readonly #name: string;
  readonly #help: string;
  #value = 0;
  constructor(name: string, help: string) {
    this.#name = name;
    this.#help = help;
  }
  /** Sets the value. */
  set(value: number): void {
    this.#value = value;
  }
  /** The current value. */
  get value(): number {
    return this.#value;
  }
  /** Prometheus text lines of this gauge. */
  render(): string[] {
    return [
      `# HELP ${this.#name} ${this.#help}`,
      `# TYPE ${this.#name} gauge`,
      `${this.#name} ${formatValue(this.#value)}`,
    ];
  }
}

/**
 * A counter kept elsewhere (say, by the log buffer) and read when the metrics are rendered, so
 * the code that counts needs no reference to the registry.
 */
export class ReadCounter implements Metric {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => number;
  constructor(name: string, help: string, read: () => number) {
    this.#name = name;
    this.#help = help;
    this.#read = read;
  }
  /** Prometheus text lines of this counter, with the value read now. */
  render(): string[] {
    return [
      `# HELP ${this.#name} ${this.#help}`,
      `# TYPE ${this.#name} counter`,
      `${this.#name} ${formatValue(this.#read())}`,
    ];
  }
}

/** Where {@link CoordinatorMetrics} reads what other parts of the process count. */
export interface CoordinatorMetricSources {
  /**
   * Batches of log lines the log buffer dropped because stderr refused them
   * (`BufferedStderr.droppedWrites`). Absent: the metric is not exported.
   */
  readonly droppedLogBatches?: () => number;
}

/** A histogram of observations (seconds) with fixed buckets and labels. */
export class Histogram implements Metric {
  readonly #name: string;
  readonly #help: string;
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, buckets: readonly number[]) {
    this.#name = name;
    this.#help = help;
    this.#buckets = [...buckets].sort((a, b) => a - b);
  }
  /** Records one observation for the series with `labels`. */
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { counts: this.#buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const buckets = this.#buckets;
    for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  /** Number of observations of the series with `labels`. */
  count(labels: Labels = {}): number {
    return this.#series.get(labelKey(labels))?.count ?? 0;
  }
  /** Prometheus text lines of this histogram. */
  render(): string[] {
    const lines = [`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} histogram`];
    for (const [k, s] of this.#series) {
      const sep = k ? `${k},` : "";
      this.#buckets.forEach((b, i) =>
        lines.push(`${this.#name}_bucket{${sep}le="${formatValue(b)}"} ${s.counts[i]}`)
      );
      lines.push(`${this.#name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.#name}_sum${k ? `{${k}}` : ""} ${formatValue(s.sum)}`);
      lines.push(`${this.#name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines;
  }
}

/** The Coordinator's metrics. */
export class CoordinatorMetrics {
  /** Successful attestations (mesh certificates issued), by API. */
  readonly attestations = new Counter(
    "contrast_coordinator_attestations_total",
    "Successful initializer attestations (certificates issued).",
  );
  /** Failed attestations and refused requests, by reason. */
  readonly failures = new Counter(
    "contrast_coordinator_attestation_failures_total",
    "Refused attestations and requests, by reason.",
  );
  /** Generation of the active manifest (number of manifests in the history). */
  readonly manifestGeneration = new Gauge(
    "contrast_coordinator_manifest_generation",
    "Number of manifests set so far; 0 before the first.",
  );
  /**
   * Connections the server closed or refused on its own, by API and reason (a deadline passed:
   * `handshake_timeout`, `head_timeout`, `idle_timeout`, `request_timeout`, `answer_timeout`;
   * `address_limit`, `tls_handshake_failed`, `framing`; `queued_peer_closed`: the client closed it
   * while it waited in the queue, dropped before its handshake).
   */
  readonly connectionsClosed = new Counter(
    "contrast_coordinator_connections_closed_total",
    "Connections closed or refused by the server, by reason.",
  );
  /** Request latency by API, route and status. */
  readonly requestSeconds = new Histogram(
    "contrast_coordinator_request_duration_seconds",
    "Latency of API requests.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  /** Log batches stderr refused (only when a source was given). */
  readonly #droppedLogBatches?: ReadCounter;

  constructor(sources: CoordinatorMetricSources = {}) {
    if (sources.droppedLogBatches) {
      this.#droppedLogBatches = new ReadCounter(
        "contrast_coordinator_log_batches_dropped_total",
        "Batches of log lines dropped because stderr refused them.",
        sources.droppedLogBatches,
      );
    }
  }

  /** The exposition text of every metric. */
  render(): string {
    return [
      ...this.attestations.render(),
      ...this.failures.render(),
      ...this.manifestGeneration.render(),
      ...this.connectionsClosed.render(),
      ...this.requestSeconds.render(),
      ...(this.#droppedLogBatches?.render() ?? []),
    ].join("\n") + "\n";
  }
}

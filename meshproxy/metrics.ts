/**
 * The proxy's counters and their Prometheus text rendering: connections (total and open),
 * bytes in each direction and handshake failures by reason, per listener; credential reloads.
 * One {@link ProxyMetrics} object per proxy, passed to whoever counts.
 *
 * @module
 */

/** Labels of one series. */
type Labels = Readonly<Record<string, string>>;

function key(name: string, labels: Labels): string {
  const parts = Object.keys(labels).sort().map((k) =>
    `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length > 0 ? `${name}{${parts.join(",")}}` : name;
}

interface Family {
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly series: Map<string, number>;
}

/** Counters and gauges, rendered in the Prometheus text format. */
export class ProxyMetrics {
  readonly #families = new Map<string, Family>();

  constructor() {
    this.#declare("meshproxy_connections_total", "counter", "Connections accepted");
    this.#declare("meshproxy_open_connections", "gauge", "Connections open now");
    this.#declare("meshproxy_bytes_total", "counter", "Bytes forwarded");
    this.#declare(
      "meshproxy_handshake_failures_total",
      "counter",
      "TLS handshakes that failed, by reason",
    );
    this.#declare("meshproxy_upstream_failures_total", "counter", "Upstream connects that failed");
    this.#declare(
      "meshproxy_http_refusals_total",
      "counter",
      "Ingress connections closed because the client's HTTP could not be rewritten safely, by reason",
    );
    this.#declare(
      "meshproxy_limit_refusals_total",
      "counter",
      "Connections closed by a listener's limits, by reason (connection_limit, handshake_limit: " +
        "a new connection refused; handshake_evicted: an unfinished handshake closed for a new one)",
    );
    this.#declare(
      "meshproxy_handshakes_in_progress",
      "gauge",
      "Inbound connections accepted whose TLS handshake has not finished",
    );
    this.#declare(
      "meshproxy_idle_timeouts_total",
      "counter",
      "Established connections closed after the idle timeout without a byte either way",
    );
    this.#declare(
      "meshproxy_admin_refusals_total",
      "counter",
      "Admin interface requests or connections refused, by reason",
    );
    this.#declare("meshproxy_credential_reloads_total", "counter", "Credential loads by result");
    this.#declare("meshproxy_ready", "gauge", "1 when every listener serves");
    this.#declare(
      "meshproxy_certificate_not_after_seconds",
      "gauge",
      "End of the mesh certificate's validity (Unix time)",
    );
  }

  #declare(name: string, type: Family["type"], help: string): void {
    this.#families.set(name, { help, type, series: new Map() });
  }

  #family(name: string): Family {
    const f = this.#families.get(name);
    if (!f) throw new Error(`unknown metric ${name}`);
    return f;
  }

  /** Adds `by` (default 1) to a series. */
  add(name: string, labels: Labels, by = 1): void {
    const f = this.#family(name);
    const k = key(name, labels);
    f.series.set(k, (f.series.get(k) ?? 0) + by);
  }

  /**
   * An incrementer of one series, its key computed once (for counters bumped per chunk of data).
   */
  counter(name: string, labels: Labels): (by?: number) => void {
    const series = this.#family(name).series;
    const k = key(name, labels);
    return (by = 1) => series.set(k, (series.get(k) ?? 0) + by);
  }

  /** Sets a gauge. */
  set(name: string, labels: Labels, value: number): void {
    this.#family(name).series.set(key(name, labels), value);
  }

  /** The current value of a series (0 when never touched). */
  get(name: string, labels: Labels): number {
    return this.#family(name).series.get(key(name, labels)) ?? 0;
  }

  /** The Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.#families) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [k, v] of [...f.series].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push(`${k} ${v}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

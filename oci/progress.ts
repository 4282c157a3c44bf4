/**
 * Progress of image pulls: one line per image on a terminal (rewritten in place while layers
 * download, then left with the result), nothing otherwise.
 *
 * @module
 */

/** Receives pull progress events. */
export interface PullProgress {
  /** A pull of `reference` began: `layers` layers, `totalBytes` compressed bytes to download. */
  start(reference: string, layers: number, totalBytes: number): void;
  /** `receivedBytes` of the pull's total have arrived. */
  advance(reference: string, receivedBytes: number): void;
  /** The pull finished; `digest` is the image's manifest digest. */
  done(reference: string, digest: string): void;
}

/** Progress that reports nothing (non-terminal output, tests). */
export const silentProgress: PullProgress = {
  start() {},
  advance() {},
  done() {},
};

/** Human-readable byte count (`12.3 MiB`). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Progress written as terminal lines: `Pulling <ref>: 3.1 MiB / 27.0 MiB` updated in place with
 * carriage returns, then `Pulled <ref> (<digest>, 27.0 MiB)` on its own line.
 */
export class TerminalProgress implements PullProgress {
  readonly #write: (text: string) => void;
  readonly #totals = new Map<string, number>();
  readonly #lastPercent = new Map<string, number>();

  /**
   * Progress written through `write`.
   *
   * @param write where the text goes (e.g. stderr)
   */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** Shows the pull's first line. */
  start(reference: string, layers: number, totalBytes: number): void {
    this.#totals.set(reference, totalBytes);
    this.#write(
      `\r\x1b[KPulling ${reference}: ${layers} layer${layers === 1 ? "" : "s"}, ${
        formatBytes(totalBytes)
      }`,
    );
  }

  /** Rewrites the line, at most once per percent. */
  advance(reference: string, receivedBytes: number): void {
    const total = this.#totals.get(reference) ?? 0;
    const percent = total > 0 ? Math.floor((100 * receivedBytes) / total) : 100;
    if (this.#lastPercent.get(reference) === percent) return; // one update per percent
    this.#lastPercent.set(reference, percent);
    this.#write(
      `\r\x1b[KPulling ${reference}: ${formatBytes(receivedBytes)} / ${formatBytes(total)}`,
    );
  }

  /** Ends the line with the result. */
  done(reference: string, digest: string): void {
    const total = this.#totals.get(reference) ?? 0;
    this.#totals.delete(reference);
    this.#lastPercent.delete(reference);
    this.#write(`\r\x1b[KPulled ${reference} (${digest}, ${formatBytes(total)})\n`);
  }
}

/**
 * Progress as plain lines, for logs that are not terminals: `Pulled <ref> (<digest>, <size>)`
 * once per image, no in-place updates.
 */
export class LineProgress implements PullProgress {
  readonly #write: (text: string) => void;
  readonly #totals = new Map<string, number>();

  /**
   * Progress written through `write`.
   *
   * @param write where the text goes (e.g. stderr)
   */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** Remembers the pull's size for the final line. */
  start(reference: string, _layers: number, totalBytes: number): void {
    this.#totals.set(reference, totalBytes);
  }

  /** Prints nothing: plain logs get one line per image. */
  advance(): void {}

  /** Prints the image's line. */
  done(reference: string, digest: string): void {
    const total = this.#totals.get(reference) ?? 0;
    this.#totals.delete(reference);
    this.#write(`Pulled ${reference} (${digest}, ${formatBytes(total)})\n`);
  }
}

/** Writes text to stderr. */
function writeStderr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

/** Progress on stderr: in-place lines on a terminal, plain lines otherwise. */
export function stderrProgress(): PullProgress {
  return Deno.stderr.isTerminal()
    ? new TerminalProgress(writeStderr)
    : new LineProgress(writeStderr);
}

/** Terminal progress on stderr when stderr is a terminal, silence otherwise. */
export function defaultProgress(): PullProgress {
  return Deno.stderr.isTerminal() ? new TerminalProgress(writeStderr) : silentProgress;
}

/**
 * A log sink that gathers lines in a bounded buffer and writes them to stderr in one write:
 * {@link DEFAULT_DELAY_MS} after the first line of a batch (one timer per batch), when the buffer
 * is full, at once for an error-level line, and when the process ends (`unload`: a return from the
 * main module or `Deno.exit`; `error` and `unhandledrejection`: an uncaught exception or
 * rejection, before the runtime prints it). The Coordinator writes three lines per mesh
 * attestation (two access lines and "issued mesh certificate"); written one by one, each cost a
 * `write` system call. A timer per macrotask (0 ms) gathered too few lines under load to pay for
 * itself: each request's lines are written in a task of their own, so it added a timer to
 * nearly every write (load test, 16 in flight: 1.003-1.034x the CPU per attestation of the tree
 * before, against 0.94x with info lines off).
 *
 * What a crash can lose: the lines of the last {@link DEFAULT_DELAY_MS} when the process is killed
 * (`SIGKILL`, the OOM killer) or aborts natively (a V8 fatal error) before the timer fires; an
 * error line, an uncaught exception and every clean exit flush first.
 *
 * @module
 */
import type { LogLevel, LogSink } from "./logger.ts";

const UTF8 = new TextEncoder();

/** Bytes gathered before a write (a line longer than this is written on its own). */
const DEFAULT_CAPACITY = 64 * 1024;

/** Longest time a line waits in the buffer, milliseconds. */
const DEFAULT_DELAY_MS = 20;

/** Where the bytes go: all of them, in order (stderr by default). */
type ByteWriter = (bytes: Uint8Array) => void;

/** Writes all of `bytes` to stderr (a pipe may take a write in parts). */
function writeStderr(bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}

/** Options of {@link BufferedStderr}. */
interface BufferedStderrOptions {
  /** Bytes gathered at most before a write (default 64 KiB). */
  readonly capacity?: number;
  /** Longest time a line waits, milliseconds (default {@link DEFAULT_DELAY_MS}). */
  readonly delayMs?: number;
  /** Where gathered bytes are written (default: stderr, synchronously and whole). */
  readonly write?: ByteWriter;
  /**
   * Whether the buffer is flushed when the process ends or an error goes uncaught (default
   * true; listeners on `globalThis`).
   */
  readonly flushOnExit?: boolean;
}

/**
 * Log lines buffered for stderr; pass {@link BufferedStderr.sink} to a `Logger`.
 *
 * @example Lines written together after a moment, or at once with {@link BufferedStderr.flush}
 * ```ts
 * import { BufferedStderr } from "./buffered_stderr.ts";
 *
 * const written: string[] = [];
 * const stderr = new BufferedStderr({
 *   write: (bytes) => written.push(new TextDecoder().decode(bytes)),
 *   flushOnExit: false,
 * });
 * stderr.sink("first", "info");
 * stderr.sink("second", "info");
 * stderr.flush();
 * console.log(written); // [ "first\nsecond\n" ]
 * ```
 */
export class BufferedStderr {
  readonly #buffer: Uint8Array;
  #length = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #write: ByteWriter;
  readonly #delayMs: number;
  #droppedWrites = 0;

  constructor(options: BufferedStderrOptions = {}) {
    this.#buffer = new Uint8Array(options.capacity ?? DEFAULT_CAPACITY);
    this.#delayMs = options.delayMs ?? DEFAULT_DELAY_MS;
    this.#write = options.write ?? writeStderr;
    if (options.flushOnExit ?? true) {
      const flush = () => this.flush();
      globalThis.addEventListener("unload", flush);
      globalThis.addEventListener("error", flush);
      globalThis.addEventListener("unhandledrejection", flush);
    }
  }

  /** Takes one line (a newline is added); writes at once for `error`. */
  readonly sink: LogSink = (line: string, level: LogLevel) => {
    // UTF-16 code units encode to at most 3 bytes each, plus the newline.
    const most = line.length * 3 + 1;
    if (most > this.#buffer.length - this.#length) {
      this.flush();
      if (most > this.#buffer.length) {
        this.#write(UTF8.encode(`${line}\n`));
        return;
      }
    }
    this.#length += UTF8.encodeInto(line, this.#buffer.subarray(this.#length)).written;
    this.#buffer[this.#length++] = 0x0a;
    if (level === "error") this.flush();
    else if (this.#timer === undefined) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        try {
          this.flush();
        } catch {
          // stderr refused the batch (e.g. the host closed the pipe): those lines are lost, and
          // the process goes on; nobody called here who could be told (a write from `sink` or
          // `flush` still throws to its caller).
          this.#droppedWrites++;
        }
      }, this.#delayMs);
      // The timer never holds the process open: its end flushes (`unload`).
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  };

  /** Batches the timer could not write (stderr refused them) and dropped. */
  get droppedWrites(): number {
    return this.#droppedWrites;
  }

  /** Writes what is gathered, now. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#length === 0) return;
    const bytes = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    this.#write(bytes);
  }
}

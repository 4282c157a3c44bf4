/**
 * Structured logs of the Coordinator and the Initializer, as JSON lines or human text. Fields
 * whose names suggest secret material are replaced by `[redacted]` before anything is written,
 * as a second line of defence: callers never pass secrets in the first place.
 *
 * In text format every value, the message and the names are written on one line as they read
 * (`line_text.ts`): a hostile value carrying CR/LF or terminal controls cannot forge a log line.
 *
 * @module
 */
import { escapeLineText } from "./line_text.ts";

/** Output format of a {@link Logger}. */
export type LogFormat = "json" | "text";
/** Severity of a log record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /secret|seed|private|password|token|share|plaintext|keyPem/i;

/** Values a log record may carry. */
export type LogFields = Record<string, string | number | boolean | undefined | null>;

/** Where formatted lines go (default: stderr). */
export type LogSink = (line: string) => void;

/** A structured logger with a fixed component name. */
export class Logger {
  readonly #component: string;
  readonly #format: LogFormat;
  readonly #minimum: number;
  readonly #sink: LogSink;
  readonly #now: () => Date;

  constructor(
    component: string,
    options: { format?: LogFormat; level?: LogLevel; sink?: LogSink; now?: () => Date } = {},
  ) {
    this.#component = component;
    this.#format = options.format ?? "text";
    this.#minimum = LEVEL_ORDER[options.level ?? "info"];
    this.#sink = options.sink ?? ((line) => console.error(line));
    this.#now = options.now ?? (() => new Date());
  }

  /** A logger for a sub-component sharing this one's settings. */
  child(component: string): Logger {
    return new Logger(`${this.#component}.${component}`, {
      format: this.#format,
      level: (Object.keys(LEVEL_ORDER) as LogLevel[]).find((l) => LEVEL_ORDER[l] === this.#minimum),
      sink: this.#sink,
      now: this.#now,
    });
  }

  /** Logs at debug level. */
  debug(message: string, fields: LogFields = {}): void {
    this.#log("debug", message, fields);
  }
  /** Logs at info level. */
  info(message: string, fields: LogFields = {}): void {
    this.#log("info", message, fields);
  }
  /** Logs at warn level. */
  warn(message: string, fields: LogFields = {}): void {
    this.#log("warn", message, fields);
  }
  /** Logs at error level. */
  error(message: string, fields: LogFields = {}): void {
    this.#log("error", message, fields);
  }

  #log(level: LogLevel, rawMessage: string, fields: LogFields): void {
    if (LEVEL_ORDER[level] < this.#minimum) return;
    const message = boundedValue(rawMessage) as string;
    const clean: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined || v === null) continue;
      clean[k] = SECRET_FIELD.test(k) ? "[redacted]" : boundedValue(v);
    }
    const time = this.#now().toISOString();
    if (this.#format === "json") {
      this.#sink(
        JSON.stringify({ time, level, component: this.#component, msg: message, ...clean }),
      );
    } else {
      const rest = Object.entries(clean).map(([k, v]) => `${escapeLineText(k)}=${textValue(v)}`);
      this.#sink(
        [
          time,
          level.toUpperCase().padEnd(5),
          `${escapeLineText(this.#component)}:`,
          escapeLineText(message),
          ...rest,
        ].join(" "),
      );
    }
  }
}

/** What makes a text-format value need quotes (besides what {@link escapeLineText} escapes). */
const NEEDS_QUOTES = /[\s"=]|^$/;

/**
 * A field value as `key=value` text carries it: plain when it is a single harmless word, else
 * double-quoted with `"` escaped and every unsafe character escaped.
 */
function textValue(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  const escaped = escapeLineText(value);
  if (escaped === value && !NEEDS_QUOTES.test(value)) return value;
  return `"${escaped.replaceAll('"', '\\"')}"`;
}

/**
 * Longest string value (and message) a log line carries; longer ones are cut, saying how long
 * they were, so a request with a huge error list cannot produce a huge log line.
 */
export const MAX_LOG_VALUE_CHARS = 2048;

function boundedValue(v: string | number | boolean): string | number | boolean {
  if (typeof v !== "string" || v.length <= MAX_LOG_VALUE_CHARS) return v;
  return `${v.slice(0, MAX_LOG_VALUE_CHARS)}… (${v.length} characters, cut)`;
}

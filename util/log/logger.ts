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

/**
 * Where formatted lines go (default: stderr), with the record's level (a buffering sink writes
 * error lines at once).
 */
export type LogSink = (line: string, level: LogLevel) => void;

/** A structured logger with a fixed component name. */
export class Logger {
  readonly #component: string;
  readonly #format: LogFormat;
  readonly #minimum: number;
  readonly #sink: LogSink;
  readonly #now?: () => Date;
  /** The clock's milliseconds since the epoch (`Date.now` unless `now` was given). */
  readonly #clock: () => number;
  /** The ISO time up to the milliseconds (`2026-12-07T11:37:24.`) of {@link #second}. */
  #secondText = "";
  #second = NaN;
  /** The component as a JSON string. */
  readonly #jsonComponent: string;
  /** The component as a text line shows it. */
  readonly #textComponent: string;

  constructor(
    component: string,
    options: { format?: LogFormat; level?: LogLevel; sink?: LogSink; now?: () => Date } = {},
  ) {
    this.#component = component;
    this.#format = options.format ?? "text";
    this.#minimum = LEVEL_ORDER[options.level ?? "info"];
    this.#sink = options.sink ?? ((line) => console.error(line));
    this.#now = options.now;
    const now = options.now;
    this.#clock = now ? () => now().getTime() : Date.now;
    this.#jsonComponent = JSON.stringify(component);
    this.#textComponent = escapeLineText(component);
  }

  /** A logger for a sub-component sharing this one's settings. */
  child(component: string): Logger {
    return new Logger(`${this.#component}.${component}`, {
      format: this.#format,
      level: (Object.keys(LEVEL_ORDER) as LogLevel[]).find((l) => LEVEL_ORDER[l] === this.#minimum),
      sink: this.#sink,
      ...(this.#now ? { now: this.#now } : {}),
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
    const time = this.#time();
    // Formatted by concatenation, field by field (no intermediate objects or arrays): the
    // Coordinator writes three lines per attestation.
    let line: string;
    if (this.#format === "json") {
      line = `{"time":${JSON.stringify(time)},"level":"${level}","component":` +
        `${this.#jsonComponent},"msg":${JSON.stringify(message)}`;
      for (const key of Object.keys(fields)) {
        const v = fields[key];
        if (v === undefined || v === null) continue;
        // A field named like a record's own key replaces it (as the spread it replaces did).
        if (RESERVED_JSON_KEYS.has(key)) {
          return this.#sink(this.#jsonRecord(level, time, message, fields), level);
        }
        line += `,${JSON.stringify(key)}:${JSON.stringify(cleanValue(key, v))}`;
      }
      line += "}";
    } else {
      line = `${time} ${TEXT_LEVEL[level]} ${this.#textComponent}: ${escapeLineText(message)}`;
      for (const key of Object.keys(fields)) {
        const v = fields[key];
        if (v === undefined || v === null) continue;
        line += ` ${escapeLineText(key)}=${textValue(cleanValue(key, v))}`;
      }
    }
    this.#sink(line, level);
  }

  /**
   * The time as `Date.prototype.toISOString` writes it, its seconds formatted once per second
   * (`toISOString` cost ~1 us per line, a third of the line).
   */
  #time(): string {
    const ms = this.#clock();
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      const iso = new Date(second * 1000).toISOString();
      this.#second = second;
      this.#secondText = iso.slice(0, iso.length - 4); // without "000Z"
    }
    const milliseconds = ms - second * 1000;
    return `${this.#secondText}${
      milliseconds < 10 ? "00" : milliseconds < 100 ? "0" : ""
    }${milliseconds}Z`;
  }

  /** The JSON line of a record one of whose fields is named like a record's own key. */
  #jsonRecord(level: LogLevel, time: string, message: string, fields: LogFields): string {
    const clean: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined || v === null) continue;
      clean[k] = cleanValue(k, v);
    }
    return JSON.stringify({ time, level, component: this.#component, msg: message, ...clean });
  }
}

/** The keys every JSON record starts with. */
const RESERVED_JSON_KEYS = new Set(["time", "level", "component", "msg"]);

/** The level as a text line shows it, padded to one width. */
const TEXT_LEVEL: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
};

/** `value` as a record carries it: `[redacted]` under a secret-looking key, else bounded. */
function cleanValue(key: string, value: string | number | boolean): string | number | boolean {
  return SECRET_FIELD.test(key) ? "[redacted]" : boundedValue(value);
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

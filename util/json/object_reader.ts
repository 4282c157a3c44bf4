import { childPath, type IssueList } from "./issues.ts";

/** Describes a JSON value in problems: `string`, `array`, `null`, … */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Options of a numeric field. */
interface IntegerOptions {
  /** Smallest allowed value (inclusive). */
  readonly min?: number;
  /** Largest allowed value (inclusive). */
  readonly max?: number;
}

/**
 * Strict reader of one JSON object: each accessor reads one key and records a problem (with its
 * JSON path) when the key is missing or of the wrong type; `finish()` records every key that was
 * never read as unknown. Accessors return `undefined` on a problem so reading can go on and all
 * problems are reported together.
 */
export class ObjectReader {
  /** The JSON path of the object. */
  readonly path: string;
  /** Where problems are recorded. */
  readonly issues: IssueList;
  readonly #object: Record<string, unknown>;
  readonly #seen = new Set<string>();
  /** Whether the value was an object at all. */
  readonly ok: boolean;

  /** Reads `value` at `path`, recording problems in `issues` (a non-object is one). */
  constructor(value: unknown, path: string, issues: IssueList) {
    this.path = path;
    this.issues = issues;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      this.#object = value as Record<string, unknown>;
      this.ok = true;
    } else {
      this.#object = {};
      this.ok = false;
      issues.add(path || "(root)", `expected an object, got ${jsonTypeOf(value)}`);
    }
  }

  /** The raw value at `key`, marking it read; records a problem when required and missing. */
  raw(key: string, required = true): unknown {
    this.#seen.add(key);
    // Own keys only: `in` would find Object.prototype's (`constructor`, `toString`, …) in every
    // parsed object, a function where a JSON value belongs.
    if (!Object.hasOwn(this.#object, key)) {
      if (required && this.ok) {
        this.issues.add(childPath(this.path, key), "required field is missing");
      }
      return undefined;
    }
    return this.#object[key];
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return Object.hasOwn(this.#object, key);
  }

  /** The keys of the object. */
  keys(): string[] {
    return Object.keys(this.#object);
  }

  /** A string field. */
  string(key: string, required = true): string | undefined {
    const v = this.raw(key, required);
    if (v === undefined) return undefined;
    if (typeof v !== "string") {
      this.issues.add(childPath(this.path, key), `expected a string, got ${jsonTypeOf(v)}`);
      return undefined;
    }
    return v;
  }

  /** A boolean field. */
  boolean(key: string, required = true): boolean | undefined {
    const v = this.raw(key, required);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") {
      this.issues.add(childPath(this.path, key), `expected a boolean, got ${jsonTypeOf(v)}`);
      return undefined;
    }
    return v;
  }

  /** An integer field within `[min, max]`. */
  integer(key: string, options: IntegerOptions = {}, required = true): number | undefined {
    const v = this.raw(key, required);
    if (v === undefined) return undefined;
    const min = options.min ?? Number.MIN_SAFE_INTEGER;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.issues.add(
        childPath(this.path, key),
        `expected an integer ${min}–${max}, got ${typeof v === "number" ? v : jsonTypeOf(v)}`,
      );
      return undefined;
    }
    return v;
  }

  /** A hex string field of exactly `bytes` bytes (when given); returns lower-case hex. */
  hex(key: string, bytes?: number, required = true): string | undefined {
    const v = this.string(key, required);
    if (v === undefined) return undefined;
    if (v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v)) {
      this.issues.add(childPath(this.path, key), "expected a hex string");
      return undefined;
    }
    if (bytes !== undefined && v.length !== 2 * bytes) {
      this.issues.add(
        childPath(this.path, key),
        `expected ${bytes} bytes (${2 * bytes} hex digits), got ${v.length / 2} bytes`,
      );
      return undefined;
    }
    return v.toLowerCase();
  }

  /** An array field whose items are read by `item`; `null` counts as an empty array. */
  array<T>(
    key: string,
    item: (value: unknown, path: string) => T | undefined,
    required = true,
  ): T[] | undefined {
    const v = this.raw(key, required);
    if (v === undefined) return undefined;
    if (v === null) return [];
    if (!Array.isArray(v)) {
      this.issues.add(childPath(this.path, key), `expected an array, got ${jsonTypeOf(v)}`);
      return undefined;
    }
    const out: T[] = [];
    v.forEach((x, i) => {
      const r = item(x, childPath(childPath(this.path, key), i));
      if (r !== undefined) out.push(r);
    });
    return out;
  }

  /** A nested object field read by `read`. */
  object<T>(key: string, read: (reader: ObjectReader) => T, required = true): T | undefined {
    const v = this.raw(key, required);
    if (v === undefined) return undefined;
    const reader = new ObjectReader(v, childPath(this.path, key), this.issues);
    if (!reader.ok) return undefined;
    const result = read(reader);
    reader.finish();
    return result;
  }

  /** Records every key that no accessor read as an unknown field. */
  finish(): void {
    for (const key of Object.keys(this.#object)) {
      if (!this.#seen.has(key)) this.issues.add(childPath(this.path, key), "unknown field");
    }
  }
}

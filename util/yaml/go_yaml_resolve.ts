/**
 * How go-yaml v2 (gopkg.in/yaml.v2 v2.4.0, `resolve.go`; what kubectl and the API server read
 * YAML with, through sigs.k8s.io/yaml) resolves an untagged plain scalar, re-implemented from its
 * rules (not its code):
 *
 * - the words of its table: `y`, `Y`, `yes`, `Yes`, `YES`, `true`, `True`, `TRUE`, `on`, `On`,
 *   `ON` and the matching false words are booleans; ``, `~`, `null`, `Null`, `NULL` null;
 *   `.nan`, `.NaN`, `.NAN`, `[+-].inf`, `.Inf`, `.INF` floats; `<<` the merge key;
 * - a scalar starting with `.`: a float when Go's `strconv.ParseFloat` reads it (digits after the
 *   dot, an optional exponent, `_` only between digits, not overflowing);
 * - a scalar starting with a digit, `+` or `-`: a timestamp when it starts `YYYY-` and Go's
 *   `time.Parse` reads it in one of four layouts; else, with every `_` removed, an integer when
 *   `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` reads it (prefixes `0x`/`0X`, `0o`/`0O`,
 *   `0b`/`0B`, a leading `0` for octal, an optional sign for `ParseInt` only), else a float when it
 *   matches `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` and does not overflow, else
 *   an integer for a `0b`/`-0b` binary `ParseInt` reads;
 * - everything else is a string.
 *
 * `tests/deploy/go_yaml_resolve_test.ts` checks this against the verdicts go-yaml v2.4.0 itself
 * gave for a corpus of tricky scalars (`tests/deploy/go_yaml_verdicts.json`, produced by
 * `tools/yamlverdicts`).
 *
 * @module
 */

/** What go-yaml v2 reads a plain scalar as. */
export type GoYamlKind = "null" | "bool" | "int" | "float" | "timestamp" | "merge" | "str";

/** A verdict: the kind and, for numbers, the value. */
interface Resolved {
  readonly kind: GoYamlKind;
  readonly value?: number;
}

/** Each of `words` resolved as `resolved`. */
function wordEntries(words: readonly string[], resolved: Resolved): [string, Resolved][] {
  return words.map((w) => [w, resolved]);
}

const WORDS: ReadonlyMap<string, Resolved> = new Map([
  ...wordEntries(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], {
    kind: "bool",
  }),
  ...wordEntries(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], {
    kind: "bool",
  }),
  ...wordEntries(["", "~", "null", "Null", "NULL"], { kind: "null" }),
  ...wordEntries([".nan", ".NaN", ".NAN"], { kind: "float", value: NaN }),
  ...wordEntries([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], {
    kind: "float",
    value: Infinity,
  }),
  ...wordEntries(["-.inf", "-.Inf", "-.INF"], { kind: "float", value: -Infinity }),
  ...wordEntries(["<<"], { kind: "merge" }),
]);

/** First characters after which go-yaml tries anything but a string. */
const WORD_START = /^[yYnNtTfFoO~]/;
const NUMBER_START = /^[-+0-9]/;

const DOT_FLOAT = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/;
const YAML_STYLE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const TIMESTAMP_LAYOUTS = [
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[-+]\d{2}:\d{2})$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2})()()()$/,
];

const DIGITS: Readonly<Record<number, RegExp>> = {
  2: /^[01]+$/,
  8: /^[0-7]*$/,
  10: /^[0-9]+$/,
  16: /^[0-9a-fA-F]+$/,
};
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Go's `strconv.ParseUint(s, 0, 64)` (no `_` in `s`): the value, or undefined on any error. */
function parseUint(s: string): bigint | undefined {
  if (s === "") return undefined;
  let base = 10;
  let digits = s;
  if (s[0] === "0") {
    const prefix = s.length >= 3 ? s[1]!.toLowerCase() : "";
    base = prefix === "b" ? 2 : prefix === "o" ? 8 : prefix === "x" ? 16 : 8;
    digits = s.slice(base === 8 && prefix !== "o" ? 1 : 2);
  }
  if (!DIGITS[base]!.test(digits)) return undefined;
  if (digits === "") return 0n; // "0"
  const value = BigInt(base === 10 ? digits : `0${"box"[[2, 8, 16].indexOf(base)]}${digits}`);
  return value <= UINT64_MAX ? value : undefined;
}

/** Go's `strconv.ParseInt(s, 0, 64)` (no `_` in `s`). */
function parseInt64(s: string): bigint | undefined {
  const negative = s[0] === "-";
  const unsigned = parseUint(s[0] === "-" || s[0] === "+" ? s.slice(1) : s);
  if (unsigned === undefined) return undefined;
  if (negative) return unsigned <= INT64_MAX + 1n ? -unsigned : undefined;
  return unsigned <= INT64_MAX ? unsigned : undefined;
}

/**
 * Go's rule for `_` in a number literal (`strconv.ParseFloat`): each one between two digits (a
 * base prefix counts as a digit), after an optional sign.
 */
function goUnderscoresOk(s: string): boolean {
  let rest = s[0] === "-" || s[0] === "+" ? s.slice(1) : s;
  let saw = "^"; // ^ start, 0 digit or prefix, _ underscore, ! anything else
  let hex = false;
  if (/^0[bBoOxX]/.test(rest)) {
    hex = rest[1]!.toLowerCase() === "x";
    rest = rest.slice(2);
    saw = "0";
  }
  for (const c of rest) {
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) saw = "0";
    else if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
    } else {
      if (saw === "_") return false;
      saw = "!";
    }
  }
  return saw !== "_";
}

/** Go's `strconv.ParseInt(s, 2, 64)`. */
function parseBinaryInt64(s: string): bigint | undefined {
  const m = /^([-+]?)([01]+)$/.exec(s);
  if (m === null) return undefined;
  const unsigned = BigInt(`0b${m[2]}`);
  if (m[1] === "-") return unsigned <= INT64_MAX + 1n ? -unsigned : undefined;
  return unsigned <= INT64_MAX ? unsigned : undefined;
}

/** Go's `strconv.ParseFloat(s, 64)` on a decimal form: undefined when it overflows. */
function parseFloat64(s: string): number | undefined {
  const value = Number(s);
  return Number.isFinite(value) ? value : undefined;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isTimestamp(s: string): boolean {
  if (!/^\d{4}-/.test(s)) return false;
  for (const layout of TIMESTAMP_LAYOUTS) {
    const m = layout.exec(s);
    if (m === null) continue;
    const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x || 0));
    const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
    const days = month === 2 && !leap ? 28 : DAYS_IN_MONTH[month! - 1];
    if (
      days !== undefined && day! >= 1 && day! <= days && hour! < 24 && minute! < 60 && second! < 60
    ) return true;
  }
  return false;
}

/** The kind and, for numbers, the value go-yaml v2 reads the plain scalar `text` as. */
export function goYamlV2Resolve(text: string): Resolved {
  const word = WORDS.get(text);
  if (word !== undefined) return word;
  if (text.startsWith(".")) {
    const value = DOT_FLOAT.test(text.replaceAll("_", "")) && goUnderscoresOk(text)
      ? parseFloat64(text.replaceAll("_", ""))
      : undefined;
    return value === undefined ? { kind: "str" } : { kind: "float", value };
  }
  if (WORD_START.test(text) || !NUMBER_START.test(text)) return { kind: "str" };
  if (isTimestamp(text)) return { kind: "timestamp" };
  const plain = text.replaceAll("_", "");
  const integer = parseInt64(plain) ?? parseUint(plain);
  if (integer !== undefined) return { kind: "int", value: Number(integer) };
  if (YAML_STYLE_FLOAT.test(plain)) {
    const value = parseFloat64(plain);
    if (value !== undefined) return { kind: "float", value };
  }
  // Its last try: binary after `0b` (then the digits may carry a sign) or `-0b`.
  const binary = plain.startsWith("0b")
    ? parseBinaryInt64(plain.slice(2))
    : plain.startsWith("-0b")
    ? parseBinaryInt64(`-${plain.slice(3)}`)
    : undefined;
  if (binary !== undefined) return { kind: "int", value: Number(binary) };
  return { kind: "str" };
}

/**
 * Intel PCS signs the exact bytes of the `tcbInfo` / `enclaveIdentity` value inside its JSON
 * response (`{"tcbInfo":{…},"signature":"<hex r‖s>"}`). Re-serialising parsed JSON could change
 * those bytes, so this module finds the raw byte span of a top-level value in the response text.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import { decodeHex } from "../../util/bytes/mod.ts";

/** A signed PCS JSON document: the raw signed bytes, their parsed value and the signature. */
interface SignedPcsJson {
  /** The exact bytes the signature covers. */
  readonly signedBytes: Uint8Array;
  /** The parsed value of those bytes. */
  readonly value: unknown;
  /** The ECDSA P-256 signature (r ‖ s, 64 bytes). */
  readonly signature: Uint8Array;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

class Scanner {
  at = 0;
  constructor(readonly text: Uint8Array, readonly field: string) {}

  fail(reason: string): never {
    throw new ParseError(this.field, `${reason} at byte ${this.at}`);
  }

  ws(): void {
    while (this.at < this.text.length && WS.has(this.text[this.at]!)) this.at++;
  }

  expect(ch: number): void {
    this.ws();
    if (this.text[this.at] !== ch) this.fail(`expected '${String.fromCharCode(ch)}'`);
    this.at++;
  }

  string(): void {
    if (this.text[this.at] !== 0x22) this.fail("expected a string");
    this.at++;
    while (this.at < this.text.length) {
      const c = this.text[this.at++]!;
      if (c === 0x5c) this.at++;
      else if (c === 0x22) return;
    }
    this.fail("unterminated string");
  }

  /** Skips one JSON value (structure only; JSON.parse validates the content afterwards). */
  value(): [number, number] {
    this.ws();
    const start = this.at;
    const c = this.text[this.at];
    if (c === 0x22) {
      this.string();
    } else if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      while (this.at < this.text.length) {
        const d = this.text[this.at]!;
        if (d === 0x22) {
          this.string();
          continue;
        }
        this.at++;
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) {
          depth--;
          if (depth === 0) return [start, this.at];
        }
      }
      this.fail("unterminated object or array");
    } else {
      while (
        this.at < this.text.length && !WS.has(this.text[this.at]!) &&
        this.text[this.at] !== 0x2c && this.text[this.at] !== 0x7d
      ) this.at++;
      if (this.at === start) this.fail("expected a value");
    }
    return [start, this.at];
  }
}

/** The raw byte spans of every top-level member of a JSON object text. */
export function topLevelSpans(text: Uint8Array, field: string): Map<string, Uint8Array> {
  const s = new Scanner(text, field);
  const spans = new Map<string, Uint8Array>();
  s.expect(0x7b);
  s.ws();
  if (text[s.at] === 0x7d) return spans;
  for (;;) {
    s.ws();
    const keyStart = s.at;
    s.string();
    const key = JSON.parse(new TextDecoder().decode(text.subarray(keyStart, s.at))) as string;
    if (spans.has(key)) s.fail(`duplicate key ${JSON.stringify(key)}`);
    s.expect(0x3a);
    const [a, b] = s.value();
    spans.set(key, text.subarray(a, b));
    s.ws();
    if (text[s.at] === 0x2c) {
      s.at++;
      continue;
    }
    s.expect(0x7d);
    s.ws();
    if (s.at !== text.length) s.fail("unexpected content after the JSON object");
    return spans;
  }
}

/**
 * Splits a PCS response body into the exact signed bytes of `key`'s value, its parsed value and
 * the signature.
 *
 * @throws {ParseError} naming `field` when the body is not JSON of that form
 */
export function parseSignedPcsJson(body: Uint8Array, key: string, field: string): SignedPcsJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    throw new ParseError(field, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ParseError(field, "expected a JSON object");
  }
  const spans = topLevelSpans(body, field);
  for (const k of spans.keys()) {
    if (k !== key && k !== "signature") throw new ParseError(`${field}.${k}`, "unknown field");
  }
  const raw = spans.get(key);
  if (!raw) throw new ParseError(`${field}.${key}`, "required field is missing");
  const sig = (parsed as Record<string, unknown>).signature;
  if (typeof sig !== "string") {
    throw new ParseError(`${field}.signature`, "required hex string is missing");
  }
  return {
    signedBytes: raw.slice(),
    value: (parsed as Record<string, unknown>)[key],
    signature: decodeHex(sig, `${field}.signature`, 64),
  };
}

/**
 * Encoding the initdata of many pods that share the same rules (`contrast generate`): everything
 * that depends only on the rules (the TOML head with the escaped rules, its UTF-8 bytes, its
 * SHA-256 state, its compressed form, its size as the Kata agent counts it) is computed once;
 * per pod only the policy data line is serialised, escaped and measured (one pass over its bytes,
 * `toml_multiline_bytes.ts`), hashed and compressed. The results are the
 * same as the per-document functions of `initdata.ts` give: the same TOML bytes and digest, a
 * gzip member that decompresses to the same bytes (see {@link prefixedGzip}), the same size.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { encodeBase64 } from "../util/bytes/mod.ts";
import { combinePolicyTextSizes, measurePolicyText, type PolicyTextSize } from "./agent_limits.ts";
import { prefixedGzip } from "./gzip.ts";
import {
  escapeAndMeasureTomlMultiline,
  type EscapedPiece,
  escapeTomlPiece,
  joinEscapedPieces,
} from "./toml_multiline_bytes.ts";
import {
  escapeTomlMultiline,
  INITDATA_VERSION,
  POLICY_DATA_PREFIX,
  POLICY_KEY,
  tomlBasicString,
} from "./initdata.ts";

/** One pod's encoded initdata. */
interface EncodedPolicyInitdata {
  /**
   * The exact TOML bytes: `encodeInitdataToml({"policy.rego": renderPolicyText(rules, data)})`.
   */
  readonly toml: Uint8Array;
  /** SHA-256 of {@link toml} (the document names `algorithm = "sha256"`). */
  readonly digest: Uint8Array;
  /** The `cc_init_data` annotation value: base64(gzip(toml)). */
  readonly annotation: string;
  /** Size of the policy text (`renderPolicyText(rules, data)`) as the Kata agent counts it. */
  readonly policyTextSize: PolicyTextSize;
}

/** Encodes the initdata of pods that share `rules`; see the module documentation. */
export class PolicyInitdataEncoder {
  readonly #head: Uint8Array;
  readonly #headHash: Hash;
  readonly #gzip: (suffix: Uint8Array) => Uint8Array;
  readonly #rulesSize: PolicyTextSize;
  readonly #encoder = new TextEncoder();
  readonly #closing = this.#encoder.encode(`"""\n`);
  readonly #pieces = new PolicyLinePieces();

  constructor(rules: string) {
    const body = rules.endsWith("\n") ? rules : rules + "\n";
    // The policy text is `${body}\n` (ending a line) and then the policy data line(s)
    // `${POLICY_DATA_PREFIX}${json}\n`, the only per-pod part.
    this.#rulesSize = measurePolicyText(`${body}\n`);
    this.#head = this.#encoder.encode(
      `version = "${INITDATA_VERSION}"\nalgorithm = "sha256"\n\n[data]\n` +
        `${tomlBasicString(POLICY_KEY)} = """\n${escapeTomlMultiline(`${body}\n`)}`,
    );
    this.#headHash = createHash("sha256").update(this.#head);
    this.#gzip = prefixedGzip(this.#head);
  }

  /** The initdata of a pod with `policyData`. */
  encode(policyData: unknown): EncodedPolicyInitdata {
    const pieces = this.#pieces.line(policyData);
    const { bytes: tail, size } = pieces
      ? joinEscapedPieces(pieces, this.#closing)
      : escapeAndMeasureTomlMultiline(
        this.#encoder.encode(`${POLICY_DATA_PREFIX}${JSON.stringify(policyData, null, 2)}\n`),
        this.#closing,
      );
    const toml = new Uint8Array(this.#head.length + tail.length);
    toml.set(this.#head, 0);
    toml.set(tail, this.#head.length);
    const gz = this.#gzip(tail);
    const native = (gz as { toBase64?: () => string }).toBase64;
    return {
      toml,
      digest: new Uint8Array(this.#headHash.copy().update(tail).digest()),
      annotation: native ? native.call(gz) : encodeBase64(gz),
      policyTextSize: combinePolicyTextSizes(this.#rulesSize, size),
    };
  }
}

/** Most pieces {@link PolicyLinePieces} keeps (each up to tens of KB). */
const MAX_CACHED_PIECES = 64;

/**
 * The policy data line `policy_data := <JSON.stringify(data, null, 2)>\n` as escaped pieces: the
 * glue text, and the value of each top-level key (each item, for an array value) printed at its
 * depth. A value printed before (by its compact JSON) is reused with its escape and measure: the
 * pause, initializer and sidecar containers, the settings' storages and requests repeat in every
 * pod. The text is the one `JSON.stringify` prints: a nested value prints as on its own with each
 * line break followed by its depth's indent (tests compare the bytes).
 */
class PolicyLinePieces {
  readonly #cache = new Map<string, EscapedPiece>();
  readonly #encoder = new TextEncoder();

  /**
   * The pieces of the line; undefined for data that is not a plain object, or where a value
   * split off has a `toJSON` method (it would be called with another key).
   */
  line(data: unknown): EscapedPiece[] | undefined {
    if (!isPlainObject(data)) return undefined;
    const entries: [string, unknown][] = [];
    for (const key of Object.keys(data)) {
      const value = data[key];
      if (hasToJson(value) || (Array.isArray(value) && value.some(hasToJson))) return undefined;
      // JSON.stringify leaves out keys whose values it cannot print (undefined, functions).
      if (JSON.stringify(value) !== undefined) entries.push([key, value]);
    }
    if (entries.length === 0) return [this.#glue(`${POLICY_DATA_PREFIX}{}\n`)];
    const pieces = [this.#glue(`${POLICY_DATA_PREFIX}{\n`)];
    entries.forEach(([key, value], i) => {
      pieces.push(this.#glue(`  ${JSON.stringify(key)}: `));
      if (Array.isArray(value) && value.length > 0) {
        pieces.push(this.#glue("[\n"));
        value.forEach((item, k) => {
          pieces.push(this.#glue("    "), this.#value(item, 2));
          pieces.push(this.#glue(k < value.length - 1 ? ",\n" : "\n"));
        });
        pieces.push(this.#glue("  ]"));
      } else pieces.push(this.#value(value, 1));
      pieces.push(this.#glue(i < entries.length - 1 ? ",\n" : "\n"));
    });
    pieces.push(this.#glue("}\n"));
    return pieces;
  }

  #glue(text: string): EscapedPiece {
    return this.#cached(`glue:${text}`, () => text);
  }

  /** `value` printed as JSON.stringify prints it `depth` levels deep (as `null` when unprintable). */
  #value(value: unknown, depth: number): EscapedPiece {
    const compact = JSON.stringify(value) ?? "null";
    return this.#cached(`${depth}:${compact}`, () => {
      const text = JSON.stringify(value, null, 2) ?? "null";
      return text.includes("\n") ? text.replaceAll("\n", `\n${"  ".repeat(depth)}`) : text;
    });
  }

  #cached(key: string, text: () => string): EscapedPiece {
    let piece = this.#cache.get(key);
    if (piece === undefined) {
      piece = escapeTomlPiece(this.#encoder.encode(text()));
      if (this.#cache.size < MAX_CACHED_PIECES) this.#cache.set(key, piece);
    }
    return piece;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !hasToJson(value);
}

function hasToJson(value: unknown): boolean {
  return value !== null && typeof value === "object" &&
    typeof (value as { toJSON?: unknown }).toJSON === "function";
}

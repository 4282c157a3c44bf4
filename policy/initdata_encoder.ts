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
import { escapeAndMeasureTomlMultiline } from "./toml_multiline_bytes.ts";
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
    const line = this.#encoder.encode(
      `${POLICY_DATA_PREFIX}${JSON.stringify(policyData, null, 2)}\n`,
    );
    const { bytes: tail, size } = escapeAndMeasureTomlMultiline(line, this.#closing);
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

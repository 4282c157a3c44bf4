/**
 * Encoding the initdata of many pods that share the same rules (`contrast generate`): everything
 * that depends only on the rules (the TOML head with the escaped rules, its UTF-8 bytes, its
 * SHA-256 state, its compressed form, its size as the Kata agent counts it) is computed once;
 * per pod only the policy data line is serialised, escaped and measured (one walk over the value
 * into a reused buffer, `toml_json_line.ts`) and hashed; the pods' annotations are compressed together, through
 * one zlib stream ({@link PolicyInitdataEncoder.annotations}). The results are the
 * same as the per-document functions of `initdata.ts` give: the same TOML bytes and digest, a
 * gzip member that decompresses to the same bytes (see {@link prefixedGzip}), the same size.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { encodeBase64 } from "../util/bytes/mod.ts";
import { combinePolicyTextSizes, measurePolicyText, type PolicyTextSize } from "./agent_limits.ts";
import { PrefixedGzip } from "./gzip.ts";
import { escapeAndMeasureTomlMultiline } from "./toml_multiline_bytes.ts";
import { TomlJsonLineWriter } from "./toml_json_line.ts";
import {
  escapeTomlMultiline,
  INITDATA_VERSION,
  POLICY_DATA_PREFIX,
  POLICY_KEY,
  tomlBasicString,
} from "./initdata.ts";

/** One pod's encoded initdata (its annotation from {@link PolicyInitdataEncoder.annotations}). */
class EncodedPolicyInitdata {
  readonly #head: Uint8Array;
  #toml: Uint8Array | undefined;

  constructor(
    head: Uint8Array,
    /** The TOML bytes after the head all pods share: the escaped policy data line and `"""`. */
    readonly tail: Uint8Array,
    /** SHA-256 of {@link toml} (the document names `algorithm = "sha256"`). */
    readonly digest: Uint8Array,
    /** Size of the policy text (`renderPolicyText(rules, data)`) as the Kata agent counts it. */
    readonly policyTextSize: PolicyTextSize,
  ) {
    this.#head = head;
  }

  /**
   * The exact TOML bytes: `encodeInitdataToml({"policy.rego": renderPolicyText(rules, data)})`,
   * joined when first read (`generate` itself needs only the digest and the annotation, so a
   * 1,000-pod run does not hold a copy of the shared rules per pod).
   */
  get toml(): Uint8Array {
    if (!this.#toml) {
      const toml = new Uint8Array(this.#head.length + this.tail.length);
      toml.set(this.#head, 0);
      toml.set(this.tail, this.#head.length);
      this.#toml = toml;
    }
    return this.#toml;
  }
}

/** Encodes the initdata of pods that share `rules`; see the module documentation. */
export class PolicyInitdataEncoder {
  readonly #head: Uint8Array;
  readonly #headHash: Hash;
  readonly #gzip: PrefixedGzip;
  /**
   * Base64 of the longest whole-3-byte start of the members' shared bytes: every annotation
   * starts with this text; the 0–2 bytes left over are encoded with each pod's own bytes.
   */
  readonly #sharedBase64: string;
  readonly #sharedRest: Uint8Array;
  readonly #rulesSize: PolicyTextSize;
  readonly #encoder = new TextEncoder();
  readonly #closing = this.#encoder.encode(`"""\n`);
  readonly #prefix = this.#encoder.encode(POLICY_DATA_PREFIX);
  /** Writes each pod's escaped policy data line into a buffer reused across pods. */
  readonly #lineWriter = new TomlJsonLineWriter();
  /** Reused across pods: the UTF-8 policy data line, and room for its escaped form. */
  #lineBytes = new Uint8Array(0);
  #escapeScratch = new Uint8Array(0);
  /** The last {@link encodeAnnotated} (its initdata bytes are in the buffers until it ends). */
  #annotating: Promise<unknown> = Promise.resolve();

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
    this.#gzip = new PrefixedGzip(this.#head);
    const shared = this.#gzip.prefixBytes;
    const whole = shared.length - shared.length % 3;
    this.#sharedBase64 = base64(shared.subarray(0, whole));
    this.#sharedRest = shared.slice(whole);
  }

  /** The initdata of a pod with `policyData` (all but its annotation). */
  encode(policyData: unknown): EncodedPolicyInitdata {
    const { tail, digest, policyTextSize } = this.#encode(policyData, false);
    return new EncodedPolicyInitdata(this.#head, tail, digest, policyTextSize);
  }

  /**
   * The digest and size of the initdata of a pod with `policyData` and its annotation (as
   * {@link encode} and then {@link annotation} give them), without keeping a copy of the
   * initdata bytes: they are compressed from the encoder's buffer. Calls run one at a time.
   */
  encodeAnnotated(policyData: unknown): Promise<{
    digest: Uint8Array;
    policyTextSize: PolicyTextSize;
    annotation: string;
    /** The annotation as the base64 text every pod's annotation starts with and the pod's own. */
    annotationParts: readonly [string, string];
  }> {
    const result = this.#annotating.then(async () => {
      const { tail, digest, policyTextSize } = this.#encode(policyData, true);
      const annotationParts = await this.#annotationPartsOf(tail);
      return {
        digest,
        policyTextSize,
        annotation: annotationParts[0] + annotationParts[1],
        annotationParts,
      };
    });
    this.#annotating = result.catch(() => {});
    return result;
  }

  /** {@link encode}'s parts; the tail is a view of the encoder's buffer with `inScratch`. */
  #encode(
    policyData: unknown,
    inScratch: boolean,
  ): { tail: Uint8Array; digest: Uint8Array; policyTextSize: PolicyTextSize } {
    const line = this.#lineWriter.write(POLICY_DATA_PREFIX, policyData, this.#closing);
    if (line !== undefined) {
      return {
        tail: inScratch ? line.bytes : line.bytes.slice(),
        digest: new Uint8Array(this.#headHash.copy().update(line.bytes).digest()),
        policyTextSize: combinePolicyTextSizes(this.#rulesSize, line.size),
      };
    }
    // Not plain data (e.g. a toJSON method): through JSON.stringify, escaped in a second pass.
    // `${POLICY_DATA_PREFIX}${json}\n` as UTF-8, written in place (not joined as a string first).
    const json = JSON.stringify(policyData, null, 2);
    const prefix = this.#prefix.length;
    const room = prefix + 3 * json.length + 1; // at most three UTF-8 bytes per UTF-16 unit
    if (this.#lineBytes.length < room) this.#lineBytes = new Uint8Array(2 * room);
    this.#lineBytes.set(this.#prefix, 0);
    const json8 = this.#encoder.encodeInto(json, this.#lineBytes.subarray(prefix)).written;
    this.#lineBytes[prefix + json8] = 0x0a;
    const written = prefix + json8 + 1;
    const worstCase = 2 * written + this.#closing.length;
    if (this.#escapeScratch.length < worstCase) this.#escapeScratch = new Uint8Array(2 * worstCase);
    const { bytes: tail, size } = escapeAndMeasureTomlMultiline(
      this.#lineBytes.subarray(0, written),
      this.#closing,
      this.#escapeScratch,
      inScratch,
    );
    return {
      tail,
      digest: new Uint8Array(this.#headHash.copy().update(tail).digest()),
      policyTextSize: combinePolicyTextSizes(this.#rulesSize, size),
    };
  }

  /**
   * The `cc_init_data` annotation value, base64(gzip(toml)), of `encoded` (made by this encoder),
   * compressed now through the encoder's one zlib stream (see `PrefixedGzip`): the same value
   * whatever else the encoder compressed. The text is the shared members' start, encoded once,
   * joined with the pod's own part, so annotations share the rules' ~23 KB of base64 text.
   */
  annotation(encoded: EncodedPolicyInitdata): Promise<string> {
    return this.#annotationOf(encoded.tail);
  }

  async #annotationOf(tail: Uint8Array): Promise<string> {
    const [shared, own] = await this.#annotationPartsOf(tail);
    return shared + own;
  }

  /** {@link annotation} of `tail`'s pod as the shared base64 text and the pod's own. */
  async #annotationPartsOf(tail: Uint8Array): Promise<[string, string]> {
    const part = await this.#gzip.suffixPart(tail);
    const rest = this.#sharedRest;
    const own = new Uint8Array(rest.length + part.length);
    own.set(rest, 0);
    own.set(part, rest.length);
    return [this.#sharedBase64, base64(own)];
  }

  /** {@link annotation} of each of `encoded`, in order. */
  async annotations(encoded: readonly EncodedPolicyInitdata[]): Promise<string[]> {
    const values: string[] = [];
    for (const e of encoded) values.push(await this.annotation(e));
    return values;
  }

  /** Ends the encoder's zlib stream (a later {@link annotation} opens a new one). */
  close(): void {
    this.#gzip.close();
  }
}

/** Standard padded base64 (the engine's `toBase64` where it has one). */
function base64(bytes: Uint8Array): string {
  const native = (bytes as { toBase64?: () => string }).toBase64;
  return native ? native.call(bytes) : encodeBase64(bytes);
}

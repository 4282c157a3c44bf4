/**
 * initdata documents (the Kata/CoCo standard): TOML with `version`, `algorithm` and a `[data]`
 * table whose `"policy.rego"` entry holds the runtime policy. The document is written
 * deterministically by hand (same input, same bytes), hashed over its exact bytes, and carried
 * in the pod annotation `io.katacontainers.config.hypervisor.cc_init_data` as
 * base64(gzip(TOML)). The legacy annotation `io.katacontainers.config.agent.policy`
 * (base64 of the bare policy text, digest = SHA-256 of the text) is readable too.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parse as parseToml } from "smol-toml";
import { decodeBase64, encodeBase64, encodeHex } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { gunzipBounded, gzipDeterministic } from "./gzip.ts";

/**
 * Annotation carrying base64(gzip(initdata TOML)).
 *
 * @example Read the initdata of a pod
 * ```ts
 * import { decodeInitdataAnnotation, INITDATA_ANNOTATION } from "./mod.ts";
 *
 * async function policyOf(annotations: Record<string, string>): Promise<string | undefined> {
 *   const value = annotations[INITDATA_ANNOTATION];
 *   return value ? (await decodeInitdataAnnotation(value)).data["policy.rego"] : undefined;
 * }
 * ```
 */
export const INITDATA_ANNOTATION = "io.katacontainers.config.hypervisor.cc_init_data";
/** Legacy annotation carrying base64(policy text). */
export const LEGACY_POLICY_ANNOTATION = "io.katacontainers.config.agent.policy";
/** The only initdata version contrast writes and reads. */
export const INITDATA_VERSION = "0.1.0";
/**
 * Key of the policy inside the `[data]` table.
 *
 * @example Put a policy into initdata
 * ```ts
 * import { encodeInitdataToml, POLICY_KEY } from "./mod.ts";
 *
 * const toml = encodeInitdataToml({ [POLICY_KEY]: "package agent_policy\n" });
 * console.log(new TextDecoder().decode(toml));
 * ```
 */
export const POLICY_KEY = "policy.rego";
/** Largest initdata document (decompressed) contrast accepts: 8 MiB. */
const MAX_INITDATA_BYTES = 8 * 1024 * 1024;

/**
 * Digest algorithms initdata may name.
 *
 * @example Digest initdata for TDX with SHA-384
 * ```ts
 * import { encodeInitdataToml, type InitdataAlgorithm, initdataDigest } from "./mod.ts";
 *
 * const algorithm: InitdataAlgorithm = "sha384";
 * const digest = await initdataDigest(encodeInitdataToml({}), algorithm);
 * console.log(digest.length); // 48
 * ```
 */
export type InitdataAlgorithm = "sha256" | "sha384" | "sha512";

/**
 * A parsed initdata document together with its exact bytes and digest.
 *
 * @example Read the policy out of parsed initdata
 * ```ts
 * import { encodeInitdataToml, type Initdata, parseInitdata } from "./mod.ts";
 *
 * const initdata: Initdata = await parseInitdata(encodeInitdataToml({ "policy.rego": "package p\n" }));
 * console.log(initdata.data["policy.rego"], initdata.digest.length); // "package p\n" 32
 * ```
 */
export interface Initdata {
  /** `version` (always {@link INITDATA_VERSION}). */
  readonly version: string;
  /** Digest algorithm named in the document. */
  readonly algorithm: InitdataAlgorithm;
  /** The `[data]` table: file name to content. */
  readonly data: Readonly<Record<string, string>>;
  /** The exact TOML bytes the digest covers. */
  readonly bytes: Uint8Array;
  /** Digest over {@link bytes} with {@link algorithm}. */
  readonly digest: Uint8Array;
}

/** A policy read from pod annotations, new or legacy form. */
interface AnnotatedPolicy {
  /** Which annotation carried it. */
  readonly form: "initdata" | "legacy";
  /** The policy text (`policy.rego`). */
  readonly policy: string;
  /** The digest the TEE measures: initdata digest, or SHA-256 of the legacy text. */
  readonly digest: Uint8Array;
  /** The initdata document (only for the `initdata` form). */
  readonly initdata?: Initdata;
}

const TOML_ESCAPES: Readonly<Record<string, string>> = { "\\": "\\\\", '"': '\\"' };
// deno-lint-ignore no-control-regex
const TOML_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
// deno-lint-ignore no-control-regex
const TOML_SPECIAL = /[\\"\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Escapes `text` for a TOML multi-line basic string (`"""…"""`), keeping newlines literal. */
export function escapeTomlMultiline(text: string): string {
  if (!TOML_CONTROL.test(text)) return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  return text.replace(
    TOML_SPECIAL,
    (ch) => TOML_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Escapes `text` as a TOML basic string including the quotes. */
export function tomlBasicString(text: string): string {
  return `"${escapeTomlMultiline(text).replaceAll("\n", "\\n").replaceAll("\t", "\\t")}"`;
}

/**
 * Writes an initdata TOML document for `data` (sorted keys, fixed layout), byte-identical for
 * identical input.
 *
 * @example Byte-identical output for identical input
 * ```ts
 * import { encodeInitdataToml } from "./mod.ts";
 *
 * const a = encodeInitdataToml({ "policy.rego": "package p\n" });
 * const b = encodeInitdataToml({ "policy.rego": "package p\n" });
 * console.log(a.length === b.length); // true
 * ```
 */
export function encodeInitdataToml(
  data: Readonly<Record<string, string>>,
  algorithm: InitdataAlgorithm = "sha256",
): Uint8Array {
  let toml = `version = "${INITDATA_VERSION}"\nalgorithm = "${algorithm}"\n\n[data]\n`;
  for (const key of Object.keys(data).sort()) {
    toml += `${tomlBasicString(key)} = """\n${escapeTomlMultiline(data[key]!)}"""\n`;
  }
  return new TextEncoder().encode(toml);
}

/**
 * The digest of initdata bytes under `algorithm`.
 *
 * @example The digest an SNP guest carries in HOST_DATA
 * ```ts
 * import { encodeInitdataToml, initdataDigest } from "./mod.ts";
 *
 * const digest = await initdataDigest(encodeInitdataToml({ "policy.rego": "package p\n" }), "sha256");
 * console.log(digest.length); // 32
 * ```
 */
export function initdataDigest(
  bytes: Uint8Array,
  algorithm: InitdataAlgorithm,
): Promise<Uint8Array> {
  return Promise.resolve(initdataDigestSync(bytes, algorithm));
}

/** Synchronous {@link initdataDigest} (hashing many pods' documents without a round trip each). */
function initdataDigestSync(bytes: Uint8Array, algorithm: InitdataAlgorithm): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(bytes).digest());
}

/**
 * Parses initdata TOML bytes (strict: known top-level keys only, string values in `[data]`).
 *
 * @throws {ParseError} naming the field (`initdata.version`, `initdata.data["policy.rego"]`…)
 *
 * @example Parse initdata bytes strictly
 * ```ts
 * import { encodeInitdataToml, parseInitdata } from "./mod.ts";
 *
 * const initdata = await parseInitdata(encodeInitdataToml({ "policy.rego": "package p\n" }));
 * console.log(initdata.algorithm); // "sha256"
 * ```
 */
export async function parseInitdata(bytes: Uint8Array, field = "initdata"): Promise<Initdata> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ParseError(field, "not valid UTF-8");
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw new ParseError(field, `not valid TOML: ${(error as Error).message.split("\n")[0]}`);
  }
  for (const key of Object.keys(doc)) {
    if (!["version", "algorithm", "data"].includes(key)) {
      throw new ParseError(`${field}.${key}`, "unknown field");
    }
  }
  if (doc.version !== INITDATA_VERSION) {
    throw new ParseError(
      `${field}.version`,
      `must be "${INITDATA_VERSION}", got ${JSON.stringify(doc.version)}`,
    );
  }
  const algorithm = doc.algorithm;
  if (algorithm !== "sha256" && algorithm !== "sha384" && algorithm !== "sha512") {
    throw new ParseError(
      `${field}.algorithm`,
      `must be sha256, sha384 or sha512, got ${JSON.stringify(algorithm)}`,
    );
  }
  const table = doc.data;
  if (typeof table !== "object" || table === null || Array.isArray(table)) {
    throw new ParseError(`${field}.data`, "missing [data] table");
  }
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(table)) {
    if (typeof value !== "string") {
      throw new ParseError(`${field}.data[${JSON.stringify(key)}]`, "must be a string");
    }
    data[key] = value;
  }
  return {
    version: INITDATA_VERSION,
    algorithm,
    data,
    bytes,
    digest: await initdataDigest(bytes, algorithm),
  };
}

/**
 * The annotation value for initdata bytes: base64(deterministic gzip(bytes)).
 *
 * @example Round trip through the pod annotation
 * ```ts
 * import { decodeInitdataAnnotation, encodeInitdataAnnotation, encodeInitdataToml } from "./mod.ts";
 *
 * const toml = encodeInitdataToml({ "policy.rego": "package agent_policy\n" });
 * const annotation = await encodeInitdataAnnotation(toml);
 * const initdata = await decodeInitdataAnnotation(annotation);
 * console.log(initdata.algorithm); // "sha256"
 * ```
 */
export async function encodeInitdataAnnotation(tomlBytes: Uint8Array): Promise<string> {
  const gz = await gzipDeterministic(tomlBytes);
  const native = (gz as { toBase64?: () => string }).toBase64;
  return native ? native.call(gz) : encodeBase64(gz);
}

/**
 * Decodes and parses the `cc_init_data` annotation value.
 *
 * @throws {ParseError} naming the annotation when base64, gzip or TOML are malformed
 *
 * @example Decode the annotation of a pod
 * ```ts
 * import { decodeInitdataAnnotation, encodeInitdataAnnotation, encodeInitdataToml } from "./mod.ts";
 *
 * const annotation = await encodeInitdataAnnotation(encodeInitdataToml({ "policy.rego": "package p\n" }));
 * const initdata = await decodeInitdataAnnotation(annotation);
 * console.log(Object.keys(initdata.data)); // [ "policy.rego" ]
 * ```
 */
export async function decodeInitdataAnnotation(
  value: string,
  field = `annotations["${INITDATA_ANNOTATION}"]`,
): Promise<Initdata> {
  const compressed = decodeBase64(value.trim(), field);
  const bytes = await gunzipBounded(compressed, MAX_INITDATA_BYTES, field);
  return await parseInitdata(bytes, field);
}

/**
 * Reads the policy from a pod's annotations: the initdata annotation when present, else the
 * legacy policy annotation. Returns undefined when neither is present.
 *
 * @throws {ParseError} when an annotation is malformed or initdata lacks `policy.rego`
 */
export async function readAnnotatedPolicy(
  annotations: Readonly<Record<string, string>>,
): Promise<AnnotatedPolicy | undefined> {
  const initdataValue = annotations[INITDATA_ANNOTATION];
  if (initdataValue !== undefined) {
    const initdata = await decodeInitdataAnnotation(initdataValue);
    const policy = initdata.data[POLICY_KEY];
    if (policy === undefined) {
      throw new ParseError(
        `annotations["${INITDATA_ANNOTATION}"].data["${POLICY_KEY}"]`,
        "initdata has no policy",
      );
    }
    return { form: "initdata", policy, digest: initdata.digest, initdata };
  }
  const legacy = annotations[LEGACY_POLICY_ANNOTATION];
  if (legacy !== undefined) {
    const field = `annotations["${LEGACY_POLICY_ANNOTATION}"]`;
    const raw = decodeBase64(legacy.trim(), field);
    let policy: string;
    try {
      policy = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      throw new ParseError(field, "policy is not valid UTF-8");
    }
    return { form: "legacy", policy, digest: initdataDigestSync(raw, "sha256") };
  }
  return undefined;
}

/** The line prefix that starts the policy data in a policy text. */
export const POLICY_DATA_PREFIX = "policy_data := ";

/** Joins rules and policy data into a policy text: rules, then `policy_data := <pretty JSON>`. */
export function renderPolicyText(rules: string, policyData: unknown): string {
  const body = rules.endsWith("\n") ? rules : rules + "\n";
  return `${body}\n${POLICY_DATA_PREFIX}${JSON.stringify(policyData, null, 2)}\n`;
}

/**
 * Splits a policy text at its `policy_data := ` line into the rules (verbatim, as they precede
 * the blank separator line) and the parsed policy data.
 *
 * @throws {ParseError} when the line is missing or the data is not JSON
 */
export function splitPolicyText(text: string): { rules: string; policyData: unknown } {
  const marker = `\n\n${POLICY_DATA_PREFIX}`;
  const at = text.lastIndexOf(marker);
  if (at < 0) throw new ParseError("policy.rego", `no "${POLICY_DATA_PREFIX.trim()}" line`);
  const rules = text.slice(0, at + 1);
  const json = text.slice(at + marker.length);
  try {
    return { rules, policyData: JSON.parse(json) };
  } catch (error) {
    throw new ParseError("policy.rego.policy_data", `not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * SNP `HOST_DATA` (32 bytes) for an initdata digest: the SHA-256 digest itself.
 *
 * @example HOST_DATA from a SHA-256 initdata digest
 * ```ts
 * import { encodeInitdataToml, initdataDigest, snpHostData } from "./mod.ts";
 *
 * const hostData = snpHostData(await initdataDigest(encodeInitdataToml({}), "sha256"));
 * console.log(hostData.length); // 32
 * ```
 */
export function snpHostData(initdataDigestBytes: Uint8Array): Uint8Array {
  if (initdataDigestBytes.length !== 32) {
    throw new ParseError("initdata.digest", "SNP HOST_DATA holds a 32-byte (sha256) digest only");
  }
  return initdataDigestBytes.slice();
}

/**
 * TDX `MRCONFIGID` (48 bytes): sha256 digest + 16 zero bytes, or the full sha384 digest.
 *
 * @example MRCONFIGID from a SHA-256 initdata digest
 * ```ts
 * import { encodeInitdataToml, initdataDigest, tdxMrConfigId } from "./mod.ts";
 *
 * const mrConfigId = tdxMrConfigId(await initdataDigest(encodeInitdataToml({}), "sha256"));
 * console.log(mrConfigId.length); // 48: the digest, then 16 zero bytes
 * ```
 */
export function tdxMrConfigId(initdataDigestBytes: Uint8Array): Uint8Array {
  if (initdataDigestBytes.length === 48) return initdataDigestBytes.slice();
  if (initdataDigestBytes.length !== 32) {
    throw new ParseError("initdata.digest", "MRCONFIGID holds a sha256 or sha384 digest");
  }
  const out = new Uint8Array(48);
  out.set(initdataDigestBytes, 0);
  return out;
}

/** Lower-case hex of a digest, as used for manifest `Policies` keys. */
export function digestHex(digestBytes: Uint8Array): string {
  return encodeHex(digestBytes);
}

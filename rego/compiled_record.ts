/**
 * The provenance record of the compiled rules, `rego/policy.wasm.json`, written next to the wasm by
 * `deno task build:rego`: the SHA-256 of the exact `rules.rego` bytes that were compiled, the opa
 * version, the optimiser run over opa's output, the entrypoints and the SHA-256 of the wasm
 * module. The evaluator refuses a wasm whose
 * digest is not the recorded one, and `contrast policy check` compares a policy's rules with the
 * recorded rules digest, so what is evaluated is provably what the pod's policy contains.
 *
 * @module
 */
import { constantTimeEqual, decodeHex, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { ParseError, UnavailableError, VerificationError } from "../util/errors/mod.ts";
import { IssueList, ObjectReader, parseJsonDocument } from "../util/json/mod.ts";
import { REQUEST_TYPES } from "./request_types.ts";
import { shippedRecordBytes } from "./shipped.ts";

/**
 * The record's format version: 2 names the optimiser run over opa's output. Version 1 (opa's
 * output as it was, no `wasm_optimizer` field) is still read, for the earlier commits
 * `scripts/bench_policy_baseline.ts` measures against.
 */
const COMPILED_RECORD_VERSION = 2;

/** What a version 1 record's module was optimised with: nothing. */
const NOT_OPTIMIZED = "none";

/** What `rego/policy.wasm` was compiled from, and its digest. */
export interface CompiledRulesRecord {
  /** Format version ({@link COMPILED_RECORD_VERSION}, or 1 for an earlier build). */
  readonly version: 1 | 2;
  /** Lower-case hex SHA-256 of the exact rules bytes compiled. */
  readonly rulesSha256: string;
  /** The opa version that compiled them (e.g. `1.22.2`). */
  readonly opaVersion: string;
  /**
   * The optimiser run over opa's wasm and its settings (e.g. `binaryen 132.0.0 -O3`; `none` for
   * a version 1 record).
   */
  readonly wasmOptimizer: string;
  /** The wasm entrypoints, in compilation order (`agent_policy/<Request>`). */
  readonly entrypoints: readonly string[];
  /** Lower-case hex SHA-256 of the wasm module. */
  readonly wasmSha256: string;
}

/** The entrypoints the rules are compiled with: one per request type, in {@link REQUEST_TYPES} order. */
export function expectedEntrypoints(): string[] {
  return REQUEST_TYPES.map((t) => `agent_policy/${t}`);
}

/** Lower-case hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return encodeHex(await sha256(bytes));
}

/** The tools of a compilation: the opa version and the optimiser run over its output. */
interface Toolchain {
  /** The opa version that compiled the rules. */
  readonly opaVersion: string;
  /** The optimiser and its settings. */
  readonly wasmOptimizer: string;
}

/** Builds the record of a compilation. */
export async function recordCompilation(
  rules: Uint8Array,
  wasm: Uint8Array,
  toolchain: Toolchain,
  entrypoints: readonly string[] = expectedEntrypoints(),
): Promise<CompiledRulesRecord> {
  return {
    version: COMPILED_RECORD_VERSION,
    rulesSha256: await sha256Hex(rules),
    opaVersion: toolchain.opaVersion,
    wasmOptimizer: toolchain.wasmOptimizer,
    entrypoints: [...entrypoints],
    wasmSha256: await sha256Hex(wasm),
  };
}

/** The record as committed: stable key order, two-space indentation, final newline. */
export function serializeRecord(record: CompiledRulesRecord): string {
  return JSON.stringify(
    {
      version: record.version,
      rules_sha256: record.rulesSha256,
      opa_version: record.opaVersion,
      ...(record.version === 1 ? {} : { wasm_optimizer: record.wasmOptimizer }),
      entrypoints: record.entrypoints,
      wasm_sha256: record.wasmSha256,
    },
    null,
    2,
  ) + "\n";
}

/**
 * Parses a record strictly: every field of its version present with its type, digests 32-byte
 * hex, no unknown field.
 *
 * @throws {InvalidDocumentError} listing every problem with its JSON path
 */
export function parseRecord(bytes: Uint8Array): CompiledRulesRecord {
  const issues = new IssueList();
  const r = new ObjectReader(parseJsonDocument(bytes), "", issues);
  const version = r.integer("version", { min: 0 });
  if (version !== undefined && version !== COMPILED_RECORD_VERSION && version !== 1) {
    issues.add("version", `unsupported record version ${version}`);
  }
  const rulesSha256 = r.hex("rules_sha256", 32);
  const opaVersion = r.string("opa_version");
  if (opaVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(opaVersion)) {
    issues.add("opa_version", "expected a version like 1.22.2");
  }
  // A version 1 record has no such field (finish() refuses it there as unknown).
  const wasmOptimizer = version === 1 ? NOT_OPTIMIZED : r.string("wasm_optimizer");
  if (wasmOptimizer !== undefined && wasmOptimizer.trim() === "") {
    issues.add("wasm_optimizer", "expected the optimiser and its settings");
  }
  const seen = new Set<string>();
  const entrypoints = r.array("entrypoints", (v, path) => {
    if (typeof v !== "string" || v.length === 0) {
      issues.add(path, "expected a non-empty string");
      return undefined;
    }
    if (seen.has(v)) issues.add(path, `duplicate entrypoint ${v}`);
    seen.add(v);
    return v;
  });
  const wasmSha256 = r.hex("wasm_sha256", 32);
  if (r.ok) r.finish();
  issues.throwIfAny();
  return {
    version: version === 1 ? 1 : COMPILED_RECORD_VERSION,
    rulesSha256: rulesSha256!,
    opaVersion: opaVersion!,
    wasmOptimizer: wasmOptimizer!,
    entrypoints: entrypoints!,
    wasmSha256: wasmSha256!,
  };
}

/**
 * Parses the record at `url`, or without one the committed record embedded in the program.
 *
 * @throws {UnavailableError} when the file cannot be read
 * @throws {InvalidDocumentError} when it is malformed
 */
export async function readRecord(url?: URL): Promise<CompiledRulesRecord> {
  if (url === undefined) return parseRecord(shippedRecordBytes());
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(url);
  } catch (error) {
    throw new UnavailableError(
      "rego/policy.wasm.json",
      `cannot read the compiled rules' record: ${error}; run \`deno task build:rego\``,
    );
  }
  return parseRecord(bytes);
}

/** Whether two lower-case hex digests are equal, compared in constant time. */
export function sameDigest(a: string, b: string, field: string): boolean {
  const x = decodeHex(a, field, 32);
  const y = decodeHex(b, field, 32);
  return constantTimeEqual(x, y);
}

/**
 * Checks that `wasm` is the module the record describes.
 *
 * @throws {VerificationError} naming `rego/policy.wasm` with both digests when it is not
 */
export async function assertRecordedWasm(
  wasm: Uint8Array,
  record: CompiledRulesRecord,
): Promise<void> {
  const actual = await sha256Hex(wasm);
  if (!sameDigest(actual, record.wasmSha256, "wasm_sha256")) {
    throw new VerificationError(
      "rego/policy.wasm",
      `the wasm (sha256 ${actual}) is not the one recorded in rego/policy.wasm.json ` +
        `(sha256 ${record.wasmSha256}); run \`deno task build:rego\``,
    );
  }
}

/**
 * Checks that the entrypoints a loaded module exports are exactly the recorded ones.
 *
 * @throws {VerificationError} naming the first missing or extra entrypoint
 */
export function assertRecordedEntrypoints(
  exported: readonly string[],
  record: CompiledRulesRecord,
): void {
  const have = new Set(exported);
  const want = new Set(record.entrypoints);
  const missing = record.entrypoints.find((e) => !have.has(e));
  const extra = exported.find((e) => !want.has(e));
  if (missing !== undefined || extra !== undefined || have.size !== want.size) {
    throw new VerificationError(
      "rego/policy.wasm entrypoints",
      missing !== undefined
        ? `the recorded entrypoint ${missing} is not exported by the wasm`
        : `the wasm exports ${extra ?? "a duplicate entrypoint"}, which the record does not list`,
    );
  }
}

/**
 * Differences between a committed record and the record of a fresh compilation, one line per
 * field (empty when they agree).
 */
export function recordDifferences(
  committed: CompiledRulesRecord,
  fresh: CompiledRulesRecord,
): string[] {
  const out: string[] = [];
  if (committed.rulesSha256 !== fresh.rulesSha256) {
    out.push(
      `rules_sha256: recorded ${committed.rulesSha256}, rego/rules.rego is ${fresh.rulesSha256}`,
    );
  }
  if (committed.opaVersion !== fresh.opaVersion) {
    out.push(`opa_version: recorded ${committed.opaVersion}, compiled with ${fresh.opaVersion}`);
  }
  if (committed.wasmOptimizer !== fresh.wasmOptimizer) {
    out.push(
      `wasm_optimizer: recorded ${committed.wasmOptimizer}, optimised with ${fresh.wasmOptimizer}`,
    );
  }
  if (JSON.stringify(committed.entrypoints) !== JSON.stringify(fresh.entrypoints)) {
    out.push(
      `entrypoints: recorded [${committed.entrypoints.join(", ")}], compiled with ` +
        `[${fresh.entrypoints.join(", ")}]`,
    );
  }
  if (committed.wasmSha256 !== fresh.wasmSha256) {
    out.push(`wasm_sha256: recorded ${committed.wasmSha256}, compiled ${fresh.wasmSha256}`);
  }
  return out;
}

/**
 * Compares the digest of `rules` (rules text as a policy carries it) with the recorded digest of the
 * compiled rules, in constant time; returns whether they are equal and the digest of `rules`.
 */
export async function rulesMatchRecord(
  rules: Uint8Array,
  record: Pick<CompiledRulesRecord, "rulesSha256">,
): Promise<{ readonly same: boolean; readonly sha256: string }> {
  const digest = await sha256Hex(rules);
  try {
    return { same: sameDigest(digest, record.rulesSha256, "rules_sha256"), sha256: digest };
  } catch (error) {
    if (error instanceof ParseError) return { same: false, sha256: digest };
    throw error;
  }
}

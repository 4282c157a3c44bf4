import assert from "node:assert/strict";
import { extractTarEntry, staleness } from "../../scripts/build_rego.ts";
import { readRecord, serializeRecord } from "../../rego/compiled_record.ts";
import { readPolicyWasm } from "../../rego/evaluator.ts";

const wasm = await readPolicyWasm();
const record = await readRecord();
const fresh = { wasm, record };
const canonical = new TextEncoder().encode(serializeRecord(record));

Deno.test("--check passes when the wasm and the record are those of a fresh compilation", () => {
  assert.deepEqual(staleness(wasm, canonical, fresh), []);
});

Deno.test("--check fails on a stale wasm, naming it", () => {
  const stale = wasm.slice();
  stale[100] ^= 1;
  assert.deepEqual(staleness(stale, canonical, fresh), [
    "rego/policy.wasm differs from a fresh compilation of rego/rules.rego",
  ]);
  assert.deepEqual(staleness(undefined, canonical, fresh), ["rego/policy.wasm is missing"]);
});

Deno.test("--check fails on a missing, malformed or stale record, naming the field", () => {
  assert.deepEqual(staleness(wasm, undefined, fresh), ["rego/policy.wasm.json is missing"]);
  const malformed = staleness(wasm, new TextEncoder().encode("{}"), fresh);
  assert.equal(malformed.length, 1);
  assert.match(malformed[0]!, /^rego\/policy\.wasm\.json is malformed/);
  const oldRules = { ...record, rulesSha256: "00".repeat(32) };
  assert.deepEqual(
    staleness(wasm, new TextEncoder().encode(serializeRecord(oldRules)), fresh).map((l) =>
      l.split(":")[0]
    ),
    ["rego/policy.wasm.json rules_sha256"],
  );
  const oldWasm = { ...record, wasmSha256: "11".repeat(32), opaVersion: "1.0.0" };
  assert.deepEqual(
    staleness(wasm, new TextEncoder().encode(serializeRecord(oldWasm)), fresh).map((l) =>
      l.split(":")[0]
    ),
    ["rego/policy.wasm.json opa_version", "rego/policy.wasm.json wasm_sha256"],
  );
  const unoptimised = { ...record, wasmOptimizer: "none" };
  assert.deepEqual(
    staleness(wasm, new TextEncoder().encode(serializeRecord(unoptimised)), fresh).map((l) =>
      l.split(":")[0]
    ),
    ["rego/policy.wasm.json wasm_optimizer"],
  );
});

Deno.test("--check fails on a record with the right content in another layout", () => {
  const compact = new TextEncoder().encode(JSON.stringify(JSON.parse(serializeRecord(record))));
  assert.deepEqual(staleness(wasm, compact, fresh), [
    "rego/policy.wasm.json is not in canonical form",
  ]);
});

Deno.test("extractTarEntry finds a file in a ustar archive and nothing else", () => {
  const tar = new Uint8Array(512 * 4);
  const enc = new TextEncoder();
  tar.set(enc.encode("/policy.wasm"), 0);
  tar.set(enc.encode("00000000003\0"), 124);
  tar.set(enc.encode("abc"), 512);
  assert.deepEqual(extractTarEntry(tar, "policy.wasm"), enc.encode("abc"));
  assert.equal(extractTarEntry(tar, "data.json"), undefined);
});

import assert from "node:assert/strict";
import {
  InvalidDocumentError,
  UnavailableError,
  VerificationError,
} from "../../util/errors/mod.ts";
import {
  type CompiledRulesRecord,
  expectedEntrypoints,
  parseRecord,
  readRecord,
  recordCompilation,
  recordDifferences,
  rulesMatchRecord,
  serializeRecord,
  sha256Hex,
} from "../../rego/compiled_record.ts";
import { CompiledRules, readPolicyWasm } from "../../rego/evaluator.ts";

const COMPILED_RECORD_URL = new URL("../../rego/policy.wasm.json", import.meta.url);

const RULES_URL = new URL("../../rego/rules.rego", import.meta.url);
const wasm = await readPolicyWasm();
const record = await readRecord();

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] ^= 0x01;
  return copy;
}

function recordJson(overrides: Record<string, unknown>): Uint8Array {
  const base = JSON.parse(serializeRecord(record));
  return new TextEncoder().encode(JSON.stringify({ ...base, ...overrides }));
}

Deno.test("the committed record names the committed wasm and the current rules.rego", async () => {
  assert.equal(record.wasmSha256, await sha256Hex(wasm));
  assert.equal(record.rulesSha256, await sha256Hex(await Deno.readFile(RULES_URL)));
  assert.deepEqual(record.entrypoints, expectedEntrypoints());
  assert.equal(
    await Deno.readTextFile(COMPILED_RECORD_URL),
    serializeRecord(record),
    "the committed record is in canonical form",
  );
});

Deno.test("loads the committed wasm only with its record, and exposes the record", async () => {
  const rules = await CompiledRules.load();
  assert.deepEqual(rules.record, record);
  const ev = await rules.evaluator({ requests: { ReadStreamRequest: true } });
  assert.equal(ev.decide("ReadStreamRequest", {}).allowed, true);
});

Deno.test("refuses a wasm with one byte flipped", async () => {
  for (const index of [0, 8, Math.floor(wasm.length / 2), wasm.length - 1]) {
    await assert.rejects(
      CompiledRules.load({ wasm: flipped(wasm, index), record }),
      (e: unknown) =>
        e instanceof VerificationError && e.field === "rego/policy.wasm" &&
        e.reason.includes(record.wasmSha256),
    );
  }
});

Deno.test("refuses the wasm when the record's wasm digest was tampered", async () => {
  const tampered: CompiledRulesRecord = {
    ...record,
    wasmSha256: encodeFlippedHex(record.wasmSha256),
  };
  await assert.rejects(
    CompiledRules.load({ wasm, record: tampered }),
    (e: unknown) => e instanceof VerificationError && e.field === "rego/policy.wasm",
  );
});

function encodeFlippedHex(hex: string): string {
  return (hex[0] === "0" ? "1" : "0") + hex.slice(1);
}

Deno.test("refuses a record whose entrypoints the wasm does not export exactly", async () => {
  const extra = { ...record, entrypoints: [...record.entrypoints, "agent_policy/NoSuchRequest"] };
  await assert.rejects(
    CompiledRules.load({ wasm, record: extra }),
    (e: unknown) =>
      e instanceof VerificationError && e.field === "rego/policy.wasm entrypoints" &&
      e.reason.includes("agent_policy/NoSuchRequest"),
  );
  const fewer = { ...record, entrypoints: record.entrypoints.slice(1) };
  await assert.rejects(
    CompiledRules.load({ wasm, record: fewer }),
    (e: unknown) => e instanceof VerificationError && e.reason.includes(record.entrypoints[0]!),
  );
});

Deno.test("parses the canonical record back to the same record", () => {
  assert.deepEqual(parseRecord(new TextEncoder().encode(serializeRecord(record))), record);
});

Deno.test("rejects a malformed record naming every bad field", () => {
  const bytes = recordJson({
    version: 3,
    rules_sha256: "abc",
    opa_version: "latest",
    wasm_optimizer: " ",
    entrypoints: ["", 3],
    wasm_sha256: "zz".repeat(32),
    extra: true,
  });
  assert.throws(() => parseRecord(bytes), (e: unknown) => {
    assert.ok(e instanceof InvalidDocumentError);
    assert.deepEqual(e.issues.map((i) => i.path).sort(), [
      "entrypoints[0]",
      "entrypoints[1]",
      "extra",
      "opa_version",
      "rules_sha256",
      "version",
      "wasm_optimizer",
      "wasm_sha256",
    ]);
    return true;
  });
  const duplicate = recordJson({ entrypoints: [...record.entrypoints, record.entrypoints[0]] });
  assert.throws(
    () => parseRecord(duplicate),
    (e: unknown) =>
      e instanceof InvalidDocumentError &&
      e.issues[0]!.path === `entrypoints[${record.entrypoints.length}]`,
  );
  assert.throws(
    () => parseRecord(new TextEncoder().encode("{}")),
    (e: unknown) => e instanceof InvalidDocumentError && e.issues.length === 6,
  );
  assert.throws(
    () => parseRecord(new TextEncoder().encode("not json")),
    (e: unknown) => e instanceof InvalidDocumentError && e.field === "(root)",
  );
});

Deno.test("reads a version 1 record (an earlier build: opa's output as it was)", () => {
  const { wasm_optimizer: _, ...fields } = JSON.parse(serializeRecord(record));
  const v1 = new TextEncoder().encode(JSON.stringify({ ...fields, version: 1 }, null, 2) + "\n");
  const parsed = parseRecord(v1);
  assert.deepEqual(parsed, { ...record, version: 1, wasmOptimizer: "none" });
  assert.equal(serializeRecord(parsed), new TextDecoder().decode(v1));
  assert.throws(
    () => parseRecord(recordJson({ version: 1 })),
    (e: unknown) =>
      e instanceof InvalidDocumentError && e.issues.map((i) => i.path).join() === "wasm_optimizer",
    "version 1 has no wasm_optimizer field",
  );
  assert.throws(
    () => parseRecord(recordJson({ wasm_optimizer: undefined })),
    (e: unknown) =>
      e instanceof InvalidDocumentError && e.issues.map((i) => i.path).join() === "wasm_optimizer",
    "version 2 requires it",
  );
});

Deno.test("a missing record is unavailable, naming the file", async () => {
  await assert.rejects(
    readRecord(new URL("file:///nonexistent/policy.wasm.json")),
    (e: unknown) => e instanceof UnavailableError && e.field === "rego/policy.wasm.json",
  );
});

Deno.test("recordDifferences names each field that differs and nothing else", async () => {
  assert.deepEqual(recordDifferences(record, record), []);
  const fresh = await recordCompilation(
    new TextEncoder().encode("package agent_policy\n"),
    wasm,
    { opaVersion: "9.9.9", wasmOptimizer: "binaryen 1.0.0 -O1" },
    expectedEntrypoints().slice(1),
  );
  const lines = recordDifferences(record, fresh);
  assert.deepEqual(lines.map((l) => l.split(":")[0]), [
    "rules_sha256",
    "opa_version",
    "wasm_optimizer",
    "entrypoints",
  ]);
});

Deno.test("rules text one byte different from the compiled rules does not match the record", async () => {
  const rules = await Deno.readFile(RULES_URL);
  assert.equal((await rulesMatchRecord(rules, record)).same, true);
  for (const changed of [flipped(rules, 0), flipped(rules, rules.length - 1)]) {
    const result = await rulesMatchRecord(changed, record);
    assert.equal(result.same, false);
    assert.equal(result.sha256, await sha256Hex(changed));
  }
  const longer = new Uint8Array([...rules, 0x0a]);
  assert.equal((await rulesMatchRecord(longer, record)).same, false);
});

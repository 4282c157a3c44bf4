import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { applyPatch, parsePatch } from "../../rego/json_patch.ts";
import { interpretResult } from "../../rego/evaluator.ts";

Deno.test("applies add, replace and remove without touching the input", () => {
  const doc = { pstate: { containers: { a: { index: 1 } } } };
  const out = applyPatch(doc, [
    { op: "add", path: "/pstate/sandbox_name", value: "web" },
    { op: "add", path: "/pstate/containers/b", value: { index: 2 } },
    { op: "replace", path: "/pstate/containers/a", value: { index: 3 } },
    { op: "remove", path: "/pstate/containers/b" },
  ]);
  assert.deepEqual(out, { pstate: { sandbox_name: "web", containers: { a: { index: 3 } } } });
  assert.deepEqual(doc, { pstate: { containers: { a: { index: 1 } } } });
});

Deno.test("unescapes JSON pointer tokens and handles arrays", () => {
  const out = applyPatch({ a: { "x/y": [1, 2] } }, [
    { op: "add", path: "/a/x~1y/-", value: 3 },
    { op: "remove", path: "/a/x~1y/0" },
  ]);
  assert.deepEqual(out, { a: { "x/y": [2, 3] } });
});

Deno.test("rejects removing or replacing what does not exist and missing parents", () => {
  assert.throws(() => applyPatch({}, [{ op: "remove", path: "/x" }]), ParseError);
  assert.throws(() => applyPatch({}, [{ op: "replace", path: "/x", value: 1 }]), ParseError);
  assert.throws(() => applyPatch({}, [{ op: "add", path: "/x/y", value: 1 }]), ParseError);
  assert.throws(() => applyPatch({ a: [] }, [{ op: "add", path: "/a/5", value: 1 }]), ParseError);
  assert.throws(() => parsePatch([{ op: "move", path: "/a", from: "/b" }]), /unsupported/);
  assert.throws(() => parsePatch([{ op: "add", path: "/a" }]), /missing/);
});

Deno.test("malformed rule results fail closed as denials", () => {
  assert.equal(interpretResult([]).allowed, false);
  assert.equal(interpretResult([{ result: true }]).allowed, false);
  assert.equal(interpretResult([{ result: { allowed: "yes", ops: [] } }]).allowed, false);
  assert.equal(
    interpretResult([{ result: { allowed: true, ops: [{ op: "bad" }] } }]).allowed,
    false,
  );
  assert.equal(interpretResult([{ result: { allowed: true, ops: [] } }]).allowed, true);
});

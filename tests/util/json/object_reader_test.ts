import assert from "node:assert/strict";
import { IssueList, ObjectReader } from "../../../util/json/mod.ts";
import { InvalidDocumentError } from "../../../util/errors/mod.ts";

Deno.test("ObjectReader reports every problem with its JSON path, unknown fields included", () => {
  const issues = new IssueList();
  const r = new ObjectReader(
    { A: "x", B: 300, C: "zz", D: [1, "two"], E: { F: true, G: 1 }, Extra: 1 },
    "Root",
    issues,
  );
  assert.equal(r.string("A"), "x");
  assert.equal(r.integer("B", { min: 0, max: 255 }), undefined);
  assert.equal(r.hex("C"), undefined);
  r.array("D", (v, p) => typeof v === "number" ? v : void issues.add(p, "not a number"));
  r.object("E", (e) => e.boolean("F"));
  r.string("Missing");
  r.finish();
  const paths = issues.issues.map((i) => i.path);
  assert.deepEqual(paths, [
    "Root.B",
    "Root.C",
    "Root.D[1]",
    "Root.E.G",
    "Root.Missing",
    "Root.Extra",
  ]);
  assert.match(issues.issues[0]!.reason, /expected an integer 0–255, got 300/);
  assert.throws(() => issues.throwIfAny(), InvalidDocumentError);
});

Deno.test("ObjectReader rejects a non-object and hex of the wrong length", () => {
  const issues = new IssueList();
  const r = new ObjectReader([], "X", issues);
  assert.equal(r.ok, false);
  const r2 = new ObjectReader({ H: "abcd" }, "Y", issues);
  assert.equal(r2.hex("H", 4), undefined);
  assert.deepEqual(issues.issues.map((i) => i.path), ["X", "Y.H"]);
});

Deno.test("ObjectReader reads own keys only: Object.prototype's names are missing fields", () => {
  const issues = new IssueList();
  const reader = new ObjectReader(JSON.parse('{"a": 1}'), "doc", issues);
  for (const key of ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"]) {
    assert.equal(reader.has(key), false, key);
    assert.equal(reader.raw(key, false), undefined, key);
  }
  assert.equal(reader.string("toString"), undefined);
  assert.deepEqual(
    issues.issues.map((i) => [i.path, i.reason]),
    [["doc.toString", "required field is missing"]],
  );
  // A document that does carry such a key (JSON.parse makes it an own property) is read as data.
  const own = new ObjectReader(JSON.parse('{"constructor": "x"}'), "", new IssueList());
  assert.equal(own.has("constructor"), true);
  assert.equal(own.string("constructor"), "x");
});

/**
 * Byte order marks at line starts, against what kubectl reads. The expected values are what
 * apimachinery v0.37.2's `YAMLOrJSONDecoder` (kubectl's resource builder reads files with it;
 * go.yaml.in/yaml/v2 v2.4.4 underneath) printed for each text as JSON, measured 2026-12-07 with a
 * small Go program over the module cache `tools/kube` builds from: a BOM right after a `---` line
 * that ends a document is dropped; anywhere else at a line start it is text (or an error).
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { separatorBoms } from "../../../util/yaml/separator_boms.ts";

const B = "\uFEFF";

/** Text, and kubectl's documents (JSON) or `refused` where generate refuses the BOM. */
const CASES: readonly [string, string, readonly unknown[] | "refused"][] = [
  ["after a separator", `a: 1\n---\n${B}b: 2\n`, [{ a: 1 }, { b: 2 }]],
  ["after a separator with a comment", `a: 1\n--- # c\n${B}b: 2\n`, [{ a: 1 }, { b: 2 }]],
  ["after a separator with spaces", `a: 1\n---   \n${B}b: 2\n`, [{ a: 1 }, { b: 2 }]],
  ["after a separator, CRLF", `a: 1\r\n---\r\n${B}b: 2\r\n`, [{ a: 1 }, { b: 2 }]],
  ["before a document of two keys", `a: 1\n---\n${B}b: 2\nc: 3\n`, [{ a: 1 }, { b: 2, c: 3 }]],
  ["before a nested map", `a: 1\n---\n${B}b:\n  c: 3\nd: 4\n`, [{ a: 1 }, {
    b: { c: 3 },
    d: 4,
  }]],
  ["before an indented map", `a: 1\n---\n${B}  b: 2\n  c: 3\n`, [{ a: 1 }, { b: 2, c: 3 }]],
  ["before a sequence", `a: 1\n---\n${B}- 1\n- 2\n`, [{ a: 1 }, [1, 2]]],
  ["before a flow map", `a: 1\n---\n${B}{"b": 2}\n`, [{ a: 1 }, { b: 2 }]],
  ["before a comment line", `a: 1\n---\n${B}# c\nb: 2\n`, [{ a: 1 }, { b: 2 }]],
  ["at the start of the file", `${B}a: 1\n`, [{ a: 1 }]],
  ["at the start of the file, before ---", `${B}---\na: 1\n`, [{ a: 1 }]],
  // Refused. kubectl reads these BOMs as text ({"\uFEFFb": 2}) or fails on them:
  ["after the stream's first ---", `---\n${B}b: 2\n`, "refused"],
  ["after a blank line after ---", `a: 1\n---\n\n${B}b: 2\n`, "refused"],
  ["after a comment line after ---", `a: 1\n---\n# x\n${B}b: 2\n`, "refused"],
  ["inside a document", `a: 1\n${B}b: 2\n`, "refused"],
  ["before an indented key", `a:\n  x: 1\n${B}  b: 2\n`, "refused"],
  ["before ---", `a: 1\n${B}---\nb: 2\n`, "refused"],
  ["after two separators", `a: 1\n---\n---\n${B}b: 2\n`, "refused"],
  // Refused though kubectl reads {"b": 2}: the line after the BOM is not what a reader of the
  // file sees (a `---` kubectl's splitter does not take for a separator; a second BOM that
  // go-yaml drops one column in, which shifts an indented document).
  ["after --- before ---", `a: 1\n---\n${B}---\nb: 2\n`, "refused"],
  ["two after a separator", `a: 1\n---\n${B}${B}b: 2\n`, "refused"],
];

Deno.test("a BOM after a --- separator is dropped as kubectl drops it; one elsewhere at a line start is refused", () => {
  for (const [name, text, expected] of CASES) {
    const { text: read, issues } = separatorBoms("app.yml", text);
    if (expected === "refused") {
      assert.equal(issues.length, 1, name);
      assert.match(issues[0]!.path, /^app\.yml:\d+:\d$/, name);
      assert.match(issues[0]!.reason, /byte order mark \(U\+FEFF\)/, name);
      continue;
    }
    assert.deepEqual(issues, [], name);
    const docs = parseAllDocuments(read, { version: "1.1" });
    assert.ok(Array.isArray(docs), name);
    assert.deepEqual(docs.map((d) => d.toJS()).filter((v) => v !== null), expected, name);
  }
});

Deno.test("separatorBoms names line and column and leaves BOM-free text as it is", () => {
  assert.deepEqual(separatorBoms("app.yml", "a: 1\n---\nb: 2\n"), {
    text: "a: 1\n---\nb: 2\n",
    removed: 0,
    issues: [],
  });
  // Mid-line BOMs are text to both readers: left alone.
  assert.deepEqual(separatorBoms("app.yml", `a: ${B}x\n`).issues, []);
  const { issues } = separatorBoms("app.yml", `a: 1\n---\nb: 2\n${B}c: 3\n`);
  assert.equal(issues[0]!.path, "app.yml:4:1");
  assert.equal(
    separatorBoms("app.yml", `a: 1\n---\n${B}${B}b: 2\n`).issues[0]!.path,
    "app.yml:3:2",
  );
  assert.equal(separatorBoms("app.yml", `${B}${B}a: 1\n`).issues[0]!.path, "app.yml:1:2");
});

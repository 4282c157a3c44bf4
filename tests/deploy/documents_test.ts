import assert from "node:assert/strict";
import { parseYamlFile } from "../../deploy/documents.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";

const PLAIN = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n";

const LAUGHS = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"].concat(
  "bcdefghi".split("").map((c, i) =>
    `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`
  ),
).join("\n") + "\n";

function issuesOf(text: string): { path: string; reason: string }[] {
  try {
    parseYamlFile("in.yml", text);
  } catch (error) {
    assert.ok(error instanceof InvalidDocumentError);
    return [...error.issues];
  }
  assert.fail("no error");
}

Deno.test("parseYamlFile refuses alias bombs, cyclic aliases and bad merges after plain documents", () => {
  const cases: [string, RegExp][] = [
    [LAUGHS, /aliases expand more than/],
    ["self: &m {a: *m}\n", /anchor is used inside itself/],
    ["a: {<<: 5}\n", /Merge sources must be maps/],
  ];
  for (const [bad, reason] of cases) {
    // The plain documents around it are not checked (they cannot fail); the bad one is.
    const issues = issuesOf(`${PLAIN}---\n${bad}---\n${PLAIN}`);
    assert.equal(issues.length, 1, bad);
    assert.equal(issues[0]!.path, "in.yml[1]");
    assert.match(issues[0]!.reason, reason);
  }
});

Deno.test("parseYamlFile reads plain documents and ones with alias characters in strings", () => {
  const file = parseYamlFile("in.yml", `${PLAIN}---\na: "*not an alias* << !"\n`);
  assert.equal(file.docs.length, 2);
  assert.deepEqual(file.docs[1]!.toJS(), { a: "*not an alias* << !" });
});

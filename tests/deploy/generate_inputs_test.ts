/**
 * Inputs kubectl accepts that generate refused or modelled wrongly: each accepted one generates a
 * policy that `contrast policy check --mutate` passes (every legitimate request allowed, every
 * tampered one denied); each still refused is exit 2 naming file and field.
 */
import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { parseYamlDocuments } from "../../policy/check/inputs.ts";
import { generateAndCheck } from "../policy/check/generate_and_check.ts";
import { testGenerateOptions } from "./generate_options.ts";

const BOM = "\uFEFF";
const PASS =
  /^PASS: (\d+) pod\(s\), 0 legitimate request\(s\) denied, 0 weakness\(es\), 0 evaluation\(s\) aborted/m;

/** A confidential Pod named `name` with `extra` spec lines (two-space indented, before containers). */
function pod(name: string, extra = "", container = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: contrast-cc
${extra}  containers:
    - name: web
      image: "127.0.0.1:5000/web:1.0"
${container}`;
}

/** The issues generate's reading of `text` gives (asserting exit 2), or [] when it reads. */
async function refusal(text: string): Promise<{ path: string; reason: string }[]> {
  try {
    await generate([parseYamlFile("app.yml", text)], await testGenerateOptions());
  } catch (e) {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    assert.equal(exitCodeFor(e), 2);
    return [...e.issues];
  }
  return [];
}

Deno.test("a BOM right after a --- separator (concatenated files) is read as kubectl reads it; policy check passes", async () => {
  const yaml = `${pod("a")}---\n${BOM}${pod("b")}`;
  const { result, error, out } = await generateAndCheck("app.yml", yaml, "3");
  assert.equal(error, undefined, out);
  assert.equal(PASS.exec(out)?.[1], "2", out);
  assert.deepEqual(result.policies.map((p) => p.name), ["a", "b"]);
  // Written without the BOM (kubectl reads both alike); the second pod is the confidential one.
  assert.ok(!result.files[0]!.text.includes(BOM));
  assert.match(result.files[0]!.text, /---\napiVersion: v1\nkind: Pod\nmetadata:\n {2}name: b\n/);
  // policy check reads the input the same way.
  assert.deepEqual(
    parseYamlDocuments(yaml, "app.yml").map((d) => (d.value as { metadata: unknown }).metadata),
    [{ name: "a" }, { name: "b" }],
  );
});

Deno.test("a BOM elsewhere at a line start is refused (exit 2), naming file, line and column", async () => {
  for (
    const [text, path] of [
      [`---\n${BOM}${pod("a")}`, "app.yml:2:1"], // kubectl: key "\uFEFFapiVersion"
      [`${pod("a")}---\n\n${BOM}${pod("b")}`, "app.yml:12:1"],
      [pod("a", `${BOM}  hostname: h\n`), "app.yml:7:1"],
    ] as const
  ) {
    const issues = await refusal(text);
    assert.equal(issues[0]?.path, path, JSON.stringify(issues));
    assert.match(
      issues[0]!.reason,
      /^a byte order mark \(U\+FEFF\) at the start of a line: kubectl/,
    );
    assert.throws(
      () => parseYamlDocuments(text, "app.yml"),
      (e: Error) => e.message.includes(path),
    );
  }
});

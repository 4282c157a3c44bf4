import assert from "node:assert/strict";
import { InvalidDocumentError, ParseError } from "../../../util/errors/mod.ts";
import {
  checkJsonShape,
  checkJsonTextShape,
  duplicateKeyIssues,
  IssueList,
  MAX_DUPLICATE_ISSUES,
  MAX_ISSUES,
  parseJsonDocument,
  parseJsonText,
} from "../../../util/json/mod.ts";
import { childPath } from "../../../util/json/issues.ts";
import { Logger, MAX_LOG_VALUE_CHARS } from "../../../util/log/logger.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("duplicate keys are refused at their JSON path, at any depth", () => {
  assert.deepEqual(
    duplicateKeyIssues('{"a":1,"b":{"c":[{"x":1,"x":2}]},"a":3}').map((i) => i.path),
    [
      "b.c[0].x",
      "a",
    ],
  );
  assert.deepEqual(duplicateKeyIssues('{"a":{"k":1},"b":{"k":1}}'), []);
  assert.throws(
    () => parseJsonDocument(bytes('{"WorkloadOwnerPubKeys":[],"WorkloadOwnerPubKeys":["ab"]}')),
    (e: unknown) =>
      e instanceof InvalidDocumentError && e.issues[0]!.path === "WorkloadOwnerPubKeys" &&
      /duplicate key/.test(e.issues[0]!.reason),
  );
  assert.throws(
    () => parseJsonText('{"manifest":"a","manifest":"b"}', "body"),
    (e: unknown) => e instanceof InvalidDocumentError && e.issues[0]!.path === "body.manifest",
  );
  const many = `{${Array.from({ length: 50 }, () => '"k":0').join(",")}}`;
  const issues = duplicateKeyIssues(many);
  assert.equal(issues.length, MAX_DUPLICATE_ISSUES + 1);
  assert.match(issues.at(-1)!.reason, /29 more duplicate keys/);
});

Deno.test("the shape scan counts keys and depth outside strings only", () => {
  const limits = { maxKeys: 2, maxDepth: 2 };
  checkJsonShape(bytes('{"a":"x:y:z{{{[[[","b":[1]}'), limits, "body");
  checkJsonShape(bytes('{"a":"\\":\\"","b":0}'), limits, "body");
  assert.throws(
    () => checkJsonShape(bytes('{"a":0,"b":0,"c":0}'), limits, "body"),
    (e: unknown) =>
      e instanceof ParseError && e.field === "body" && /more than 2 object keys/.test(e.message),
  );
  assert.throws(() => checkJsonShape(bytes("[[[0]]]"), limits, "body"), /nested deeper than 2/);
});

Deno.test("the shape scan bounds separators (array elements) outside strings when asked", () => {
  const limits = { maxKeys: 2, maxDepth: 2, maxSeparators: 3 };
  checkJsonShape(bytes('{"a":[0,0,0],"b":",,,,,,"}'), limits, "body");
  assert.throws(
    () => checkJsonShape(bytes('{"a":["","","","",""]}'), limits, "body"),
    (e: unknown) =>
      e instanceof ParseError && e.field === "body" &&
      /more than 3 array elements and object members: refused before parsing/.test(e.message),
  );
  // Without the bound, separators are not counted (manifests and other documents).
  checkJsonShape(bytes(`[${Array(100).fill(0).join(",")}]`), { maxKeys: 0, maxDepth: 1 }, "x");
});

Deno.test("an issue list keeps at most MAX_ISSUES and counts the rest", () => {
  const list = new IssueList();
  for (let i = 0; i < MAX_ISSUES + 50; i++) list.add(`f${i}`, "unknown field");
  assert.equal(list.issues.length, MAX_ISSUES);
  assert.equal(list.omitted, 50);
  assert.throws(
    () => list.throwIfAny(),
    (e: unknown) =>
      e instanceof InvalidDocumentError && e.issues.length === MAX_ISSUES + 1 &&
      /50 more problems not listed/.test(e.issues.at(-1)!.reason) && e.message.length < 2000,
  );
});

Deno.test("log lines cut long values and say how long they were", () => {
  const lines: string[] = [];
  const log = new Logger("t", { format: "json", sink: (l) => lines.push(l) });
  log.warn("x".repeat(10_000), { reason: "y".repeat(1_000_000) });
  assert.ok(lines[0]!.length < 3 * MAX_LOG_VALUE_CHARS, `${lines[0]!.length}`);
  assert.match(lines[0]!, /1000000 characters, cut/);
});

Deno.test("duplicate keys: escapes, arrays, strings that look like structure, root prefix", () => {
  const paths = (text: string, root = "") => duplicateKeyIssues(text, root).map((i) => i.path);
  assert.deepEqual(paths('{"a\\"b":1,"a\\"b":2}'), ['"a\\"b"']);
  assert.deepEqual(paths('{"\\u0061":1,"a":2}'), ["a"], "escaped and plain spellings are one key");
  assert.deepEqual(paths('{"a\\\\":1,"a":2}'), [], "a\\\\ is not a");
  assert.deepEqual(paths('[[{"x":1,"x":1}],{"y":[{"z":0,"z":0}]}]'), ["[0][0].x", "[1].y[0].z"]);
  assert.deepEqual(paths('{"a":[1,2,{"b":1}],"a":2}'), ["a"]);
  assert.deepEqual(paths('{"s":"\\"k\\":{\\"k\\":1,","k":1,"s2":"}]","k":2}'), ["k"]);
  assert.deepEqual(paths(' { "k" : 1 , "k" : 2 } ', "body"), ["body.k"]);
  assert.deepEqual(paths('{"k":{},"k":[]}'), ["k"]);
  assert.deepEqual(paths('"just a string"'), []);
  assert.deepEqual(paths('{"unterminated'), [], "not JSON: no loop, no throw");
});

Deno.test("duplicate keys: the scan agrees with jsonc-parser's visitor on random documents", async () => {
  const { visit } = await import("jsonc-parser");
  const oracle = (text: string): string[] => {
    const open: Set<string>[] = [];
    const found: string[] = [];
    visit(text, {
      onObjectBegin: () => void open.push(new Set()),
      onObjectEnd: () => void open.pop(),
      onObjectProperty: (property, _o, _l, _line, _c, pathSupplier) => {
        const keys = open.at(-1)!;
        if (keys.has(property)) {
          found.push([...pathSupplier(), property].reduce<string>((p, k) => childPath(p, k), ""));
        } else keys.add(property);
      },
    });
    return found;
  };
  let seed = 18;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const KEYS = ["a", "b", "a b", 'q"', "\\u0061", "{", ":"];
  const value = (depth: number): string => {
    const pick = random(depth > 3 ? 3 : 6);
    if (pick === 0) return String(random(100));
    if (pick === 1) return JSON.stringify(`s${'{}[],:"\\'.charAt(random(8))}`);
    if (pick === 2) return "null";
    if (pick === 3) {
      return `[${Array.from({ length: random(4) }, () => value(depth + 1)).join(", ")}]`;
    }
    return `{${
      Array.from({ length: random(5) }, () => {
        const key = KEYS[random(KEYS.length)]!;
        const spelled = key === "\\u0061" ? key : JSON.stringify(key).slice(1, -1);
        return `"${spelled}" : ${value(depth + 1)}`;
      }).join(",")
    }}`;
  };
  let withDuplicates = 0;
  for (let n = 0; n < 400; n++) {
    const text = value(0);
    JSON.parse(text); // the generator makes valid JSON
    const expected = oracle(text).slice(0, MAX_DUPLICATE_ISSUES);
    if (expected.length > 0) withDuplicates++;
    const actual = duplicateKeyIssues(text).filter((i) => !/more duplicate keys/.test(i.reason));
    assert.deepEqual(
      actual.map((i) => i.path || "(root)"),
      expected.map((p) => p || "(root)"),
      text,
    );
  }
  assert.ok(withDuplicates > 50, `only ${withDuplicates} documents had duplicates`);
});

/** The scan as it was first written (a loop over every byte): what the faster scans must match. */
function referenceShape(
  bytes: Uint8Array,
  limits: { maxKeys: number; maxDepth: number; maxSeparators?: number },
): string | undefined {
  let keys = 0, depth = 0, separators = 0, inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x3a && ++keys > limits.maxKeys) return "keys";
    else if (b === 0x2c && ++separators > (limits.maxSeparators ?? Infinity)) return "separators";
    else if ((b === 0x7b || b === 0x5b) && ++depth > limits.maxDepth) return "depth";
    else if (b === 0x7d || b === 0x5d) depth--;
  }
  return undefined;
}

function refusal(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ParseError && e.field === "f");
    return /object keys/.test(e.message)
      ? "keys"
      : /separators|array elements/.test(e.message)
      ? "separators"
      : /nested/.test(e.message)
      ? "depth"
      : e.message;
  }
}

Deno.test("the shape scans of bytes and of text agree with a byte-by-byte scan, escapes and unterminated strings included", () => {
  const alphabet = ['"', "\\", ":", ",", "{", "}", "[", "]", "a", " ", "é"];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const limits = { maxKeys: 4, maxDepth: 3, maxSeparators: 5 };
  const fixed = [
    '{"a\\"":1}',
    '{"a\\\\":{"b":[1,2]}}',
    '"\\\\\\":::::"',
    '"unterminated :::::',
    '{"x":"\\\\"}:::::',
  ];
  const texts = [...fixed];
  for (let n = 0; n < 3000; n++) {
    let t = "";
    const length = Math.floor(next() * 24);
    for (let i = 0; i < length; i++) t += alphabet[Math.floor(next() * alphabet.length)];
    texts.push(t);
  }
  for (const text of texts) {
    const expected = referenceShape(bytes(text), limits);
    assert.equal(refusal(() => checkJsonShape(bytes(text), limits, "f")), expected, text);
    assert.equal(refusal(() => checkJsonTextShape(text, limits, "f")), expected, text);
  }
});

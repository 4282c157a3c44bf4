import assert from "node:assert/strict";
import { InvalidDocumentError, ParseError } from "../../../util/errors/mod.ts";
import {
  checkJsonShape,
  duplicateKeyIssues,
  IssueList,
  MAX_DUPLICATE_ISSUES,
  MAX_ISSUES,
  parseJsonDocument,
  parseJsonText,
} from "../../../util/json/mod.ts";
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

import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../../util/errors/mod.ts";
import { parseJsonDocument } from "../../../util/json/parse_document.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("parseJsonDocument reads UTF-8 JSON", () => {
  assert.deepEqual(parseJsonDocument(bytes('{"a":[1,"é"]}')), { a: [1, "é"] });
});

Deno.test("parseJsonDocument rejects invalid UTF-8 and invalid JSON at (root)", () => {
  for (const input of [Uint8Array.of(0x7b, 0xff, 0x7d), bytes("{"), bytes("")]) {
    assert.throws(
      () => parseJsonDocument(input),
      (e) =>
        e instanceof InvalidDocumentError && e.issues.length === 1 &&
        e.issues[0]!.path === "(root)" && /not valid UTF-8 JSON/.test(e.issues[0]!.reason),
    );
  }
});

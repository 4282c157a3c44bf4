import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { parseRfc3339 } from "../../cli/rfc3339.ts";

Deno.test("parseRfc3339 reads date-times with a zone, in either letter case", () => {
  assert.equal(parseRfc3339("2025-06-19T11:32:27Z").toISOString(), "2025-06-19T11:32:27.000Z");
  assert.equal(
    parseRfc3339("2025-06-19t13:32:27.5+02:00").toISOString(),
    "2025-06-19T11:32:27.500Z",
  );
});

Deno.test("parseRfc3339 refuses times without a zone, seconds or a valid date, naming the flag", () => {
  for (
    const value of ["yesterday", "2025-06-19T11:32Z", "2025-06-19T11:32:27", "2025-13-45T99:00:00Z"]
  ) {
    assert.throws(
      () => parseRfc3339(value, "--at"),
      (e) => e instanceof ParseError && e.field === "--at",
      value,
    );
  }
});

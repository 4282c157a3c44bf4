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

Deno.test("parseRfc3339 refuses dates and times JavaScript would roll over instead of reading them", () => {
  // new Date() reads each of these as another time (2025-02-30 as 2025-03-02, 24:00 as the next
  // day): `--now` would verify at a time the user never named.
  for (
    const value of [
      "2025-02-29T00:00:00Z",
      "2025-02-30T00:00:00Z",
      "2025-04-31T12:00:00Z",
      "2025-06-19T24:00:00Z",
      "2025-06-19T23:59:60Z",
      "2025-06-19T13:32:27+24:00",
    ]
  ) {
    assert.throws(
      () => parseRfc3339(value),
      (e) => e instanceof ParseError && e.field === "--now" && /not a valid time/.test(e.reason),
      value,
    );
  }
  assert.equal(parseRfc3339("2024-02-29T23:59:59Z").toISOString(), "2024-02-29T23:59:59.000Z");
});

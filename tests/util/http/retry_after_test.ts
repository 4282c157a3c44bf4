import assert from "node:assert/strict";
import {
  describeRetryAfter,
  parseRetryAfter,
  retryAfterWaitMs,
} from "../../../util/http/retry_after.ts";

const NOW = Date.UTC(2026, 11, 7, 6, 0, 0); // Mon, 07 Dec 2026 06:00:00 GMT

Deno.test("Retry-After in seconds", () => {
  assert.deepEqual(parseRetryAfter("10", NOW), { kind: "seconds", seconds: 10 });
  assert.deepEqual(parseRetryAfter("0", NOW), { kind: "seconds", seconds: 0 });
  assert.deepEqual(parseRetryAfter(" \t120 ", NOW), { kind: "seconds", seconds: 120 });
  assert.equal(retryAfterWaitMs({ kind: "seconds", seconds: 10 }, NOW, 60_000), 10_000);
  assert.equal(describeRetryAfter({ kind: "seconds", seconds: 10 }), "in 10 s");
});

Deno.test("Retry-After as an HTTP-date in its three forms (RFC 9110 5.6.7)", () => {
  const at = Date.UTC(2026, 11, 7, 6, 0, 30);
  for (
    const text of [
      "Mon, 07 Dec 2026 06:00:30 GMT", // IMF-fixdate
      "Monday, 07-Dec-26 06:00:30 GMT", // obsolete RFC 850
      "Mon Dec  7 06:00:30 2026", // asctime
    ]
  ) {
    assert.deepEqual(parseRetryAfter(text, NOW), { kind: "date", epochMs: at }, text);
    assert.equal(retryAfterWaitMs(parseRetryAfter(text, NOW)!, NOW, 60_000), 30_000, text);
  }
  // A date in the past asks for no wait.
  const past = parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW)!;
  assert.equal(retryAfterWaitMs(past, NOW, 60_000), 0);
  // RFC 850's two-digit year more than 50 years ahead is the past century's.
  assert.deepEqual(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", NOW), {
    kind: "date",
    epochMs: Date.UTC(1994, 10, 6, 8, 49, 37),
  });
  // A leap second is the next second.
  assert.deepEqual(parseRetryAfter("Thu, 31 Dec 2026 23:59:60 GMT", NOW), {
    kind: "date",
    epochMs: Date.UTC(2027, 0, 1),
  });
  assert.equal(
    describeRetryAfter({ kind: "date", epochMs: at }),
    "after 2026-12-07T06:00:30.000Z",
  );
});

Deno.test("a Retry-After beyond the clamp waits the clamp (delay or date)", () => {
  assert.equal(retryAfterWaitMs(parseRetryAfter("86400", NOW)!, NOW, 60_000), 60_000);
  const huge = parseRetryAfter("9".repeat(400), NOW)!;
  assert.equal(huge.kind, "seconds");
  assert.equal(retryAfterWaitMs(huge, NOW, 60_000), 60_000);
  const farDate = parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", NOW)!;
  assert.equal(retryAfterWaitMs(farDate, NOW, 60_000), 60_000);
});

Deno.test("an unreadable Retry-After is ignored (undefined), never a wait", () => {
  for (
    const text of [
      "",
      "soon",
      "-1",
      "1.5",
      "10s",
      "+10",
      "0x10",
      "1e3",
      "10, 20",
      "2026-12-07T06:00:30Z", // ISO 8601 is not an HTTP-date
      "Mon, 07 Dec 2026 06:00:30 UTC", // only GMT
      "Mon, 7 Dec 2026 06:00:30 GMT", // IMF-fixdate has two-digit days
      "mon, 07 dec 2026 06:00:30 GMT", // names are case-sensitive
      "Mon, 31 Feb 2026 06:00:30 GMT", // no such day
      "Mon, 07 Dec 2026 24:00:00 GMT",
      "Mon, 07 Dec 2026 06:60:00 GMT",
      "Mon, 07 Dec 2026 06:00:30 GMT trailing",
      "Monday, 07-Dec-2026 06:00:30 GMT",
      "Mon Dec 07 06:00:30 2026 GMT",
    ]
  ) {
    assert.equal(parseRetryAfter(text, NOW), undefined, JSON.stringify(text));
  }
  assert.equal(parseRetryAfter(undefined, NOW), undefined);
  assert.equal(parseRetryAfter(null, NOW), undefined);
});

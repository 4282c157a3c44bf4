import assert from "node:assert/strict";
import { Logger } from "../../../util/log/logger.ts";
import { escapeLineText } from "../../../util/log/line_text.ts";

/** A control, line-separator or bidirectional formatting character left as it is. */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const UNESCAPED = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/;

function textLogger(lines: string[]): Logger {
  return new Logger("coordinator", {
    format: "text",
    sink: (l) => lines.push(l),
    now: () => new Date(0),
  });
}

const FORGED = "1970-01-01T00:00:00.000Z INFO  coordinator: manifest set by the owner";

Deno.test("text logs: a value carrying CR/LF cannot forge a log line", () => {
  const lines: string[] = [];
  const log = textLogger(lines);
  log.warn("refused request", { reason: `bad\n${FORGED}`, path: `/x\r\n${FORGED}` });
  log.warn("refused request", { reason: `bad\r${FORGED}` });
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.doesNotMatch(line, /[\r\n]/);
    assert.match(line, /^1970-01-01T00:00:00\.000Z WARN {2}coordinator: refused request /);
  }
  assert.match(lines[0]!, /reason="bad\\u000a1970/);
  assert.match(lines[0]!, /path="\/x\\u000d\\u000a1970/);
});

Deno.test("text logs: a message carrying a line break or terminal controls stays one line", () => {
  const lines: string[] = [];
  const log = textLogger(lines);
  log.error(`answer from impostor:\n${FORGED}\x1b[2K\u2028\u202e\x85`);
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, UNESCAPED);
  assert.match(lines[0]!, /impostor:\\u000a1970.*\\u001b\[2K\\u2028\\u202e\\u0085$/);
});

Deno.test("text logs: controls without whitespace, quotes and backslashes are quoted, escaped", () => {
  const lines: string[] = [];
  const log = textLogger(lines);
  log.info("m", {
    esc: "a\x1bb",
    nel: "a\x85b",
    ls: "a\u2028b",
    quote: 'a"b',
    slash: "a\\u000ab",
    eq: "a=b",
    empty: "",
    plain: "abc",
    n: 3,
    [`k\nfake`]: "v",
  });
  const line = lines[0]!;
  assert.doesNotMatch(line, UNESCAPED);
  assert.match(line, / esc="a\\u001bb"/);
  assert.match(line, / nel="a\\u0085b"/);
  assert.match(line, / ls="a\\u2028b"/);
  assert.match(line, / quote="a\\"b"/);
  // A literal backslash is doubled, so it never reads as an escape of a control character.
  assert.match(line, / slash="a\\\\u000ab"/);
  assert.match(line, / eq="a=b"/);
  assert.match(line, / empty=""/);
  assert.match(line, / plain=abc n=3 /);
  assert.match(line, / k\\u000afake=v$/);
});

Deno.test("escapeLineText leaves ordinary text (non-ASCII letters too) as it is", () => {
  for (const text of ["manifest set", "Überprüfung ✔ 证书", "a-b_c.d/e:f", ""]) {
    assert.equal(escapeLineText(text), text);
  }
  assert.equal(escapeLineText("a\tb\\c"), "a\\u0009b\\\\c");
});

Deno.test("JSON logs stay one line for the same hostile values", () => {
  const lines: string[] = [];
  const log = new Logger("c", { format: "json", sink: (l) => lines.push(l) });
  log.warn(`m\n${FORGED}`, { reason: `r\r\n${FORGED}` });
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, /[\r\n]/);
  const record = JSON.parse(lines[0]!);
  assert.equal(record.msg, `m\n${FORGED}`);
});

Deno.test("JSON logs: fields in order after the record's keys; one named like them replaces it", () => {
  const lines: string[] = [];
  const log = new Logger("c", {
    format: "json",
    sink: (l) => lines.push(l),
    now: () => new Date(0),
  });
  log.info("m", { b: 1, a: "x", skipped: undefined, none: null, ok: true, privateKey: "k" });
  assert.equal(
    lines[0],
    '{"time":"1970-01-01T00:00:00.000Z","level":"info","component":"c","msg":"m",' +
      '"b":1,"a":"x","ok":true,"privateKey":"[redacted]"}',
  );
  log.info("m", { msg: "other", z: 1 });
  assert.deepEqual(JSON.parse(lines[1]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    component: "c",
    msg: "other",
    z: 1,
  });
  assert.equal(lines[1]!.match(/"msg"/g)!.length, 1);
});

Deno.test("a sink learns each line's level", () => {
  const seen: string[] = [];
  const log = new Logger("c", { sink: (_line, level) => seen.push(level), level: "debug" });
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  assert.deepEqual(seen, ["debug", "info", "warn", "error"]);
});

Deno.test("the time of a line is what toISOString writes, at every millisecond and any year", () => {
  const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 1_765_000_000_123];
  times.push(253_402_300_799_999, 253_402_300_800_000, -62_198_755_200_001); // years 9999, 10000, -1
  for (let i = 0; i < 200; i++) times.push(Math.floor(Math.random() * 4e12) - 1e12);
  let current = new Date(0);
  const lines: string[] = [];
  const log = new Logger("c", { format: "json", sink: (l) => lines.push(l), now: () => current });
  for (const t of times) {
    current = new Date(t);
    log.info("m");
    assert.equal(JSON.parse(lines.at(-1)!).time, current.toISOString(), String(t));
    // The same second again (the cached part) and the next millisecond.
    current = new Date(t + 1);
    log.info("m");
    assert.equal(JSON.parse(lines.at(-1)!).time, current.toISOString(), String(t + 1));
  }
  // The default clock writes the current time.
  const plain: string[] = [];
  const before = Date.now();
  new Logger("c", { format: "json", sink: (l) => plain.push(l) }).info("m");
  const written = Date.parse(JSON.parse(plain[0]!).time);
  assert.ok(written >= before && written <= Date.now());
});

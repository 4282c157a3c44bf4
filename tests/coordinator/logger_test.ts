import assert from "node:assert/strict";
import { Logger } from "../../util/log/logger.ts";

Deno.test("JSON logs carry component, level, message and fields", () => {
  const lines: string[] = [];
  const log = new Logger("coordinator", {
    format: "json",
    sink: (l) => lines.push(l),
    now: () => new Date(0),
  });
  log.info("manifest set", { generation: 2, hash: "ab" });
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    component: "coordinator",
    msg: "manifest set",
    generation: 2,
    hash: "ab",
  });
});

Deno.test("never writes fields that look like secrets", () => {
  const lines: string[] = [];
  const log = new Logger("c", { sink: (l) => lines.push(l) }).child("mesh");
  log.warn("x", { workloadSecret: "s3cr3t", seed: "aa", seedShare: "bb", privateKey: "k" });
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, /s3cr3t|aa|bb|=k\b/);
  assert.match(lines[0]!, /c\.mesh:/);
});

Deno.test("drops records below the configured level", () => {
  const lines: string[] = [];
  const log = new Logger("c", { level: "warn", sink: (l) => lines.push(l) });
  log.debug("a");
  log.info("b");
  log.error("c");
  assert.equal(lines.length, 1);
});

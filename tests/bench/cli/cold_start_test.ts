import assert from "node:assert/strict";
import { parseReleaseVariant } from "../../../bench/cli/cold_start.ts";

Deno.test("--release DIR runs the release's CLI as the contrast:release task does", () => {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  assert.deepEqual(parseReleaseVariant("dist/release"), {
    dir: "dist/release",
    runFlags: config.tasks["contrast:release"]!.split(" ").slice(2, -1),
  });
});

Deno.test("--release DIR@FLAGS runs it with the given deno run options instead", () => {
  assert.deepEqual(parseReleaseVariant("/tmp/r@-A  --v8-flags=--no-lazy "), {
    dir: "/tmp/r",
    runFlags: ["-A", "--v8-flags=--no-lazy"],
  });
});

Deno.test("--release without a folder or with an empty flag list is refused", () => {
  assert.throws(() => parseReleaseVariant("@-A"), /give DIR or DIR@FLAGS/);
  assert.throws(() => parseReleaseVariant("dist/release@ "), /give DIR or DIR@FLAGS/);
});

import assert from "node:assert/strict";
import { parseReleaseVariant } from "../../../bench/cli/cold_start.ts";
import { RELEASE_RUN_FLAGS } from "../../../scripts/release.ts";

Deno.test("--release DIR runs the release's CLI with the flags the README gives", () => {
  assert.deepEqual(parseReleaseVariant("dist/release"), {
    dir: "dist/release",
    runFlags: RELEASE_RUN_FLAGS,
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

import assert from "node:assert/strict";
import process from "node:process";
import { meshProxyMain } from "../../meshproxy/main.ts";

Deno.test("meshproxy: --help exits 0, an unknown flag exits 2 (usage error)", async () => {
  const quiet = { out: process.stdout.write, err: process.stderr.write };
  // commander prints help and usage errors through process.stdout/stderr.
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  try {
    assert.equal(await meshProxyMain(["--help"]), 0);
    assert.equal(await meshProxyMain(["--no-such-flag"]), 2);
  } finally {
    process.stdout.write = quiet.out;
    process.stderr.write = quiet.err;
  }
});

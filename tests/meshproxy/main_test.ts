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

Deno.test("meshproxy: a bad limit flag or CONTRAST_MESH_LIMITS exits 1 before anything listens", async () => {
  const quiet = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  const before = Deno.env.get("CONTRAST_MESH_LIMITS");
  const base = ["--no-transparent", "--tls-config-dir", "/nonexistent", "--log-level", "error"];
  try {
    assert.equal(await meshProxyMain([...base, "--max-connections", "0"]), 1);
    assert.equal(await meshProxyMain([...base, "--idle-timeout-seconds", "soon"]), 1);
    assert.equal(
      await meshProxyMain([...base, "--max-connections", "5", "--max-handshakes", "6"]),
      1,
    );
    assert.equal(await meshProxyMain([...base, "--on-handshake-limit", "drop"]), 2);
    Deno.env.set("CONTRAST_MESH_LIMITS", "maxConnections=ten");
    assert.equal(await meshProxyMain(base), 1);
    // A flag's key overrides the variable's, and the merged set is cross-checked.
    Deno.env.set("CONTRAST_MESH_LIMITS", "maxConnections=5");
    assert.equal(await meshProxyMain([...base, "--max-handshakes", "6"]), 1);
  } finally {
    if (before === undefined) Deno.env.delete("CONTRAST_MESH_LIMITS");
    else Deno.env.set("CONTRAST_MESH_LIMITS", before);
    process.stdout.write = quiet.out;
    process.stderr.write = quiet.err;
  }
});

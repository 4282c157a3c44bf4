/**
 * What a CI step sees from `contrast verify`: one JSON document (`contrast-result/v1`) on stdout
 * for every outcome, the exit codes of the README's table, `--timeout` naming the address, and
 * `--workspace-dir` as the place of every default file.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

/** What one in-process run printed and returned. */
type Captured = Awaited<ReturnType<typeof runCliCaptured>>;

const run = runCliCaptured;

const SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("../../cli/result.schema.json", import.meta.url)),
);

// deno-lint-ignore no-explicit-any
function document(r: Captured): Record<string, any> {
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.schema, "contrast-result/v1");
  // The documented schema's required keys and enumerations hold.
  assert.deepEqual(Object.keys(doc).sort(), [...SCHEMA.required].sort());
  assert.ok(SCHEMA.properties.outcome.enum.includes(doc.outcome));
  assert.ok(SCHEMA.properties.exitCode.enum.includes(doc.exitCode));
  for (const key of doc.error === null ? [] : SCHEMA.$defs.error.required) {
    assert.equal(typeof doc.error[key], "string", `error.${key}`);
  }
  assert.equal(doc.exitCode, r.code);
  assert.equal(doc.ok, r.code === 0);
  return doc;
}

coordinatorWorkspaceTest(
  "verify --json: one document for success, mismatch, bad input, unreachable and recovery",
  async (t, ws, c) => {
    await c.setFirstManifest();

    await t.step("success: ok, result with the attested facts, error null", async () => {
      const r = await run("verify", "-c", c.userAddress, "--workspace-dir", ws.dir, "--json");
      assert.equal(r.code, 0, r.stderr);
      const doc = document(r);
      assert.equal(doc.command, "verify");
      assert.equal(doc.outcome, "ok");
      assert.equal(doc.error, null);
      assert.equal(doc.result.ok, true);
      assert.equal(doc.result.manifests, 1);
      assert.equal(doc.result.verifyDir, `${ws.dir}/verify`);
    });

    await t.step("a different local manifest: exit 1, result and expected/actual", async () => {
      const bytes = await Deno.readFile(`${ws.dir}/manifest.json`);
      bytes[bytes.indexOf(0x20)] = 0x09;
      await Deno.writeFile(`${ws.dir}/one-byte.json`, bytes);
      const r = await run(
        "verify",
        "-c",
        c.userAddress,
        "-w",
        ws.dir,
        "-m",
        `${ws.dir}/one-byte.json`,
        "--json",
      );
      assert.equal(r.code, 1);
      const doc = document(r);
      assert.equal(doc.outcome, "rejected");
      assert.equal(doc.error.type, "ValidationError");
      assert.equal(doc.error.field, "manifest");
      assert.equal(doc.error.expected, doc.result.localManifestSha256);
      assert.equal(doc.error.actual, doc.result.activeManifestSha256);
    });

    await t.step("a missing manifest or a directory in its place: exit 2 naming it", async () => {
      for (const manifest of [`${ws.dir}/missing.json`, ws.dir]) {
        const r = await run("verify", "-c", c.userAddress, "-m", manifest, "--json");
        assert.equal(r.code, 2, r.stderr);
        const doc = document(r);
        assert.equal(doc.outcome, "bad-input");
        assert.equal(doc.error.type, "ParseError");
        assert.equal(doc.error.field, manifest);
        assert.match(r.stderr, new RegExp(manifest.replaceAll("/", "\\/")));
      }
    });

    await t.step("a malformed manifest: exit 2, the error names the file", async () => {
      await Deno.writeTextFile(`${ws.dir}/broken.json`, "{");
      const r = await run("verify", "-c", c.userAddress, "-m", `${ws.dir}/broken.json`, "--json");
      assert.equal(r.code, 2);
      const doc = document(r);
      assert.equal(doc.error.file, `${ws.dir}/broken.json`);
      assert.match(r.stderr, /broken\.json/);
    });

    await t.step("a usage error: exit 2 with the document", async () => {
      const r = await run("verify", "--json");
      assert.equal(r.code, 2);
      assert.equal(document(r).error.field, "usage");
    });

    await t.step("a refused connection: exit 3 naming the address", async () => {
      const r = await run("verify", "-c", "127.0.0.1:1", "-w", ws.dir, "--json");
      assert.equal(r.code, 3);
      const doc = document(r);
      assert.equal(doc.outcome, "unavailable");
      assert.match(doc.error.reason, /127\.0\.0\.1:1/);
    });

    await t.step(
      "--timeout: a silent endpoint fails after that time, naming the address",
      async () => {
        // Accepts TCP connections and never answers (no TLS handshake).
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const address = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
        const held: Deno.Conn[] = [];
        const accepting = (async () => {
          for await (const conn of listener) held.push(conn);
        })();
        try {
          const started = performance.now();
          const r = await run(
            "verify",
            "-c",
            address,
            "-w",
            ws.dir,
            "--timeout",
            "500ms",
            "--json",
          );
          const elapsed = performance.now() - started;
          assert.equal(r.code, 3);
          const doc = document(r);
          assert.match(doc.error.reason, new RegExp(`${address.replaceAll(".", "\\.")}.*0\\.5 s`));
          assert.ok(elapsed >= 450 && elapsed < 10_000, `${elapsed} ms`);
          // A duration that is not one is bad input.
          const bad = await run("verify", "-c", address, "-w", ws.dir, "--timeout", "soon");
          assert.equal(bad.code, 2);
          assert.match(bad.stderr, /--timeout/);
        } finally {
          listener.close();
          await accepting.catch(() => {});
          for (const conn of held) conn.close();
        }
      },
    );

    await c.restart();

    await t.step("recovery mode: exit 3 for verify and for set alike", async () => {
      const verify = await run("verify", "-c", c.userAddress, "-w", ws.dir, "--json");
      assert.equal(verify.code, 3, verify.stderr);
      assert.match(document(verify).error.reason, /recover/);
      const set = await run("set", "-c", c.userAddress, "-w", ws.dir, ws.yamlPath);
      assert.equal(set.code, 3, set.stderr);
      assert.match(set.stderr, /recover/);
    });
  },
);

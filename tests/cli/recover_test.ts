import "reflect-metadata";
import assert from "node:assert/strict";
import { encodePem } from "../../util/bytes/mod.ts";
import { runCli } from "../../cli/main.ts";
import {
  coordinatorWorkspaceTest,
  setFirstManifestKept,
  workspaceCommand,
} from "./coordinator_workspace.ts";
import { generateRsaOaepKeys } from "../../testing/keys.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { parseResultDocument } from "../../testing/cli/result_schema.ts";

coordinatorWorkspaceTest(
  "contrast recover: restores the same root CA, from the file or the stored seed shares; refuses a key without a share, a bad file, and when not needed",
  async (t, ws, c) => {
    const args = (key = `${ws.dir}/seedshare-owner.pem`, seed = `${ws.dir}/seed-shares.json`) =>
      workspaceCommand("recover", ws, c, "--seedshare-owner-key", key, "--seed", seed);
    const r = await setFirstManifestKept(ws, c);

    await t.step("exit 2 when the Coordinator is not in recovery mode (--json too)", async () => {
      assert.equal(await runCli(args()), 2);
      const r = await runCliCaptured(...args(), "--json");
      assert.equal(r.code, 2);
      const doc = parseResultDocument(r.stdout);
      assert.equal(doc.command, "recover");
      assert.equal(doc.outcome, "bad-input");
      assert.match(doc.error.reason, /not in recovery mode/);
    });

    await c.restart();
    assert.equal(c.coordinator.phase, "recovery");

    await t.step("exit 1 for a seedshare key that has no share", async () => {
      const other = await generateRsaOaepKeys();
      await Deno.writeTextFile(
        `${ws.dir}/other.pem`,
        encodePem(
          "PRIVATE KEY",
          new Uint8Array(await crypto.subtle.exportKey("pkcs8", other.privateKey)),
        ),
      );
      assert.equal(await runCli(args(`${ws.dir}/other.pem`)), 1);
      assert.equal(c.coordinator.phase, "recovery");
    });

    await t.step("recovers with the owner's share; the root CA is unchanged (--json)", async () => {
      const recovered = await runCliCaptured(...args(), "--json");
      assert.equal(recovered.code, 0, recovered.stderr);
      const doc = parseResultDocument(recovered.stdout);
      assert.equal(doc.command, "recover");
      assert.deepEqual(
        { ...doc.result, latestTransition: undefined },
        {
          recovered: true,
          platform: doc.result.platform,
          manifests: 1,
          latestTransition: undefined,
          rootCa: "unchanged",
        },
      );
      assert.match(doc.result.latestTransition, /^[0-9a-f]{64}$/);
      assert.equal(c.coordinator.phase, "active");
      const after = await runCli([
        "verify",
        "-c",
        c.userAddress,
        "-m",
        `${ws.dir}/manifest.json`,
        "-w",
        ws.dir,
      ]);
      assert.equal(after, 0);
      assert.equal(
        await Deno.readTextFile(`${ws.dir}/verify/coordinator-root-ca.pem`),
        r.rootCa,
      );
    });

    await c.restart();
    await t.step(
      "without seed-shares.json, recovers from the seed shares stored with the history",
      async () => {
        assert.equal(await runCli(args(undefined, `${ws.dir}/missing.json`)), 0);
        assert.equal(c.coordinator.phase, "active");
        assert.equal((await c.coordinator.attest({ nonce: new Uint8Array(32) })).rootCa, r.rootCa);
      },
    );

    await c.restart();
    await t.step("exit 2 when the seed file exists but is malformed", async () => {
      await Deno.writeTextFile(`${ws.dir}/bad.json`, "{");
      assert.equal(await runCli(args(undefined, `${ws.dir}/bad.json`)), 2);
      assert.equal(c.coordinator.phase, "recovery");
      // A misspelt field: the error names the file and the field.
      await Deno.writeTextFile(
        `${ws.dir}/typo.json`,
        (await Deno.readTextFile(`${ws.dir}/seed-shares.json`)).replace(
          '"SeedShares"',
          '"SeedShare"',
        ),
      );
      const typo = await runCliCaptured(...args(undefined, `${ws.dir}/typo.json`), "--json");
      assert.equal(typo.code, 2, typo.stderr);
      const error = parseResultDocument(typo.stdout).error;
      assert.equal(error.file, `${ws.dir}/typo.json`);
      assert.ok(typo.stderr.includes(`invalid document ${ws.dir}/typo.json:`), typo.stderr);
      assert.match(typo.stderr, /SeedShare: unknown field/);
      assert.equal(c.coordinator.phase, "recovery");
      // A directory where the seed file belongs: exit 2 naming it, not an internal error.
      await Deno.mkdir(`${ws.dir}/seed-dir`);
      const dir = await runCliCaptured(...args(undefined, `${ws.dir}/seed-dir`));
      assert.equal(dir.code, 2, dir.stderr);
      assert.ok(dir.stderr.includes(`${ws.dir}/seed-dir: is a directory`), dir.stderr);
    });
  },
);

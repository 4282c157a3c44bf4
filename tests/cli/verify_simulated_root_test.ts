/**
 * `contrast verify` against a Coordinator whose evidence chains to a simulated root (the local
 * manifest's `Simulated-SNP` entry names it): no real TEE was attested, since whoever holds that
 * root's key makes such evidence. An auditor must be able to tell from the verdict, in text and
 * JSON; before, both said only "snp".
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest, workspaceCommand } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast verify: says when the Coordinator was attested under a simulated root",
  async (_t, ws, c) => {
    await c.setFirstManifest();
    const manifest = JSON.parse(await Deno.readTextFile(`${ws.dir}/manifest.json`));
    const entry = manifest.ReferenceValues.snp[0];
    assert.equal(entry.Platform, "Simulated-SNP", "the fixture deploys on simulated SNP");

    const json = await runCliCaptured(...workspaceCommand("verify", ws, c, "--json"));
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout).result;
    assert.equal(result.simulatedRoot, true);
    assert.equal(result.rootSha256, entry.SimulatedRootSHA256);
    assert.equal(result.debug, false, "the fixture's Coordinator permits no debugging");

    const text = await runCliCaptured(...workspaceCommand("verify", ws, c));
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout, /DEBUG/);
    assert.match(
      text.stdout,
      new RegExp(
        `Coordinator attested \\(snp, SIMULATED root sha256:${
          entry.SimulatedRootSHA256.slice(0, 16)
        }… \\(no real TEE\\)`,
      ),
    );
  },
);

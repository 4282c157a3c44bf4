import "reflect-metadata";
import assert from "node:assert/strict";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { coordinatorWorkspaceTest, workspaceCommand } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast verify: verify/ holds only what this run attested (no files of an earlier run)",
  async (_t, ws, c) => {
    await c.setFirstManifest();
    // What an earlier run against a longer history, or another Coordinator, left behind.
    await Deno.mkdir(`${ws.dir}/verify`, { recursive: true });
    await Deno.writeTextFile(`${ws.dir}/verify/manifest.1.json`, "{}");
    await Deno.writeTextFile(`${ws.dir}/verify/policy.${"ab".repeat(32)}.toml`, "");
    const r = await runCliCaptured(
      ...workspaceCommand("verify", ws, c),
    );
    assert.equal(r.code, 0, r.stderr);
    const names: string[] = [];
    for await (const e of Deno.readDir(`${ws.dir}/verify`)) names.push(e.name);
    assert.ok(names.includes("manifest.0.json"));
    assert.ok(!names.includes("manifest.1.json"), "a manifest this history does not have");
    assert.ok(!names.includes(`policy.${"ab".repeat(32)}.toml`), "a policy nobody attested");
    const leftovers: string[] = [];
    for await (const e of Deno.readDir(ws.dir)) {
      if (e.name.startsWith(".verify-")) leftovers.push(e.name);
    }
    assert.deepEqual(leftovers, [], "no temporary folder left");
  },
);

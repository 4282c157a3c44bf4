import "reflect-metadata";
import assert from "node:assert/strict";
import { runVerify } from "../../cli/commands/verify_run.ts";
import { runCli } from "../../cli/main.ts";
import { ValidationError, VerificationError } from "../../util/errors/mod.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

coordinatorWorkspaceTest(
  "contrast verify: writes verify/, passes only for the active manifest, refuses foreign evidence",
  async (t, ws, c) => {
    await t.step("fails before any manifest is set", async () => {
      const s = await runVerify({
        coordinator: c.userAddress,
        manifest: `${ws.dir}/manifest.json`,
        workspace: ws.dir,
      });
      assert.equal(s.ok, false);
      assert.equal(s.manifests, 0);
    });

    await c.setFirstManifest();

    await t.step(
      "writes manifests oldest first, policies, CAs and the latest transition",
      async () => {
        const s = await runVerify({
          coordinator: c.userAddress,
          manifest: `${ws.dir}/manifest.json`,
          workspace: ws.dir,
        });
        assert.equal(s.ok, true);
        assert.deepEqual(
          await Deno.readFile(`${ws.dir}/verify/manifest.0.json`),
          await Deno.readFile(`${ws.dir}/manifest.json`),
        );
        const files = [...Deno.readDirSync(`${ws.dir}/verify`)].map((e) => e.name).sort();
        assert.equal(files.filter((f) => f.startsWith("policy.")).length, 3);
        assert.ok(files.includes("coordinator-root-ca.pem") && files.includes("mesh-ca.pem"));
        assert.equal(
          (await Deno.readTextFile(`${ws.dir}/verify/latest-transition`)).trim(),
          s.latestTransition,
        );
      },
    );

    await t.step("exit 1 when the local manifest differs by one byte", async () => {
      const bytes = await Deno.readFile(`${ws.dir}/manifest.json`);
      bytes[bytes.indexOf(0x20)] = 0x09;
      await Deno.writeFile(`${ws.dir}/one-byte.json`, bytes);
      const code = await runCli([
        "verify",
        "-c",
        c.userAddress,
        "-m",
        `${ws.dir}/one-byte.json`,
        "-w",
        ws.dir,
      ]);
      assert.equal(code, 1);
    });

    await t.step(
      "refuses a Coordinator whose measurement the local manifest does not accept",
      async () => {
        await Deno.writeFile(
          `${ws.dir}/other-measurement.json`,
          ws.deployment.manifest((m) => {
            (m.ReferenceValues as { snp: Record<string, unknown>[] }).snp[0]!.TrustedMeasurement =
              "00".repeat(48);
          }),
        );
        await assert.rejects(
          runVerify({
            coordinator: c.userAddress,
            manifest: `${ws.dir}/other-measurement.json`,
            workspace: ws.dir,
          }),
          (e: unknown) => e instanceof ValidationError || e instanceof VerificationError,
        );
      },
    );
  },
);

coordinatorWorkspaceTest(
  "contrast verify: a workspace whose verify/ is a file is exit 2 naming it, before the network",
  async (_t, ws) => {
    await Deno.writeTextFile(`${ws.dir}/verify`, "not a folder");
    const errors: string[] = [];
    const error = console.error;
    console.error = (...parts: unknown[]) => errors.push(parts.join(" "));
    try {
      // Nothing listens on port 1: were the network tried first, this would be exit 3.
      const code = await runCli(["verify", "-c", "127.0.0.1:1", "-w", ws.dir]);
      assert.equal(code, 2, errors.join("\n"));
    } finally {
      console.error = error;
    }
    assert.match(errors.join("\n"), new RegExp(`${ws.dir}/verify is not a directory`));
    assert.equal(await Deno.readTextFile(`${ws.dir}/verify`), "not a folder");
  },
);

import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { runCli } from "../../cli/main.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = Deno.cwd();
  Deno.chdir(dir);
  try {
    return await fn();
  } finally {
    Deno.chdir(before);
  }
}

coordinatorWorkspaceTest(
  "contrast set: writes CAs and seed shares; refuses bad local input with exit 2/3",
  async (t, ws, c) => {
    await t.step("exit 2 when the manifest file is missing (bad input)", async () => {
      const code = await inDir(
        ws.dir,
        () => runCli(["set", "-c", c.userAddress, "-m", "missing.json", ws.yamlPath]),
      );
      assert.equal(code, 2);
    });

    await t.step("exit 2 when a resource's policy is not in the manifest", async () => {
      await Deno.writeFile(
        `${ws.dir}/partial.json`,
        ws.deployment.manifest((m) => {
          delete (m.Policies as Record<string, unknown>)[encodeHex(ws.deployment.pods.db.digest)];
        }),
      );
      const code = await inDir(
        ws.dir,
        () => runCli(["set", "-c", c.userAddress, "-m", "partial.json", ws.yamlPath]),
      );
      assert.equal(code, 2);
    });

    await t.step("exit 2 when a manifest policy has no resource in the YAML", async () => {
      await Deno.writeFile(
        `${ws.dir}/extra.json`,
        ws.deployment.manifest((m) => {
          (m.Policies as Record<string, unknown>)["cd".repeat(32)] = {
            SANs: ["x"],
            WorkloadSecretID: "",
            Role: "",
          };
        }),
      );
      const code = await inDir(
        ws.dir,
        () => runCli(["set", "-c", c.userAddress, "-m", "extra.json", ws.yamlPath]),
      );
      assert.equal(code, 2);
    });

    await t.step(
      "exit 1 when the Coordinator runs another policy than the manifest's",
      async () => {
        await Deno.writeFile(
          `${ws.dir}/swapped.json`,
          ws.deployment.manifest((m) => {
            const p = m.Policies as Record<string, { Role: string }>;
            p[encodeHex(ws.deployment.coordinator.digest)]!.Role = "";
            p[encodeHex(ws.deployment.pods.db.digest)]!.Role = "coordinator";
          }),
        );
        const code = await inDir(
          ws.dir,
          () => runCli(["set", "-c", c.userAddress, "-m", "swapped.json", ws.yamlPath]),
        );
        assert.equal(code, 1);
        assert.equal(c.coordinator.phase, "awaiting-manifest", "nothing was sent");
      },
    );

    await t.step("exit 3 when the Coordinator cannot be reached", async () => {
      const code = await inDir(ws.dir, () => runCli(["set", "-c", "127.0.0.1:1", ws.yamlPath]));
      assert.equal(code, 3);
    });

    await t.step("sets the manifest and writes the workspace files", async () => {
      const code = await inDir(ws.dir, () => runCli(["set", "-c", c.userAddress, ws.yamlPath]));
      assert.equal(code, 0);
      assert.equal(c.coordinator.phase, "active");
      assert.match(
        await Deno.readTextFile(`${ws.dir}/coordinator-root-ca.pem`),
        /BEGIN CERTIFICATE/,
      );
      assert.match(await Deno.readTextFile(`${ws.dir}/mesh-ca.pem`), /BEGIN CERTIFICATE/);
      const shares = JSON.parse(await Deno.readTextFile(`${ws.dir}/seed-shares.json`));
      assert.equal(shares.SeedShares.length, 1);
      assert.equal((await Deno.stat(`${ws.dir}/seed-shares.json`)).mode! & 0o777, 0o600);
    });
  },
);

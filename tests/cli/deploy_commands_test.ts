import assert from "node:assert/strict";
import { generateAppArgs, runContrast } from "../helpers/contrast_cli.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import { coordinatorYamlFor } from "../../cli/commands/coordinator.ts";
import { ParseError } from "../../util/errors/mod.ts";

Deno.test("contrast runtime for a platform without runtime handler: exit 2, names it, writes nothing", () =>
  withTempDir(async (dir) => {
    const r = await runContrast("runtime", "--platform", "Simulated-TDX", "-o", `${dir}/rt.yml`);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--platform: Simulated-TDX has no runtime handler/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));

Deno.test("contrast coordinator without an image lock: exit 3, says how to get one, writes nothing", () =>
  withTempDir(async (dir) => {
    const r = await runContrast(
      "coordinator",
      "--platform",
      "Metal-QEMU-SNP",
      "-o",
      `${dir}/c.yml`,
    );
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /no image lock: .*deno task images/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));

Deno.test("contrast coordinator with a malformed lock names the file and field", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/lock.json`,
      '{"version": 1, "images": {"coordinator": "x:1"}}',
    );
    const r = await runContrast(
      "coordinator",
      "--platform",
      "Metal-QEMU-SNP",
      "--image-lock",
      `${dir}/lock.json`,
      "-o",
      `${dir}/c.yml`,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${dir}/lock.json: images.coordinator`), r.stderr);
    assert.ok(r.stderr.includes(`${dir}/lock.json: images.initializer: required field is missing`));
    await assert.rejects(Deno.stat(`${dir}/c.yml`), Deno.errors.NotFound);
  }));

Deno.test("contrast generate without an image lock stops at the first pod that needs contrast's images", () =>
  withTempDir(async (dir) => {
    const yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: " +
      "contrast-cc\n  containers:\n    - {name: c, image: registry.example/app:1}\n";
    await Deno.writeTextFile(`${dir}/app.yml`, yaml);
    const r = await runContrast(
      ...generateAppArgs(dir),
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /initializer image comes from the image lock, and no lock names it/);
    // Spread over settings and documents, the problems are invalid input, not one "document".
    assert.match(r.stderr, /^error: invalid input:\n {2}settings: initializer.image: /);
    assert.equal(await Deno.readTextFile(`${dir}/app.yml`), yaml);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["app.yml"]);
  }));

Deno.test("contrast generate refuses --simulated-root naming Intel's real root: exit 2, nothing written", () =>
  withTempDir(async (dir) => {
    const yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: " +
      "contrast-cc\n  containers:\n    - {name: c, image: registry.example/app:1}\n";
    await Deno.writeTextFile(`${dir}/app.yml`, yaml);
    const r = await runContrast(
      "generate",
      "--reference-values",
      "Simulated-TDX",
      "--mrtd",
      "cd".repeat(48),
      "--simulated-root",
      INTEL_SGX_ROOT_CA_SHA256,
      "-w",
      dir,
      `${dir}/app.yml`,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--simulated-root: is the fingerprint of Intel SGX Root CA, a real vendor root/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/app.yml`), yaml);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["app.yml"]);
  }));

Deno.test("contrast coordinator refuses a --storage the API server would refuse (exit 2 naming it)", () =>
  withTempDir(async (dir) => {
    const digest = `sha256:${"ab".repeat(32)}`;
    await Deno.writeTextFile(
      `${dir}/lock.json`,
      JSON.stringify({
        version: 1,
        images: {
          "coordinator": `r.example/contrast/coordinator@${digest}`,
          "initializer": `r.example/contrast/initializer@${digest}`,
          "service-mesh-proxy": `r.example/contrast/service-mesh-proxy@${digest}`,
        },
      }),
    );
    const flags = (storage: string) => ({
      platform: "Metal-QEMU-SNP",
      namespace: "default",
      replicas: "1",
      storage,
      imageLock: `${dir}/lock.json`,
    });
    for (const bad of ["1Xi", "0", "0Gi", "-1Gi", "1 Gi", "Gi", "1Gi; x", "1.Gi.", "0e3"]) {
      await assert.rejects(
        coordinatorYamlFor(flags(bad), {}),
        (e: unknown) => e instanceof ParseError && e.field === "--storage",
        bad,
      );
    }
    for (const good of ["1Gi", "500Mi", "1.5Gi", "2e9", "10G", "0.5Ti", "+3Gi"]) {
      const yaml = await coordinatorYamlFor(flags(good), {});
      assert.ok(new RegExp(`storage: "?${RegExp.escape(good)}"?\n`).test(yaml), good);
    }
  }));

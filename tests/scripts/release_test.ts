import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ParseError } from "../../util/errors/mod.ts";
import { type ImageLock, parseImageLock } from "../../deploy/image_lock.ts";
import { checksums, writeRelease } from "../../scripts/release.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const LOCK: ImageLock = {
  version: 1,
  images: {
    coordinator: `registry.example.com/contrast/coordinator@sha256:${"1".repeat(64)}`,
    initializer: `registry.example.com/contrast/initializer@sha256:${"2".repeat(64)}`,
    "service-mesh-proxy": `registry.example.com/contrast/service-mesh-proxy@sha256:${
      "3".repeat(64)
    }`,
  },
};

async function run(cwd: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", ...args],
    cwd,
    env: { DENO_DIR: `${cwd}/deno-dir` },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test({
  name: "the release: CLI bundle with the lock embedded, runtime and Coordinator YAML, checksums",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const out = `${dir}/release`;
      const files = await writeRelease(out, LOCK, "Metal-QEMU-TDX", "apps");
      assert.deepEqual(files, [
        "SHA256SUMS",
        "contrast.js",
        "coordinator.yml",
        "images.lock.json",
        "runtime.yml",
      ]);
      const bytes: Record<string, Uint8Array> = {};
      for (const f of files.filter((f) => f !== "SHA256SUMS")) {
        bytes[f] = await Deno.readFile(`${out}/${f}`);
      }
      assert.equal(await Deno.readTextFile(`${out}/SHA256SUMS`), await checksums(bytes));
      assert.deepEqual(parseImageLock(bytes["images.lock.json"]!, "lock"), LOCK);
      const runtime = parseAllDocuments(await Deno.readTextFile(`${out}/runtime.yml`))[0]!.toJS();
      assert.equal(runtime.handler, "kata-qemu-tdx");
      const coordinator = await Deno.readTextFile(`${out}/coordinator.yml`);
      assert.ok(coordinator.includes(LOCK.images.coordinator));
      assert.ok(coordinator.includes("namespace: apps"));

      // The bundled CLI, alone in a folder, pins the embedded images.
      const alone = `${dir}/alone`;
      await Deno.mkdir(alone);
      await Deno.copyFile(`${out}/contrast.js`, `${alone}/contrast.js`);
      const version = await run(alone, ["contrast.js", "--version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /images \(embedded\):/);
      assert.ok(version.stdout.includes(LOCK.images.initializer));
      const yaml = await run(alone, ["contrast.js", "coordinator", "--platform", "Metal-QEMU-SNP"]);
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.ok(yaml.stdout.includes(LOCK.images.coordinator));
    }, { prefix: "contrast-release-" }),
});

Deno.test("a release for a platform without runtime handler fails and writes nothing", () =>
  withTempDir(async (dir) => {
    await assert.rejects(
      writeRelease(`${dir}/release`, LOCK, "Simulated-SNP", "default"),
      (e) => e instanceof ParseError && e.field === "--platform",
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));

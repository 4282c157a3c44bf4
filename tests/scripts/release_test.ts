import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { REPO_ROOT } from "../../scripts/images/bundle.ts";
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

Deno.test({
  name: "a release is the same bytes wherever it is built, and --lock rebuilds a published one",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      // Before, contrast.js named its temporary entry folder (random) and Deno's npm cache by
      // their path from the checkout: two builds of one commit never had the same SHA256SUMS.
      const first = `${dir}/first/release`;
      const second = `${dir}/second/deeper/release`;
      await writeRelease(first, LOCK, "Metal-QEMU-SNP", "apps");
      await writeRelease(second, LOCK, "Metal-QEMU-SNP", "apps");
      const sums = await Deno.readTextFile(`${first}/SHA256SUMS`);
      assert.equal(await Deno.readTextFile(`${second}/SHA256SUMS`), sums);
      const bundle = await Deno.readTextFile(`${first}/contrast.js`);
      const names = [...bundle.matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!);
      assert.ok(names.includes("cli/main.ts"), "module names are paths in the checkout");
      assert.deepEqual(names.filter((n) => n.startsWith("../") || n.startsWith("/")), []);

      // A user checks a downloaded release: the script around the published lock, nothing built
      // or pushed, writes the same SHA256SUMS.
      const published = `${dir}/downloaded-images.lock.json`;
      await Deno.copyFile(`${first}/images.lock.json`, published);
      const out = `${dir}/check`;
      const cmd = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${REPO_ROOT}scripts/release.ts`,
          "--lock",
          published,
          "--platform",
          "Metal-QEMU-SNP",
          "--namespace",
          "apps",
          "--out",
          out,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(cmd.code, 0, new TextDecoder().decode(cmd.stderr));
      assert.equal(await Deno.readTextFile(`${out}/SHA256SUMS`), sums);
    }, { prefix: "contrast-release-" }),
});

Deno.test("release --lock: a lock that is not digest-pinned, and --registry with --lock, exit 2", () =>
  withTempDir(async (dir) => {
    const lock = `${dir}/images.lock.json`;
    await Deno.writeTextFile(
      lock,
      JSON.stringify({
        version: 1,
        images: { ...LOCK.images, coordinator: "registry.example.com/contrast/coordinator:v1" },
      }),
    );
    const run = async (args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${REPO_ROOT}scripts/release.ts`, ...args, "--out", `${dir}/out`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const tag = await run(["--lock", lock]);
    assert.equal(tag.code, 2, tag.stderr);
    assert.match(tag.stderr, /images\.coordinator: must be pinned by digest only/);
    const both = await run(["--lock", lock, "--registry", "localhost:5000"]);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /either --registry or --lock/);
    const missing = await run(["--lock", `${dir}/none.json`]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /cannot read/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["images.lock.json"]);
  }));

Deno.test("a release build refuses to share the entry folder with another one", async () => {
  const entryDir = `${REPO_ROOT}.cache/release-entry`;
  await Deno.mkdir(entryDir, { recursive: true });
  try {
    await withTempDir(async (dir) => {
      await assert.rejects(
        writeRelease(`${dir}/release`, LOCK, "Metal-QEMU-SNP", "default"),
        (e) => e instanceof UnavailableError && e.field === entryDir,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });
  } finally {
    await Deno.remove(entryDir, { recursive: true });
  }
});

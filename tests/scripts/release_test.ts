import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { REPO_ROOT } from "../../scripts/images/bundle.ts";
import { parseImageLock } from "../../deploy/image_lock.ts";
import { writeRelease } from "../../scripts/release.ts";
import { checksums } from "../../scripts/release/sha256sums.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { filesBelow, TEST_LOCK as LOCK, withReleaseBuildLock } from "../helpers/release.ts";

/** {@link writeRelease} in its turn among the test files that build releases. */
const build = (...args: Parameters<typeof writeRelease>) =>
  withReleaseBuildLock(() => writeRelease(...args));

/** The `deno run` options of the `contrast:release` task: how the README runs the release. */
function releaseRunFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const words = config.tasks["contrast:release"]!.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.equal(words.at(-1), "dist/release/contrast/contrast.js");
  return words.slice(2, -1);
}

const RELEASE_RUN_FLAGS = releaseRunFlags();

async function run(cwd: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RELEASE_RUN_FLAGS, "--no-config", ...args],
    cwd,
    env: { DENO_DIR: `${cwd}/deno-dir` },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The chunks `entry` (a file in `dir`) imports statically, directly or not, itself included. */
function staticChunks(dir: string, entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const chunk = queue.shift()!;
    if (seen.has(chunk)) continue;
    seen.add(chunk);
    const text = Deno.readTextFileSync(`${dir}/${chunk}`);
    for (const m of text.matchAll(/^import\s(?:[^;"]*?\sfrom\s)?"\.\/([^"]+)";$/gm)) {
      queue.push(m[1]!);
    }
  }
  return seen;
}

/** The modules a bundle's chunks hold (`deno bundle` names each in a comment line). */
function modulesIn(dir: string, chunks: Iterable<string>): string[] {
  const names: string[] = [];
  for (const chunk of chunks) {
    const text = Deno.readTextFileSync(`${dir}/${chunk}`);
    names.push(...[...text.matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!));
  }
  return names;
}

Deno.test({
  name: "the release: CLI bundle with the lock embedded, runtime and Coordinator YAML, checksums",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const out = `${dir}/release`;
      const files = await build(out, LOCK, "Metal-QEMU-TDX", "apps");
      // Every file written, the CLI's chunks too, is listed and in SHA256SUMS.
      assert.deepEqual(files, filesBelow(out));
      const cli = files.filter((f) => f.startsWith("contrast/"));
      assert.ok(cli.includes("contrast/contrast.js"), "the CLI's entry module");
      assert.ok(cli.length > 10, `${cli.length} CLI files: not split`);
      assert.deepEqual(files.filter((f) => !f.startsWith("contrast/")), [
        "SHA256SUMS",
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

      // The commands are chunks of their own: what every run loads (the entry module and its
      // static imports) holds the lock and no command, verifier or npm package.
      const cliDir = `${out}/contrast`;
      const eager = staticChunks(cliDir, "contrast.js");
      const eagerModules = modulesIn(cliDir, eager);
      assert.ok(eagerModules.includes("cli/main.ts"), eagerModules.join(" "));
      assert.ok(eagerModules.some((m) => m.endsWith("images.lock.json")), "lock not embedded");
      const lazy = (m: string) =>
        m.startsWith("cli/commands/") || m.startsWith("tdx/") || m.startsWith("snp/") ||
        m.startsWith("node_modules/") || m === "cli/program.ts";
      assert.deepEqual(eagerModules.filter(lazy), []);
      // Nor does the TDX `evidence verify` path load a Node module: the bundler's helpers made
      // `require` through `node:module` in every process (TDX 56 against 40 ms CPU).
      const tdxPath = new Set(
        cli.map((f) => f.slice("contrast/".length))
          .filter((f) => /^(contrast|evidence|evidence_tdx)(-\w+)?\.js$/.test(f))
          .flatMap((f) => [...staticChunks(cliDir, f)]),
      );
      assert.ok(tdxPath.size > 5, [...tdxPath].join(" "));
      const nodeImports = [...tdxPath].filter((f) =>
        /^import\s[^;]*"node:/m.test(Deno.readTextFileSync(`${cliDir}/${f}`))
      );
      assert.deepEqual(nodeImports, []);
      const all = modulesIn(cliDir, cli.map((f) => f.slice("contrast/".length)));
      for (
        const m of ["cli/program.ts", "cli/commands/evidence_tdx.ts", "cli/commands/generate.ts"]
      ) {
        assert.ok(all.includes(m), `${m} is in no chunk`);
      }

      // The bundled CLI, alone in a folder, pins the embedded images.
      const alone = `${dir}/alone`;
      await Deno.mkdir(`${alone}/contrast`, { recursive: true });
      for (const f of cli) await Deno.copyFile(`${out}/${f}`, `${alone}/${f}`);
      const version = await run(alone, ["contrast/contrast.js", "--version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /images \(embedded\):/);
      assert.ok(version.stdout.includes(LOCK.images.initializer));
      const yaml = await run(alone, [
        "contrast/contrast.js",
        "coordinator",
        "--platform",
        "Metal-QEMU-SNP",
      ]);
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.ok(yaml.stdout.includes(LOCK.images.coordinator));
    }, { prefix: "contrast-release-" }),
});

Deno.test("a release for a platform without runtime handler fails and writes nothing", () =>
  withTempDir(async (dir) => {
    await assert.rejects(
      build(`${dir}/release`, LOCK, "Simulated-SNP", "default"),
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
      // The chunks' names are hashes of their content, so SHA256SUMS covers them too.
      const first = `${dir}/first/release`;
      const second = `${dir}/second/deeper/release`;
      await build(first, LOCK, "Metal-QEMU-SNP", "apps");
      await build(second, LOCK, "Metal-QEMU-SNP", "apps");
      const sums = await Deno.readTextFile(`${first}/SHA256SUMS`);
      assert.equal(await Deno.readTextFile(`${second}/SHA256SUMS`), sums);
      const chunks = filesBelow(`${first}/contrast`);
      const names = modulesIn(`${first}/contrast`, chunks);
      assert.ok(names.includes("cli/main.ts"), "module names are paths in the checkout");
      assert.ok(names.includes("cli/commands/evidence_tdx.ts"), "and those of the chunks");
      assert.deepEqual(names.filter((n) => n.startsWith("../") || n.startsWith("/")), []);

      // A user checks a downloaded release: the script around the published lock, nothing built
      // or pushed, writes the same SHA256SUMS.
      const published = `${dir}/downloaded-images.lock.json`;
      await Deno.copyFile(`${first}/images.lock.json`, published);
      const out = `${dir}/check`;
      const cmd = await withReleaseBuildLock(() =>
        new Deno.Command(Deno.execPath(), {
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
        }).output()
      );
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

Deno.test("a release build refuses to share the entry folder with another one", () =>
  // Holds the other test files' builds off while this one plays a build under way.
  withReleaseBuildLock(async () => {
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
  }));

Deno.test("the README runs the release's CLI as the contrast:release task does", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  assert.ok(
    readme.includes(
      `deno run ${RELEASE_RUN_FLAGS.join(" ")} \\\n    dist/release/contrast/contrast.js`,
    ),
    "README (Deploy, Release) names other flags or another entry module",
  );
});

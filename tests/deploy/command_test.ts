import assert from "node:assert/strict";
import { runCli } from "../../cli/main.ts";
import { ExitCode } from "../../cli/exit_codes.ts";
import { decodeHex } from "../../util/bytes/mod.ts";
import { readRsaPublicKey } from "../../manifest/public_keys.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { PUBLISHED_TDX_MODULES } from "../../tdx/published_modules.ts";
import { BARE_PODS_GENERATE_FLAGS } from "../helpers/contrast_cli.ts";
import { METAL_SNP_REFERENCE_FLAGS } from "../helpers/contrast_cli.ts";

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const error = console.error;
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.error = error;
  }
}

/** `generate --reference-values Metal-QEMU-TDX` with an MRTD and the four RTMRs (no MRSEAM). */
const TDX_GENERATE = [
  "generate",
  "--reference-values",
  "Metal-QEMU-TDX",
  "--mrtd",
  "cd".repeat(48),
  ...["--rtmr", "e0".repeat(48), "--rtmr", "e1".repeat(48)],
  ...["--rtmr", "e2".repeat(48), "--rtmr", "e3".repeat(48)],
];

/** The names directly in `dir` (not below), sorted, leaving out `except`. */
async function namesIn(dir: string, except: string[] = []): Promise<string[]> {
  const names = [];
  for await (const e of Deno.readDir(dir)) if (!except.includes(e.name)) names.push(e.name);
  return names.sort();
}

/** Runs `fn` in a temporary directory holding `app.yml`, a single ConfigMap (no workloads). */
function withAppDir(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/app.yml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    await fn(dir);
  });
}

Deno.test("contrast generate: usage errors exit with the bad-input code and write nothing", () =>
  withAppDir(async (dir) => {
    // Missing --reference-values.
    assert.equal(
      await quietly(() => runCli(["generate", "-w", dir, `${dir}/app.yml`])),
      ExitCode.BadInput,
    );
    // Unknown platform.
    assert.equal(
      await quietly(() =>
        runCli(["generate", "--reference-values", "Nope", "-w", dir, `${dir}/app.yml`])
      ),
      ExitCode.BadInput,
    );
    // A real platform without the measurement contrast cannot know.
    assert.equal(
      await quietly(() =>
        runCli(["generate", "--reference-values", "Metal-QEMU-SNP", "-w", dir, `${dir}/app.yml`])
      ),
      ExitCode.BadInput,
    );
    // A real TDX platform without the RTMRs (kernel, initrd, command line) contrast cannot know.
    const tdxWithoutRtmrs = ["generate", "--reference-values", "Metal-QEMU-TDX", "--mrtd"];
    const run = await runCliCaptured(
      ...tdxWithoutRtmrs,
      "cd".repeat(48),
      "-w",
      dir,
      `${dir}/app.yml`,
    );
    assert.equal(run.code, ExitCode.BadInput);
    assert.match(run.stderr, /ReferenceValues\.tdx\[0\]\.Rtmrs.*--rtmr/);
    // An unknown runtime profile, a namespace that is no DNS-1123 label.
    for (
      const extra of [
        ["--runtime", "crio"],
        ["--namespace", "Team_A"],
        ["-n", "-a"],
        ["--emptydir-mode", "plain"],
      ]
    ) {
      assert.equal(
        await quietly(() =>
          runCli([
            "generate",
            ...METAL_SNP_REFERENCE_FLAGS,
            ...extra,
            "-w",
            dir,
            `${dir}/app.yml`,
          ])
        ),
        ExitCode.BadInput,
      );
    }
    // A path that does not exist.
    assert.equal(
      await quietly(() =>
        runCli([
          "generate",
          ...METAL_SNP_REFERENCE_FLAGS,
          "-w",
          dir,
          `${dir}/missing.yml`,
        ])
      ),
      ExitCode.BadInput, // a missing input file is bad input, not an unavailable resource
    );
    assert.deepEqual(await namesIn(dir), ["app.yml"]);
  }));

Deno.test("contrast generate: a run without confidential workloads writes the manifest and owner keys, then re-runs byte-identically", () =>
  withAppDir(async (dir) => {
    const args = [
      ...TDX_GENERATE,
      "--mrseam",
      "5e".repeat(48),
      "-w",
      dir,
      `${dir}/app.yml`,
    ];
    assert.equal(await quietly(() => runCli(args)), ExitCode.Ok);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    assert.deepEqual(manifest.Policies, {});
    assert.equal(manifest.ReferenceValues.tdx[0].MrTd, "cd".repeat(48));
    // Contrast's TDX fields MrSeam (given) and Xfam (the platform default) are written.
    assert.equal(manifest.ReferenceValues.tdx[0].MrSeam, "5e".repeat(48));
    assert.equal(manifest.ReferenceValues.tdx[0].Xfam, "e702060000000000");
    // And the TD attributes Contrast's validator requires (only SEPT_VE_DISABLE).
    assert.equal(manifest.ReferenceValues.tdx[0].TdAttributes, "0000001000000000");
    assert.deepEqual(
      manifest.ReferenceValues.tdx[0].Rtmrs,
      ["e0", "e1", "e2", "e3"].map((b) => b.repeat(48)),
    );
    assert.equal(manifest.WorkloadOwnerPubKeys.length, 1);
    assert.equal(manifest.SeedshareOwnerPubKeys.length, 1);
    // Written in Edgeless Contrast's encoding: PKCS#1 RSAPublicKey DER.
    const seedshareKey = readRsaPublicKey(decodeHex(manifest.SeedshareOwnerPubKeys[0]));
    assert.ok(!("error" in seedshareKey) && seedshareKey.encoding === "pkcs1");
    assert.equal((await Deno.stat(`${dir}/workload-owner.pem`)).mode! & 0o777, 0o600);
    const before = await Deno.readTextFile(`${dir}/manifest.json`);
    // Without the flag the completed reference values of the existing manifest are kept.
    assert.equal(
      await quietly(() =>
        runCli(
          args.filter((a, i) =>
            !["--mrtd", "--rtmr", "--mrseam"].includes(a) &&
            !["--mrtd", "--rtmr", "--mrseam"].includes(args[i - 1]!)
          ),
        )
      ),
      ExitCode.Ok,
    );
    assert.equal(await Deno.readTextFile(`${dir}/manifest.json`), before);
    // --disable-updates would leave no owner key to sign the first manifest with: refused
    // (exit 2), and nothing is written.
    assert.equal(await quietly(() => runCli([...args, "--disable-updates"])), ExitCode.BadInput);
    assert.equal(await Deno.readTextFile(`${dir}/manifest.json`), before);
  }));

Deno.test("contrast generate: an output that cannot be written is exit 2 naming it, and no key or manifest is written", () =>
  withAppDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/out`, "a file, not a folder");
    const run = await runCliCaptured(
      "generate",
      "--reference-values",
      "Simulated-SNP",
      "--trusted-measurement",
      "ab".repeat(48),
      "--simulated-root",
      "12".repeat(32),
      "-w",
      dir,
      "-o",
      `${dir}/out`,
      `${dir}/app.yml`,
    );
    assert.equal(run.code, ExitCode.BadInput, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`${dir}/out/app.yml: cannot write: .*not a directory`),
    );
    assert.deepEqual(await namesIn(dir), ["app.yml", "out"]);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "a file, not a folder");
  }));

Deno.test("contrast generate: an existing manifest whose real TDX entry lacks Rtmrs is not kept; the error names --rtmr", () =>
  withAppDir(async (dir) => {
    const lax = {
      Policies: {},
      ReferenceValues: {
        snp: [],
        tdx: [{
          Platform: "Metal-QEMU-TDX",
          MrTd: "cd".repeat(48),
          MinTCBEvaluationDataNumber: 17,
        }],
      },
      WorkloadOwnerPubKeys: [],
      SeedshareOwnerPubKeys: [],
    };
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(lax));
    const before = await Deno.readTextFile(`${dir}/manifest.json`);
    const run = await runCliCaptured(
      "generate",
      "--reference-values",
      "Metal-QEMU-TDX",
      "-w",
      dir,
      `${dir}/app.yml`,
    );
    assert.equal(run.code, ExitCode.BadInput);
    assert.match(run.stderr, /ReferenceValues\.tdx\[0\]\.Rtmrs.*--rtmr/);
    // The error names the manifest the values were kept from.
    assert.ok(run.stderr.includes(`invalid document ${dir}/manifest.json:`), run.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/manifest.json`), before);
  }));

Deno.test("contrast generate: an unreachable registry exits 3 (unavailable) and writes nothing", () =>
  withTempDir(async (dir) => {
    // A port nothing listens on: the connection is refused at once.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const image = `127.0.0.1:${port}/app:1`;
    await Deno.writeTextFile(
      `${dir}/app.yml`,
      `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  runtimeClassName: contrast-cc\n` +
        `  containers: [{name: c, image: "${image}"}]\n`,
    );
    const run = await runCliCaptured(
      "generate",
      ...BARE_PODS_GENERATE_FLAGS,
      "--insecure-registry",
      `127.0.0.1:${port}`,
      "--cache-dir",
      `${dir}/cache`,
      "--timeout",
      "2s",
      "-w",
      dir,
      `${dir}/app.yml`,
    );
    assert.equal(run.code, ExitCode.Unavailable, run.stderr);
    assert.match(run.stderr, new RegExp(`cannot reach registry 127\\.0\\.0\\.1:${port}`));
    assert.deepEqual(await namesIn(dir, ["cache"]), ["app.yml"]);
  }));

Deno.test("contrast generate on real TDX: without --mrseam, one entry per TDX module whose MRSEAM Intel publishes; --mrseam takes a published version; an unknown one is exit 2 and writes nothing", () =>
  withAppDir(async (dir) => {
    const base = [...TDX_GENERATE, "-w"];
    assert.equal(
      await quietly(() => runCli([...base, `${dir}/a`, `${dir}/app.yml`])),
      ExitCode.Ok,
    );
    const a = JSON.parse(await Deno.readTextFile(`${dir}/a/manifest.json`));
    assert.deepEqual(
      a.ReferenceValues.tdx.map((e: { MrSeam: string }) => e.MrSeam),
      PUBLISHED_TDX_MODULES.map((m) => m.mrSeam),
    );
    assert.equal(
      await quietly(() =>
        runCli([
          ...base,
          `${dir}/b`,
          "--mrseam",
          "2.0.08",
          "--mrseam",
          "ab".repeat(48),
          `${dir}/app.yml`,
        ])
      ),
      ExitCode.Ok,
    );
    const b = JSON.parse(await Deno.readTextFile(`${dir}/b/manifest.json`));
    assert.deepEqual(b.ReferenceValues.tdx.map((e: { MrSeam: string }) => e.MrSeam), [
      PUBLISHED_TDX_MODULES.find((m) => m.version === "2.0.08")!.mrSeam,
      "ab".repeat(48),
    ]);
    assert.equal(
      await quietly(() => runCli([...base, `${dir}/c`, "--mrseam", "1.5.07", `${dir}/app.yml`])),
      ExitCode.BadInput,
    );
    await assert.rejects(Deno.stat(`${dir}/c/manifest.json`), Deno.errors.NotFound);
  }));

Deno.test("contrast generate: a manifest path that is a directory, or a workspace that is a file, is exit 2 naming it", () =>
  withAppDir(async (dir) => {
    await Deno.mkdir(`${dir}/mdir`);
    await Deno.writeTextFile(`${dir}/wsfile`, "a file");
    const common = [
      "generate",
      ...METAL_SNP_REFERENCE_FLAGS,
    ];
    const cases = [
      { args: ["-w", dir, "-m", `${dir}/mdir`], names: `${dir}/mdir: is a directory` },
      { args: ["-w", `${dir}/wsfile`], names: `${dir}/wsfile/` },
    ];
    for (const { args, names } of cases) {
      const run = await runCliCaptured(...common, ...args, `${dir}/app.yml`);
      assert.equal(run.code, ExitCode.BadInput, run.stderr);
      assert.ok(run.stderr.includes(names), run.stderr);
      assert.deepEqual(await namesIn(dir), ["app.yml", "mdir", "wsfile"]);
    }
  }));

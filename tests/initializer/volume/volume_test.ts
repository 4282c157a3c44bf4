import assert from "node:assert/strict";
import { encodeHex, sha256 } from "../../../util/bytes/mod.ts";
import { ParseError, UnavailableError, ValidationError } from "../../../util/errors/mod.ts";
import { Logger } from "../../../util/log/logger.ts";
import {
  dumpMetadataArgs,
  formatArgs,
  LUKS_FORMAT_PARAMETERS,
  openArgs,
  runCommand,
  testKeyArgs,
} from "../../../initializer/volume/cryptsetup.ts";
import { checkLuksMetadata } from "../../../initializer/volume/luks_metadata.ts";
import {
  deviceMapperAvailable,
  inspectDevice,
  openAndMount,
  prepareVolume,
  VolumeKeyMismatchError,
  type VolumeStep,
} from "../../../initializer/volume/open_volume.ts";
import { deriveVolumeKey, readWorkloadSecret } from "../../../initializer/volume/volume_key.ts";
import { volumeMain } from "../../../initializer/volume/main.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { goodLuksMetadata } from "../../../testing/luks_metadata.ts";

const hasCryptsetup = (await runCommand("cryptsetup", ["--version"]).catch(() => undefined))
  ?.code === 0;
const hasDeviceMapper = await deviceMapperAvailable();
if (!hasCryptsetup) {
  console.warn(
    "SKIPPING LUKS2 image tests: cryptsetup is not installed (scripts/install_tools.sh)",
  );
}
if (!hasDeviceMapper) {
  console.warn(
    "SKIPPING the open + mkfs + mount test: the kernel lists no device-mapper in /proc/misc on " +
      "this machine; format, header checks and key tests ran on file-backed images",
  );
}

const secretA = new Uint8Array(32).fill(0xa1);
const secretB = new Uint8Array(32).fill(0xb2);

function step(device: string, key: Uint8Array, logs: string[]): VolumeStep {
  return {
    device,
    key,
    run: runCommand,
    logger: new Logger("test", { format: "json", sink: (l) => logs.push(l) }),
  };
}

async function blankImage(dir: string, name = "pv.img"): Promise<string> {
  const path = `${dir}/${name}`;
  const file = await Deno.create(path);
  await file.truncate(32 * 1024 * 1024);
  file.close();
  return path;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function fileHash(path: string): Promise<string> {
  return encodeHex(await sha256(await Deno.readFile(path)));
}

async function overwrite(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true });
  await file.seek(offset, Deno.SeekMode.Start);
  await file.write(bytes);
  file.close();
}

Deno.test("volume key: HKDF of the workload secret per volume name; inputs checked", async () => {
  const a = await deriveVolumeKey(secretA, "data");
  assert.equal(a.length, 32);
  assert.deepEqual(await deriveVolumeKey(secretA, "data"), a);
  assert.notDeepEqual(await deriveVolumeKey(secretB, "data"), a, "another workload");
  assert.notDeepEqual(await deriveVolumeKey(secretA, "logs"), a, "another volume");
  assert.throws(() => deriveVolumeKey(new Uint8Array(16), "data"), /workloadSecret: expected 32/);
  assert.throws(() => deriveVolumeKey(secretA, "Bad_Name"), /volume: expected a Kubernetes/);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/s`, encodeHex(secretA) + "\n");
    assert.deepEqual(await readWorkloadSecret(`${dir}/s`), secretA);
    await Deno.writeTextFile(`${dir}/bad`, "xyz");
    await assert.rejects(readWorkloadSecret(`${dir}/bad`), ParseError);
    await assert.rejects(readWorkloadSecret(`${dir}/missing`), /WorkloadSecretID/);
  });
});

Deno.test("cryptsetup arguments: explicit LUKS2 parameters, key only on stdin", () => {
  assert.deepEqual(formatArgs("/dev/x"), [
    "luksFormat",
    "--batch-mode",
    "--type",
    "luks2",
    "--cipher",
    "aes-xts-plain64",
    "--key-size",
    "512",
    "--sector-size",
    "4096",
    "--hash",
    "sha256",
    "--pbkdf",
    "pbkdf2",
    "--pbkdf-force-iterations",
    "1000",
    "--key-file",
    "-",
    "/dev/x",
  ]);
  assert.equal(LUKS_FORMAT_PARAMETERS.length, 14);
  for (const args of [formatArgs("d"), testKeyArgs("d"), openArgs("d", "n", "h")]) {
    assert.deepEqual(args.slice(args.indexOf("--key-file"), args.indexOf("--key-file") + 2), [
      "--key-file",
      "-",
    ]);
  }
  assert.deepEqual(dumpMetadataArgs("d"), [
    "luksDump",
    "--type",
    "luks2",
    "--dump-json-metadata",
    "d",
  ]);
});

Deno.test("LUKS2 metadata: a header rewritten with weaker parameters is refused", () => {
  checkLuksMetadata(goodLuksMetadata());
  const cases: [string, (m: ReturnType<typeof goodLuksMetadata>) => void, RegExp][] = [
    [
      "cipher_null segment",
      (m) => (m.segments["0"].encryption = "cipher_null-ecb"),
      /segments\.0\.encryption/,
    ],
    [
      "integrity added",
      (m) => Object.assign(m.segments["0"], { integrity: { type: "hmac" } }),
      /integrity/,
    ],
    [
      "second segment",
      (m) => Object.assign(m.segments, { "1": m.segments["0"] }),
      /segments: expected one/,
    ],
    ["short key", (m) => (m.keyslots["0"].key_size = 32), /keyslots\.0\.key_size/],
    [
      "weak keyslot cipher",
      (m) => (m.keyslots["0"].area.encryption = "aes-cbc-plain"),
      /area\.encryption/,
    ],
    ["other kdf", (m) => (m.keyslots["0"].kdf.type = "argon2i"), /kdf\.type/],
    ["few iterations", (m) => (m.keyslots["0"].kdf.iterations = 1), /iterations/],
    [
      "keyslot iterations that stall every start",
      (m) => (m.keyslots["0"].kdf.iterations = 2 ** 32 - 1),
      /keyslots\.0\.kdf\.iterations: expected 1000/,
    ],
    [
      "digest iterations that stall every start",
      (m) => (m.digests["0"].iterations = 2 ** 31),
      /digests\.0\.iterations: expected 1000/,
    ],
    [
      "digest iterations missing",
      (m) => delete (m.digests["0"] as { iterations?: number }).iterations,
      /digests\.0\.iterations/,
    ],
    [
      "a second keyslot (each one tried on every start)",
      (m) => Object.assign(m.keyslots, { "1": m.keyslots["0"] }),
      /keyslots: expected one/,
    ],
    [
      "a second digest",
      (m) => Object.assign(m.digests, { "1": m.digests["0"] }),
      /digests: expected one/,
    ],
    ["token", (m) => Object.assign(m.tokens, { "0": { type: "x" } }), /tokens/],
    ["no keyslots", (m) => Object.assign(m, { keyslots: {} }), /keyslots/],
    ["digest hash", (m) => (m.digests["0"].hash = "sha1"), /digests\.0\.hash/],
  ];
  for (const [name, edit, reason] of cases) {
    const m = goodLuksMetadata();
    edit(m);
    assert.throws(() => checkLuksMetadata(m), (e: unknown) => {
      assert.ok(e instanceof ValidationError, name);
      assert.match(e.message, reason, name);
      return true;
    });
  }
  assert.throws(() => checkLuksMetadata([]), ValidationError);
});

Deno.test({
  name: "LUKS2 on a file image: first use formats, the derived key opens it, logs keep no key",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      const image = await blankImage(dir);
      const key = await deriveVolumeKey(secretA, "data");
      const logs: string[] = [];
      assert.equal(await inspectDevice(step(image, key, logs)), "blank");
      const first = await prepareVolume(step(image, key, logs));
      assert.equal(first.formatted, true);
      await first.removeHeaderCopy();
      assert.equal(await exists(first.header), false, "the header copy is removed");
      assert.equal(await inspectDevice(step(image, key, logs)), "luks");
      const dump = await runCommand("cryptsetup", dumpMetadataArgs(image));
      checkLuksMetadata(JSON.parse(dump.stdout));
      const before = await fileHash(image);
      const second = await prepareVolume(step(image, key, logs));
      assert.equal(second.formatted, false);
      await second.removeHeaderCopy();
      assert.equal(await fileHash(image), before, "second use changes nothing");
      const direct = await runCommand("cryptsetup", testKeyArgs(image), key);
      assert.equal(direct.code, 0, "cryptsetup --test-passphrase accepts the derived key");
      const text = logs.join("\n");
      assert.match(text, /first use/);
      for (const secret of [key, secretA]) {
        assert.doesNotMatch(text, new RegExp(encodeHex(secret)));
        assert.doesNotMatch(text, new RegExp(btoa(String.fromCharCode(...secret)).slice(0, 20)));
      }
    }),
});

Deno.test({
  name: "LUKS2 on a file image: another workload's key, a tampered keyslot or header, or " +
    "foreign data are refused and the image is left unchanged",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      const image = await blankImage(dir);
      const keyA = await deriveVolumeKey(secretA, "data");
      await (await prepareVolume(step(image, keyA, []))).removeHeaderCopy();
      const formatted = await fileHash(image);

      const keyB = await deriveVolumeKey(secretB, "data");
      await assert.rejects(prepareVolume(step(image, keyB, [])), (e: unknown) => {
        assert.ok(e instanceof VolumeKeyMismatchError);
        assert.match(e.message, /formatted with another key.*refusing to open or re-format/);
        return true;
      });
      assert.equal((await runCommand("cryptsetup", testKeyArgs(image), keyB)).code, 2);
      assert.equal(await fileHash(image), formatted, "nothing re-formatted");
      const otherVolume = await deriveVolumeKey(secretA, "logs");
      await assert.rejects(prepareVolume(step(image, otherVolume, [])), VolumeKeyMismatchError);

      const slot = `${dir}/slot.img`;
      await Deno.copyFile(image, slot);
      await overwrite(slot, 0x8000 + 100, new Uint8Array([0xff, 0x00, 0xff]));
      await assert.rejects(prepareVolume(step(slot, keyA, [])), VolumeKeyMismatchError);

      const header = `${dir}/header.img`;
      await Deno.copyFile(image, header);
      const x = new TextEncoder().encode("X");
      await overwrite(header, 0x1000 + 10, x); // primary JSON
      await overwrite(header, 0x5000 + 10, x); // secondary JSON
      const tampered = await fileHash(header);
      await assert.rejects(prepareVolume(step(header, keyA, [])), (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.match(e.message, /neither a LUKS2 volume nor blank: refusing to format/);
        return true;
      });
      assert.equal(await fileHash(header), tampered, "a destroyed header is not formatted over");

      const data = `${dir}/data.img`;
      await Deno.copyFile(await blankImage(dir, "blank2.img"), data);
      await overwrite(data, 4096, new TextEncoder().encode("someone's filesystem"));
      await assert.rejects(prepareVolume(step(data, keyA, [])), /neither a LUKS2 volume nor blank/);
    }),
});

Deno.test({
  name: "initializer volume subcommand: --check-only formats and verifies; another secret exits 1",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      const image = await blankImage(dir);
      await Deno.writeTextFile(`${dir}/a`, encodeHex(secretA));
      await Deno.writeTextFile(`${dir}/b`, encodeHex(secretB));
      const args = (secret: string) => [
        "--device",
        image,
        "--volume",
        "data",
        "--mount",
        `${dir}/state`,
        "--workload-secret",
        secret,
        "--check-only",
      ];
      assert.equal(await volumeMain(args(`${dir}/a`)), 0);
      assert.equal(await volumeMain(args(`${dir}/a`)), 0);
      assert.equal(await volumeMain(args(`${dir}/b`)), 1);
      const left = [];
      for await (const entry of Deno.readDir(dir)) left.push(entry.name);
      assert.deepEqual(
        left.filter((name) => name.startsWith("contrast-luks2-header-")),
        [],
        "the header copies (made beside the workload secret) are removed",
      );
      assert.equal(await volumeMain(["--device", image]), 2);
      assert.equal(await volumeMain([...args(`${dir}/a`).slice(0, -1)]), hasDeviceMapper ? 0 : 3);
    }),
});

Deno.test("openAndMount without device-mapper fails with UnavailableError", async () => {
  await assert.rejects(
    openAndMount(step("/dev/null", new Uint8Array(32), []), {
      mapperName: "x",
      mountPoint: "/tmp/x",
      header: "/nonexistent/header",
      miscPath: "/nonexistent/misc",
    }),
    (e: unknown) =>
      e instanceof UnavailableError && /device-mapper|control is missing/.test(e.message),
  );
});

Deno.test({
  name: "open, mkfs and mount a file-backed LUKS2 volume through a loop device",
  ignore: !hasCryptsetup || !hasDeviceMapper,
  fn: () =>
    withTempDir(async (dir) => {
      const image = await blankImage(dir);
      const loop = await runCommand("losetup", ["--find", "--show", image]);
      assert.equal(loop.code, 0, loop.stderr);
      const device = loop.stdout.trim();
      const key = await deriveVolumeKey(secretA, "data");
      const mapperName = `contrast-test-${crypto.randomUUID().slice(0, 8)}`;
      try {
        const prepared = await prepareVolume(step(device, key, []));
        await openAndMount(step(device, key, []), {
          mapperName,
          mountPoint: `${dir}/state`,
          header: prepared.header,
        });
        await prepared.removeHeaderCopy();
        await Deno.writeTextFile(`${dir}/state/hello`, "kept");
        assert.equal(await Deno.readTextFile(`${dir}/state/hello`), "kept");
      } finally {
        await runCommand("umount", [`${dir}/state`]);
        await runCommand("cryptsetup", ["close", mapperName]);
        await runCommand("losetup", ["-d", device]);
      }
    }),
});

Deno.test({
  name: "blank check: a device cmp cannot read is an error naming the device, not blank",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      await assert.rejects(
        inspectDevice(step(`${dir}/missing`, new Uint8Array(32), [])),
        (e: unknown) =>
          e instanceof ValidationError && e.field === "device" &&
          /reading the first MiB failed/.test(e.message),
      );
      const short = `${dir}/short.img`;
      await Deno.writeFile(short, new Uint8Array(4096));
      assert.equal(await inspectDevice(step(short, new Uint8Array(32), [])), "other");
    }),
});

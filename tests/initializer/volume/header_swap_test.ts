/**
 * The host serves the raw block device, so it can answer each read of the LUKS2 header with
 * different bytes: the checked header on the reads the volume step checks, another one on the
 * read `cryptsetup open` makes (the genuine keyslot with the data segment's cipher rewritten, e.g.
 * to `cipher_null`, so everything the pod writes lands in plaintext). What is opened must be the
 * header that was checked.
 *
 * `cryptsetup open` needs device-mapper, which this machine lacks: the hostile runner below runs
 * every other command for real and answers `open` with what it would map, read from the header
 * the command names (`--header`, else the device) and only if the key opens it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Logger } from "../../../util/log/logger.ts";
import { type CommandRunner, runCommand } from "../../../initializer/volume/cryptsetup.ts";
import { openAndMount, prepareVolume } from "../../../initializer/volume/open_volume.ts";
import { deriveVolumeKey } from "../../../initializer/volume/volume_key.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

const hasCryptsetup = (await runCommand("cryptsetup", ["--version"]).catch(() => undefined))
  ?.code === 0;
if (!hasCryptsetup) {
  console.warn("SKIPPING the LUKS2 header swap test: cryptsetup is not installed");
}

/** The LUKS2 header area (both JSON copies and the keyslots) of contrast's format: 16 MiB. */
const HEADER_BYTES = 16 * 1024 * 1024;

async function blankImage(path: string): Promise<string> {
  const file = await Deno.create(path);
  await file.truncate(32 * 1024 * 1024);
  file.close();
  return path;
}

async function segmentCipher(header: string): Promise<string> {
  const dump = await runCommand("cryptsetup", [
    "luksDump",
    "--type",
    "luks2",
    "--dump-json-metadata",
    header,
  ]);
  assert.equal(dump.code, 0, dump.stderr);
  const segments = JSON.parse(dump.stdout).segments as Record<string, { encryption: string }>;
  return Object.values(segments).map((s) => s.encryption).join(",");
}

Deno.test({
  name: "secure-pv: a LUKS2 header the host swaps in after the checks is not what opens",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      const key = await deriveVolumeKey(new Uint8Array(32).fill(0xa1), "data");
      const device = await blankImage(`${dir}/pv.img`);
      const logger = new Logger("t", { sink: () => {} });
      await (await prepareVolume({ device, key, run: runCommand, logger })).removeHeaderCopy();

      // The header the host serves to `open`: the same key, a data cipher the checks refuse
      // (standing in for the genuine keyslot with a rewritten segment, which needs no key).
      const swapped = await blankImage(`${dir}/swapped.img`);
      const format = await runCommand("cryptsetup", [
        "luksFormat",
        "--batch-mode",
        "--type",
        "luks2",
        "--cipher",
        "aes-cbc-essiv:sha256",
        "--key-size",
        "256",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
        "--key-file",
        "-",
        swapped,
      ], key);
      assert.equal(format.code, 0, format.stderr);
      const swappedHeader = (await Deno.readFile(swapped)).subarray(0, HEADER_BYTES);

      const opened: string[] = [];
      const hostile: CommandRunner = async (program, args, stdin) => {
        if (program === "cryptsetup" && args[0] === "open" && !args.includes("--test-passphrase")) {
          // The host answers this read with the swapped header.
          const file = await Deno.open(device, { write: true });
          await file.write(swappedHeader);
          file.close();
          const at = args.indexOf("--header");
          const header = at >= 0 ? args[at + 1]! : args.at(-2)!;
          const test = await runCommand(
            "cryptsetup",
            ["open", "--test-passphrase", "--type", "luks2", "--key-file", "-", header],
            stdin,
          );
          if (test.code !== 0) return test;
          opened.push(await segmentCipher(header));
          return { code: 0, stdout: "", stderr: "" };
        }
        if (program === "blkid" || program === "mount") return { code: 0, stdout: "", stderr: "" };
        return await runCommand(program, args, stdin);
      };
      const misc = `${dir}/misc`;
      await Deno.writeTextFile(misc, "236 device-mapper\n");
      const step = { device, key, run: hostile, logger };
      const prepared = await prepareVolume(step);
      try {
        await openAndMount(step, {
          mapperName: "contrast-data",
          mountPoint: `${dir}/state`,
          miscPath: misc,
          header: prepared.header,
        });
      } finally {
        await prepared.removeHeaderCopy();
      }
      assert.deepEqual(opened, ["aes-xts-plain64"], "the opened header is the checked one");
    }),
});

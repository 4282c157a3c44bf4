/**
 * LUKS2 stores persistent activation flags in its JSON metadata (`config.flags`), and
 * `cryptsetup open` applies them. The host serves the header and its checksum is unkeyed, so it can
 * add `allow-discards` (and recompute both copies' checksums): the opened volume then passes the
 * filesystem's discards (`mke2fs` discards the whole device on first use) through to the host, which
 * learns which blocks hold data, a leak cryptsetup's own documentation warns of. The metadata check
 * must refuse any persistent flag or requirement contrast does not set. Likewise the host can raise
 * the PBKDF2 iteration count (only checked from below before) until testing the key stalls every
 * start: the count must be exactly the one contrast formats with.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sha256 } from "../../../util/bytes/mod.ts";
import { ValidationError } from "../../../util/errors/mod.ts";
import { Logger } from "../../../util/log/logger.ts";
import { runCommand } from "../../../initializer/volume/cryptsetup.ts";
import { checkLuksMetadata } from "../../../initializer/volume/luks_metadata.ts";
import { prepareVolume } from "../../../initializer/volume/open_volume.ts";
import { deriveVolumeKey } from "../../../initializer/volume/volume_key.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";
import { goodLuksMetadata } from "../../../testing/luks_metadata.ts";

const hasCryptsetup = (await runCommand("cryptsetup", ["--version"]).catch(() => undefined))
  ?.code === 0;
if (!hasCryptsetup) {
  console.warn("SKIPPING the LUKS2 persistent-flags image test: cryptsetup is not installed");
}

/** Offset of the checksum in a LUKS2 binary header (`struct luks2_hdr_disk`). */
const CSUM_OFFSET = 448;
/** Size of the binary header before the JSON area. */
const BINARY_HEADER_BYTES = 4096;

/**
 * Rewrites both JSON copies of the LUKS2 header in `image` with `edit` and recomputes their
 * SHA-256 checksums, as a host holding the device can.
 */
async function rewriteLuks2Json(
  image: string,
  edit: (metadata: Record<string, Record<string, unknown>>) => void,
): Promise<void> {
  const bytes = await Deno.readFile(image);
  const view = new DataView(bytes.buffer);
  const headerSize = Number(view.getBigUint64(8));
  for (const offset of [0, headerSize]) {
    const area = bytes.subarray(offset + BINARY_HEADER_BYTES, offset + headerSize);
    const text = new TextDecoder().decode(area.subarray(0, area.indexOf(0)));
    const metadata = JSON.parse(text);
    edit(metadata);
    area.fill(0);
    area.set(new TextEncoder().encode(JSON.stringify(metadata)));
    const header = bytes.subarray(offset, offset + headerSize);
    header.fill(0, CSUM_OFFSET, CSUM_OFFSET + 64);
    header.set(await sha256(header), CSUM_OFFSET);
  }
  await Deno.writeFile(image, bytes);
}

const metadataWith = (config: Record<string, unknown>) => ({
  config: { json_size: "12288", keyslots_size: "16744448", ...config },
  ...goodLuksMetadata(),
});

Deno.test("LUKS2 metadata: persistent activation flags and requirements are refused", () => {
  checkLuksMetadata(metadataWith({}));
  checkLuksMetadata(metadataWith({ flags: [] }));
  checkLuksMetadata(metadataWith({ requirements: { mandatory: [] } }));
  for (
    const [config, field] of [
      [{ flags: ["allow-discards"] }, /luks2\.config\.flags/],
      [{ flags: ["no-read-workqueue"] }, /luks2\.config\.flags/],
      [{ flags: "allow-discards" }, /luks2\.config\.flags/],
      [{ requirements: { mandatory: ["online-reencrypt-v2"] } }, /luks2\.config\.requirements/],
      [{ requirements: "x" }, /luks2\.config\.requirements/],
    ] as const
  ) {
    assert.throws(() => checkLuksMetadata(metadataWith(config)), (e: unknown) => {
      assert.ok(e instanceof ValidationError, JSON.stringify(config));
      assert.match(e.message, field);
      return true;
    });
  }
  const noConfig = metadataWith({}) as Record<string, unknown>;
  noConfig.config = "x";
  assert.throws(() => checkLuksMetadata(noConfig), /luks2\.config/);
});

/**
 * A 32 MiB volume file in `dir` that the initializer formatted (and whose header copy it removed,
 * as after a successful start), with the key it was formatted with and a quiet logger.
 */
async function formattedVolume(dir: string) {
  const device = `${dir}/pv.img`;
  const file = await Deno.create(device);
  await file.truncate(32 * 1024 * 1024);
  file.close();
  const key = await deriveVolumeKey(new Uint8Array(32).fill(0xa1), "data");
  const logger = new Logger("t", { sink: () => {} });
  await (await prepareVolume({ device, key, run: runCommand, logger })).removeHeaderCopy();
  return { device, key, logger };
}

Deno.test({
  name: "secure-pv: a header the host rewrote with allow-discards is refused before opening",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      const { device, key, logger } = await formattedVolume(dir);

      await rewriteLuks2Json(device, (m) => {
        m.config!.flags = ["allow-discards"];
      });
      // cryptsetup takes the rewritten header as valid, flag included, and the key still opens it.
      const dump = await runCommand("cryptsetup", ["luksDump", device]);
      assert.equal(dump.code, 0, dump.stderr);
      assert.match(dump.stdout, /Flags:\s*allow-discards/);
      const test = await runCommand("cryptsetup", [
        "open",
        "--test-passphrase",
        "--type",
        "luks2",
        "--key-file",
        "-",
        device,
      ], key);
      assert.equal(test.code, 0, test.stderr);

      await assert.rejects(
        prepareVolume({ device, key, run: runCommand, logger, tempDir: dir }),
        (e: unknown) => {
          assert.ok(e instanceof ValidationError);
          assert.match(e.message, /luks2\.config\.flags/);
          return true;
        },
      );
    }),
});

Deno.test({
  name:
    "secure-pv: a header the host rewrote with a huge PBKDF2 count is refused before any PBKDF2",
  ignore: !hasCryptsetup,
  fn: () =>
    withTempDir(async (dir) => {
      const { device, key, logger } = await formattedVolume(dir);
      // 2 M here (half a second per try); up to 2^32 - 1 are as cheap to write.
      await rewriteLuks2Json(device, (m) => {
        (m.keyslots!["0"] as { kdf: { iterations: number } }).kdf.iterations = 2_000_000;
      });
      const dump = await runCommand("cryptsetup", ["luksDump", device]);
      assert.equal(dump.code, 0, dump.stderr);
      assert.match(dump.stdout, /Iterations:\s*2000000/);
      const ran: string[] = [];
      await assert.rejects(
        prepareVolume({
          device,
          key,
          logger,
          tempDir: dir,
          run: (program, args, stdin) => {
            ran.push(args.join(" "));
            return runCommand(program, args, stdin);
          },
        }),
        (e: unknown) => {
          assert.ok(e instanceof ValidationError);
          assert.match(e.message, /luks2\.keyslots\.0\.kdf\.iterations: expected 1000/);
          return true;
        },
      );
      assert.ok(!ran.some((a) => a.includes("--test-passphrase")), "the key was never tried");
    }),
});

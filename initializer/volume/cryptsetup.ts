/**
 * How contrast calls `cryptsetup` for encrypted persistent volumes. The key always goes through
 * standard input (`--key-file -`), never the command line or the environment, and is never
 * logged.
 *
 * LUKS2 parameters (all explicit, so a `cryptsetup` default change cannot weaken them):
 *
 * | parameter      | value              | why                                                   |
 * | -------------- | ------------------ | ----------------------------------------------------- |
 * | `--type`       | `luks2`            | JSON metadata with two checksummed copies             |
 * | `--cipher`     | `aes-xts-plain64`  | the standard disk cipher                              |
 * | `--key-size`   | `512`              | AES-256 in XTS mode (two 256-bit keys)                |
 * | `--sector-size`| `4096`             | the data segment's sector size                        |
 * | `--hash`       | `sha256`           | anti-forensic splitter and key digest                 |
 * | `--pbkdf`      | `pbkdf2`           | see below                                             |
 * | `--pbkdf-force-iterations` | `1000` | cryptsetup's minimum; see below                       |
 *
 * The passphrase is a 256-bit HKDF output, not a password: a slow or memory-hard KDF (argon2id,
 * cryptsetup's default, with up to 1 GiB of memory per unlock) protects low-entropy passwords
 * against guessing and adds nothing against a uniformly random 256-bit key, while it would cost
 * the confidential VM memory and boot time on every start. PBKDF2 with the minimum iteration
 * count is therefore used; the metadata check (`luks_metadata.ts`) pins exactly these values, so
 * a header rewritten by the host with weaker ones is refused.
 *
 * @module
 */

/** PBKDF2 iterations of the keyslot (`--pbkdf-force-iterations`; cryptsetup uses it for the digest too). */
export const PBKDF2_ITERATIONS = 1000;

/** The LUKS2 format parameters (see the module documentation). */
export const LUKS_FORMAT_PARAMETERS: readonly string[] = [
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
  String(PBKDF2_ITERATIONS),
];

/** Arguments of `cryptsetup luksFormat` for `device`, key on standard input. */
export function formatArgs(device: string): string[] {
  return ["luksFormat", "--batch-mode", ...LUKS_FORMAT_PARAMETERS, "--key-file", "-", device];
}

/** Arguments of `cryptsetup isLuks` (exit 0: a LUKS2 header is present). */
export function isLuksArgs(device: string): string[] {
  return ["isLuks", "--type", "luks2", device];
}

/** Arguments of `cryptsetup luksDump --dump-json-metadata` (the header's JSON on stdout). */
export function dumpMetadataArgs(device: string): string[] {
  return ["luksDump", "--type", "luks2", "--dump-json-metadata", device];
}

/** Arguments of `cryptsetup open --test-passphrase` (exit 0: the key opens a keyslot). */
export function testKeyArgs(device: string): string[] {
  return ["open", "--test-passphrase", "--type", "luks2", "--key-file", "-", device];
}

/**
 * Arguments of `cryptsetup luksHeaderBackup`: the header of `device` (JSON copies and keyslots),
 * read once, into `file` (which must not exist).
 */
export function headerBackupArgs(device: string, file: string): string[] {
  return ["luksHeaderBackup", "--type", "luks2", device, "--header-backup-file", file];
}

/**
 * Arguments of `cryptsetup open` mapping `device` to `/dev/mapper/<name>` with the LUKS2 header in
 * `header` (the checked copy), not whatever the device holds when `open` reads it.
 */
export function openArgs(device: string, name: string, header: string): string[] {
  return ["open", "--type", "luks2", "--header", header, "--key-file", "-", device, name];
}

/** Result of one external command. */
export interface CommandResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/** Runs `program` with `args`, writing `stdin` (when given) to its standard input. */
export type CommandRunner = (
  program: string,
  args: readonly string[],
  stdin?: Uint8Array,
) => Promise<CommandResult>;

/** The real runner (`Deno.Command`); stdin is closed right after the key is written. */
export const runCommand: CommandRunner = async (program, args, stdin) => {
  const child = new Deno.Command(program, {
    args: [...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
};

/**
 * `deno run --allow-read scripts/verify_release.ts --public-key release.pub.pem DIR`: checks a
 * downloaded release folder against the publisher's Ed25519 public key, pinned by the user (never
 * one shipped with the release; `--public-key` again for each further key accepted while the
 * publisher rotates keys): `SHA256SUMS.sig` over `SHA256SUMS`, then every listed file's
 * SHA-256, then that `DIR` holds no file `SHA256SUMS` does not list (README "Checking a
 * release"). Run it from a checkout of the source, not from the release: the CLI being checked
 * cannot vouch for itself. `openssl pkeyutl -verify` checks the signature alone.
 *
 * Exit codes: 0 the release verified; 1 it did not (each file and reason on stderr); 2 bad usage
 * or input (no or a bad `--public-key`, `DIR` not a folder); 70 a bug.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ContrastError, ParseError } from "../util/errors/mod.ts";
import { readInputFile } from "../util/files/mod.ts";
import { ExitCode, exitCodeFor } from "../cli/exit_codes.ts";
import { parseEd25519PublicKeyPem, publicKeyFingerprint } from "./release/ed25519_pem.ts";
import { verifyRelease } from "./release/verify.ts";

const USAGE =
  "usage: deno run --allow-read scripts/verify_release.ts --public-key release.pub.pem " +
  "[--public-key another.pub.pem …] DIR";

/** The release folder `dir`, checked to be a folder. */
async function releaseDir(dir: string): Promise<string> {
  let info;
  try {
    info = await Deno.stat(dir);
  } catch (cause) {
    throw new ParseError(dir, `cannot be read: ${(cause as Error).message}`, { cause });
  }
  if (!info.isDirectory) throw new ParseError(dir, "not a folder");
  return dir.replace(/\/+$/, "") || "/";
}

/**
 * `path` with control characters escaped (`\u001b`): a file name in a tampered release must not
 * move the cursor or erase the `FAILED` lines before it on the user's terminal.
 */
function shown(path: string): string {
  return path.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { "public-key": { type: "string", multiple: true } },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    return ExitCode.BadInput;
  }
  const keyFiles = parsed.values["public-key"] ?? [];
  if (keyFiles.length === 0 || parsed.positionals.length !== 1) {
    console.error(`give --public-key and one release folder\n${USAGE}`);
    return ExitCode.BadInput;
  }
  try {
    const publicKeys: Uint8Array[] = [];
    for (const keyFile of keyFiles) {
      const pem = new TextDecoder().decode(await readInputFile(keyFile, "--public-key"));
      publicKeys.push(parseEd25519PublicKeyPem(pem, `--public-key ${keyFile}`));
    }
    const dir = await releaseDir(parsed.positionals[0]!);
    const check = await verifyRelease(dir, publicKeys);
    const fingerprint = await publicKeyFingerprint(check.signedBy);
    for (const p of check.problems) console.error(`FAILED ${shown(p.path)}: ${p.reason}`);
    if (check.problems.length > 0) {
      console.error(
        `verification failed: ${check.problems.length} problem(s) in ${dir} (signature of ` +
          `SHA256SUMS good, Ed25519 key sha256:${fingerprint})`,
      );
      return ExitCode.VerificationFailed;
    }
    console.log(
      `${dir}: SHA256SUMS signed by the Ed25519 key sha256:${fingerprint}; ` +
        `${check.verified.length} files verified, none unlisted`,
    );
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof ContrastError) {
      const failed = exitCodeFor(error) === ExitCode.VerificationFailed;
      console.error(`${failed ? "verification failed" : "error"}: ${error.message}`);
    } else console.error("internal error:", error);
    return exitCodeFor(error);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * Checks a downloaded release folder against the publisher's Ed25519 public key: the signature
 * `SHA256SUMS.sig` over `SHA256SUMS` first (nothing in the folder is trusted before), then that
 * every file `SHA256SUMS` lists is there, a regular file, with that SHA-256, and that the folder
 * holds nothing else (no file `SHA256SUMS` does not list, no symbolic link): an injected chunk or
 * a swapped file is refused.
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";
import { parseSha256Sums } from "./sha256sums.ts";
import { verifySumsSignature } from "./signature.ts";

/** One thing wrong with a release folder whose signature verified. */
interface ReleaseProblem {
  /** The file, relative to the folder. */
  readonly path: string;
  /** What is wrong with it. */
  readonly reason: string;
}

/** What {@link verifyRelease} found once the signature verified. */
interface ReleaseCheck {
  /** The public key (of those given) the signature verified with. */
  readonly signedBy: Uint8Array;
  /** The files `SHA256SUMS` lists that are there with their listed SHA-256. */
  readonly verified: readonly string[];
  /** Every file missing, altered, unlisted or not a regular file; the release is good if none. */
  readonly problems: readonly ReleaseProblem[];
}

/** The files of a signed release that `SHA256SUMS` does not list. */
const SIGNED_FILES = new Set(["SHA256SUMS", "SHA256SUMS.sig"]);

/** The bytes of the release file `name`, or a {@link VerificationError} naming it. */
async function releaseFile(dir: string, name: string, missing: string): Promise<Uint8Array> {
  try {
    const info = await Deno.lstat(`${dir}/${name}`);
    if (!info.isFile) throw new VerificationError(name, "not a regular file");
    return await Deno.readFile(`${dir}/${name}`);
  } catch (cause) {
    if (cause instanceof VerificationError) throw cause;
    if (cause instanceof Deno.errors.NotFound) {
      throw new VerificationError(name, missing, { cause });
    }
    throw new VerificationError(name, `cannot be read: ${(cause as Error).message}`, { cause });
  }
}

/** What is wrong with the listed file `path` of `dir`, or undefined when it has `expected`. */
async function fileProblem(
  dir: string,
  path: string,
  expected: string,
): Promise<string | undefined> {
  try {
    const info = await Deno.lstat(`${dir}/${path}`);
    if (!info.isFile) return "not a regular file";
    const actual = encodeHex(await sha256(await Deno.readFile(`${dir}/${path}`)));
    return actual === expected ? undefined : `SHA-256 ${actual}, SHA256SUMS lists ${expected}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "listed in SHA256SUMS but missing";
    return `cannot be read: ${(error as Error).message}`;
  }
}

/** Every entry below `dir` (paths relative to it) that is not a directory, with its kind. */
async function entriesBelow(
  dir: string,
  prefix = "",
): Promise<{ path: string; isFile: boolean }[]> {
  const out: { path: string; isFile: boolean }[] = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) out.push(...await entriesBelow(dir, `${path}/`));
    else out.push({ path, isFile: entry.isFile });
  }
  return out;
}

/**
 * Checks the release folder `dir` with the publisher's 32-byte Ed25519 `publicKeys` (the
 * signature must verify with one of them).
 *
 * @throws {VerificationError} naming `SHA256SUMS` or `SHA256SUMS.sig` when either is missing, the
 *   signature verifies with none of `publicKeys`, or `SHA256SUMS` is not in `sha256sum` format (then
 *   no file is checked: the list is not trusted)
 *
 * @example Check a downloaded release
 * ```ts
 * import { parseEd25519PublicKeyPem } from "./ed25519_pem.ts";
 * import { verifyRelease } from "./verify.ts";
 *
 * const key = parseEd25519PublicKeyPem(await Deno.readTextFile("release.pub.pem"), "key");
 * const check = await verifyRelease("downloads/release", [key]);
 * for (const p of check.problems) console.error(`${p.path}: ${p.reason}`);
 * ```
 */
export async function verifyRelease(
  dir: string,
  publicKeys: readonly Uint8Array[],
): Promise<ReleaseCheck> {
  const sums = await releaseFile(dir, "SHA256SUMS", "missing: not a contrast release folder");
  const signature = await releaseFile(
    dir,
    "SHA256SUMS.sig",
    "missing: the release is not signed (built without --signing-key)",
  );
  const signedBy = await verifySumsSignature(publicKeys, sums, signature);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(sums);
  } catch (cause) {
    throw new VerificationError("SHA256SUMS", "not UTF-8 text", { cause });
  }
  const entries = parseSha256Sums(text);
  const problems: ReleaseProblem[] = [];
  const verified: string[] = [];
  for (const entry of entries) {
    const reason = SIGNED_FILES.has(entry.path)
      ? "SHA256SUMS lists itself or its signature"
      : await fileProblem(dir, entry.path, entry.sha256);
    if (reason === undefined) verified.push(entry.path);
    else problems.push({ path: entry.path, reason });
  }
  const listed = new Set(entries.map((e) => e.path));
  for (const { path, isFile } of await entriesBelow(dir)) {
    if (!isFile) {
      if (!listed.has(path)) problems.push({ path, reason: "not a regular file" });
    } else if (!listed.has(path) && !SIGNED_FILES.has(path)) {
      problems.push({ path, reason: "not listed in SHA256SUMS (the publisher did not sign it)" });
    }
  }
  return { signedBy, verified, problems };
}

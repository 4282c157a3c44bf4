/**
 * A release's `SHA256SUMS`: one `<sha256 hex>  <path>` line per file, sorted by path, in the
 * format `sha256sum` writes and `sha256sum -c` reads (text mode, two spaces).
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import { encodeHex, sha256 } from "../../util/bytes/mod.ts";

/** One line of `SHA256SUMS`. */
interface SumsEntry {
  /** The file's path in the release folder, `/`-separated (`contrast/contrast.js`). */
  readonly path: string;
  /** Its SHA-256, lower-case hex. */
  readonly sha256: string;
}

/**
 * `sha256sum` lines for `files` (path → bytes), sorted by path.
 *
 * @example The checksums of two files
 * ```ts
 * import { checksums } from "./sha256sums.ts";
 *
 * const text = await checksums({ "b.txt": new Uint8Array([1]), "a.txt": new Uint8Array() });
 * console.log(text.split("\n")[0]!.endsWith("  a.txt")); // true
 * ```
 */
export async function checksums(files: Readonly<Record<string, Uint8Array>>): Promise<string> {
  const lines: string[] = [];
  for (const name of Object.keys(files).sort()) {
    lines.push(`${encodeHex(await sha256(files[name]!))}  ${name}`);
  }
  return `${lines.join("\n")}\n`;
}

const LINE = /^([0-9a-f]{64}) {2}(.+)$/;

/** Why `path` cannot name a file inside the release folder, or undefined when it can. */
function badPath(path: string): string | undefined {
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return "control character or backslash in the path";
  if (path.startsWith("/")) return "an absolute path";
  if (path.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return "an empty, `.` or `..` path segment";
  }
  return undefined;
}

/**
 * The entries of `text`, the content of a release's `SHA256SUMS`.
 *
 * @throws {VerificationError} naming `SHA256SUMS` (and the line) when a line is not `<64 lower-case
 *   hex>  <path>`, a path leaves the folder or is listed twice, or the last line has no
 *   newline
 *
 * @example Read the checksums of a release
 * ```ts
 * import { parseSha256Sums } from "./sha256sums.ts";
 *
 * const entries = parseSha256Sums(`${"ab".repeat(32)}  runtime.yml\n`);
 * console.log(entries[0]!.path); // "runtime.yml"
 * ```
 */
export function parseSha256Sums(text: string): SumsEntry[] {
  if (!text.endsWith("\n")) throw new VerificationError("SHA256SUMS", "does not end in a newline");
  const lines = text.slice(0, -1).split("\n");
  const entries: SumsEntry[] = [];
  const seen = new Set<string>();
  for (const [i, line] of lines.entries()) {
    const field = `SHA256SUMS line ${i + 1}`;
    const match = LINE.exec(line);
    if (match === null) {
      throw new VerificationError(field, "not `<sha256 in lower-case hex>  <path>`");
    }
    const path = match[2]!;
    const bad = badPath(path);
    if (bad !== undefined) throw new VerificationError(field, bad);
    if (seen.has(path)) throw new VerificationError(field, `${path} is listed twice`);
    seen.add(path);
    entries.push({ path, sha256: match[1]! });
  }
  return entries;
}

/**
 * Offline collateral bundles: a directory tree holding vendor responses by URL, so
 * `contrast … --collateral-dir D` works without network for AMD KDS and Intel PCS alike.
 *
 * Layout: `<dir>/<host>/<path segment>/…/<last segment>[?<query>]`, where the host, every path
 * segment and the query are percent-encoded so that only `A–Z a–z 0–9 . _ -` stay literal (so
 * `?`, `=`, `&` and `:` become `%3F`, `%3D`, `%26` and `%3A`; a segment `.` or `..` becomes `%2E` /
 * `%2E%2E`; an empty segment becomes `%`). The scheme is not part of the path. Response headers
 * that matter (e.g. Intel's `TCB-Info-Issuer-Chain`) sit next to the body in
 * `<file>.headers.json` (a JSON object of lower-case header names to values); it is optional.
 *
 * Example: `https://kdsintf.amd.com/vcek/v1/Milan/cert_chain` →
 * `<dir>/kdsintf.amd.com/vcek/v1/Milan/cert_chain`, and
 * `https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=B0C06F000000` →
 * `<dir>/api.trustedservices.intel.com/tdx/certification/v4/tcb%3Ffmspc%3DB0C06F000000`.
 *
 * A bundle is untrusted like the network: everything read from it is verified by the caller.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { writeFileAtomic } from "../util/files/atomic_write.ts";
import { DEFAULT_MAX_BODY_BYTES, readLimitedFile } from "./read_limited.ts";

/** Suffix of the optional headers file next to a bundle body. */
const HEADERS_SUFFIX = ".headers.json";

/** Largest headers file read (Intel's issuer chains take a few KiB). */
const MAX_HEADERS_FILE_BYTES = 1024 * 1024;

function encodePart(part: string): string {
  if (part === "") return "%";
  if (part === ".") return "%2E";
  if (part === "..") return "%2E%2E";
  let out = "";
  for (const byte of new TextEncoder().encode(part)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The path of `url`'s body inside bundle directory `dir` (see the module documentation).
 *
 * @throws {ParseError} naming `url` when it is not an http(s) URL
 *
 * @example Where an offline bundle keeps a URL's body
 * ```ts
 * import { bundlePath } from "./mod.ts";
 *
 * const path = bundlePath("./bundle", "https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain");
 * console.log(path); // a file under ./bundle named after host and path
 * ```
 */
export function bundlePath(dir: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new ParseError("url", `not a URL: ${url}`, { cause: e });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ParseError("url", `only http(s) URLs can be bundled: ${url}`);
  }
  const segments = parsed.pathname.split("/").slice(1).map((s) => decodeURIComponentSafe(s));
  if (segments.length === 0) segments.push("");
  const last = segments.pop()! + (parsed.search ? parsed.search : "");
  const parts = [parsed.host, ...segments, last].map(encodePart);
  return [dir.replace(/\/+$/, ""), ...parts].join("/");
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A response stored in a bundle. */
interface BundledResponse {
  /** The body bytes. */
  readonly body: Uint8Array;
  /** Lower-case header names to values (empty when there was no headers file). */
  readonly headers: Record<string, string>;
  /** Where the body was found. */
  readonly path: string;
}

/**
 * Reads `url` from bundle directory `dir`, or undefined when the bundle does not hold it (nothing
 * or a directory at its path).
 *
 * @param maxBytes the largest body read (default 16 MiB, as the network client accepts)
 * @throws {ParseError} naming the file when the body is not a regular file (a FIFO would block
 *   the read forever) or is larger than `maxBytes`, or the headers file exists but is not a JSON
 *   object of strings (or not a regular file of at most 1 MiB)
 */
export async function readFromBundle(
  dir: string,
  url: string,
  maxBytes: number = DEFAULT_MAX_BODY_BYTES,
): Promise<BundledResponse | undefined> {
  const path = bundlePath(dir, url);
  const read = await readLimitedFile(path, maxBytes);
  if (read.kind === "missing" || read.kind === "directory") return undefined;
  if (read.kind === "refused") throw new ParseError(path, `bundle file refused: ${read.reason}`);
  const body = read.bytes;
  let headers: Record<string, string> = {};
  const headersPath = path + HEADERS_SUFFIX;
  const headersRead = await readLimitedFile(headersPath, MAX_HEADERS_FILE_BYTES);
  if (headersRead.kind === "file") {
    headers = parseHeadersJson(new TextDecoder().decode(headersRead.bytes), headersPath);
  } else if (headersRead.kind !== "missing") {
    throw new ParseError(
      headersPath,
      `headers file refused: ${
        headersRead.kind === "directory" ? "is a directory" : headersRead.reason
      }`,
    );
  }
  return { body, headers, path };
}

/** Parses a headers file: a JSON object whose values are strings; names become lower case. */
function parseHeadersJson(text: string, field: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ParseError(field, "headers file is not JSON", { cause: e });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ParseError(field, "headers file must be a JSON object");
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new ParseError(`${field}.${k}`, "header value must be a string");
    }
    headers[k.toLowerCase()] = v;
  }
  return headers;
}

/** Writes a response into bundle directory `dir` under `url` (atomically, body then headers). */
export async function writeToBundle(
  dir: string,
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<string> {
  const path = bundlePath(dir, url);
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await writeFileAtomic(path, body);
  if (Object.keys(headers).length > 0) {
    const text = JSON.stringify(headers, null, 2) + "\n";
    await writeFileAtomic(path + HEADERS_SUFFIX, new TextEncoder().encode(text));
  }
  return path;
}

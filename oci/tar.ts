/**
 * Tar archives as image layers use them: a streaming reader (ustar, GNU long names, pax
 * extended headers, base-256 sizes; header checksums verified) and a deterministic writer.
 *
 * @module
 */
import { concatBytes } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";
import { StreamReader } from "./stream_reader.ts";

/** Kinds of tar entries contrast distinguishes. */
type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

/** One entry of a tar stream. */
export interface TarEntry {
  /** Path as stored (pax/GNU long names applied), not normalised. */
  readonly path: string;
  /** What the entry is. */
  readonly type: TarEntryType;
  /** Link target for symlinks and hard links ("" otherwise). */
  readonly linkName: string;
  /** Size of the entry's data in bytes. */
  readonly size: number;
  /** Permission bits. */
  readonly mode: number;
}

const BLOCK = 512;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();
/** Largest pax or GNU long-name header contrast reads. */
const MAX_META_SIZE = 1024 * 1024;

/** A NUL-terminated header field as text (ASCII decoded without a TextDecoder call). */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  const field = end < 0 ? bytes : bytes.subarray(0, end);
  let ascii = "";
  for (let i = 0; i < field.length; i++) {
    const b = field[i]!;
    if (b >= 0x80) return DECODER.decode(field);
    ascii += String.fromCharCode(b);
  }
  return ascii;
}

function readNumber(bytes: Uint8Array, field: () => string): number {
  if (bytes[0]! & 0x80) {
    // Base-256: big-endian two's complement with the top bit as marker.
    if (bytes[0]! & 0x40) throw new ParseError(field(), "negative number");
    let value = bytes[0]! & 0x3f;
    for (let i = 1; i < bytes.length; i++) {
      value = value * 256 + bytes[i]!;
      if (value > Number.MAX_SAFE_INTEGER) throw new ParseError(field(), "number too large");
    }
    return value;
  }
  // Octal digits, optionally surrounded by spaces and ended by NUL or space.
  let value = 0;
  let i = 0;
  while (i < bytes.length && bytes[i] === 0x20) i++;
  let digits = 0;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x30 || b > 0x37) break;
    value = value * 8 + (b - 0x30);
    digits++;
  }
  for (; i < bytes.length; i++) {
    if (bytes[i] !== 0 && bytes[i] !== 0x20) {
      throw new ParseError(field(), `invalid octal ${JSON.stringify(cString(bytes).trim())}`);
    }
  }
  return digits === 0 ? 0 : value;
}

function checksumOf(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum;
}

function typeOf(flag: number): TarEntryType {
  switch (String.fromCharCode(flag)) {
    case "0":
    case "\0":
    case "7":
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "5":
      return "directory";
    default:
      return "other";
  }
}

/** Parses pax extended header records (`<len> <key>=<value>\n`). */
export function parsePaxRecords(data: Uint8Array, field: string): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) throw new ParseError(field, "pax record without length");
    const lengthText = DECODER.decode(data.subarray(offset, space));
    if (!/^[0-9]+$/.test(lengthText)) throw new ParseError(field, "pax record length not decimal");
    const length = Number(lengthText);
    const end = offset + length;
    if (length <= space - offset + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw new ParseError(field, "pax record length out of bounds");
    }
    const record = DECODER.decode(data.subarray(space + 1, end - 1));
    const eq = record.indexOf("=");
    if (eq < 0) throw new ParseError(field, "pax record without '='");
    records.set(record.slice(0, eq), record.slice(eq + 1));
    offset = end;
  }
  return records;
}

/**
 * Reads a tar stream entry by entry. For each entry, `visit` is called with its header and
 * returns whether it wants the entry's data; if so, it gets it in a second call
 * `visit(entry, data)`. Data not asked for is skipped without being kept.
 *
 * @param field what the stream is, for errors (e.g. `layer sha256:… of nginx`)
 * @throws {ParseError} on a truncated stream, a bad header checksum or malformed headers
 */
export async function readTar(
  stream: ReadableStream<Uint8Array>,
  field: string,
  visit: (entry: TarEntry, data?: Uint8Array) => boolean | void,
): Promise<void> {
  const reader = new StreamReader(stream);
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let zeroBlocks = 0;
  let complete = false;
  try {
    while (true) {
      const header = await reader.read(BLOCK);
      if (header.length === 0) {
        complete = true; // end of stream without end-of-archive marker
        return;
      }
      if (header.length < BLOCK) throw new ParseError(field, "truncated tar header");
      if (header.every((b) => b === 0)) {
        zeroBlocks++;
        if (zeroBlocks === 2) {
          // Read the padding after the end-of-archive marker so that stream consumers (such as
          // a digest over the whole tar) see every byte. It must be zeros: Go's reader
          // (containerd) stops here, the guest's image-rs reads on past zero blocks.
          const zeros = await reader.drain();
          complete = true;
          if (!zeros) {
            throw new ParseError(
              `${field} (tar offset ${reader.position})`,
              "data after the end-of-archive marker (readers disagree whether it is part of the layer)",
            );
          }
          return;
        }
        continue;
      }
      zeroBlocks = 0;
      const offset = reader.position - BLOCK;
      const at = () => `${field} (tar offset ${offset})`;
      const stored = readNumber(header.subarray(148, 156), () => `${at()} checksum`);
      if (stored !== checksumOf(header)) throw new ParseError(at(), "tar header checksum mismatch");
      const flag = header[156]!;
      const size = readNumber(header.subarray(124, 136), () => `${at()} size`);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const flagChar = String.fromCharCode(flag);
      if (flagChar === "x" || flagChar === "g" || flagChar === "L" || flagChar === "K") {
        if (size > MAX_META_SIZE) throw new ParseError(at(), "extended header too large");
        const data = await reader.read(padded);
        if (data.length < padded) throw new ParseError(at(), "truncated extended header");
        const body = data.subarray(0, size);
        if (flagChar === "x") pax = parsePaxRecords(body, at());
        else if (flagChar === "L") longName = cString(body);
        else if (flagChar === "K") longLink = cString(body);
        // Global pax headers ('g') carry defaults contrast does not need.
        continue;
      }
      const magic = cString(header.subarray(257, 262)) + (header[262] === 0 ? "\0" : "?");
      let path = cString(header.subarray(0, 100));
      if (magic === "ustar\0") {
        const prefix = cString(header.subarray(345, 500));
        if (prefix) path = `${prefix}/${path}`;
      }
      let linkName = cString(header.subarray(157, 257));
      let entrySize = size;
      if (longName !== undefined) path = longName;
      if (longLink !== undefined) linkName = longLink;
      // Go's archive/tar and Rust's tar let a GNU long name win over a pax path; which one is
      // meant is ambiguous, so an entry named by both is refused rather than read either way.
      if (
        pax && ((longName !== undefined && pax.has("path")) ||
          (longLink !== undefined && pax.has("linkpath")))
      ) {
        const what = longName !== undefined && pax.has("path")
          ? "name and a pax path"
          : "link and a pax linkpath";
        throw new ParseError(
          at(),
          `entry has both a GNU long ${what} (readers disagree which wins)`,
        );
      }
      if (pax) {
        path = pax.get("path") ?? path;
        linkName = pax.get("linkpath") ?? linkName;
        const paxSize = pax.get("size");
        if (paxSize !== undefined) {
          if (!/^[0-9]+$/.test(paxSize)) throw new ParseError(at(), "pax size not decimal");
          entrySize = Number(paxSize);
        }
      }
      pax = undefined;
      longName = undefined;
      longLink = undefined;
      const type = typeOf(flag);
      const dataSize = type === "file" || type === "other" ? entrySize : 0;
      const dataPadded = Math.ceil(dataSize / BLOCK) * BLOCK;
      const entry: TarEntry = {
        path,
        type,
        linkName,
        size: dataSize,
        mode: readNumber(header.subarray(100, 108), () => `${at()} mode`),
      };
      if (visit(entry) === true) {
        const data = await reader.read(dataPadded);
        if (data.length < dataPadded) throw new ParseError(at(), `truncated data of ${path}`);
        visit(entry, data.slice(0, dataSize)); // a copy: the visitor may keep it
      } else if (await reader.skip(dataPadded) < dataPadded) {
        throw new ParseError(at(), `truncated data of ${path}`);
      }
    }
  } finally {
    if (!complete) await reader.cancel();
  }
}

/** One entry to write with {@link writeTar}. */
export interface TarWriteEntry {
  /** Path inside the archive (no leading `/`). */
  readonly path: string;
  /** Entry kind. */
  readonly type: "file" | "directory" | "symlink" | "hardlink";
  /** File content (files only). */
  readonly data?: Uint8Array;
  /** Link target (links only). */
  readonly linkName?: string;
  /** Permission bits (default 0o644 for files, 0o755 for directories, 0o777 for symlinks). */
  readonly mode?: number;
  /** Owner uid (default 0). */
  readonly uid?: number;
  /** Owner gid (default 0). */
  readonly gid?: number;
}

function octal(value: number, width: number): Uint8Array {
  const text = value.toString(8).padStart(width - 1, "0");
  if (text.length > width - 1) throw new RangeError(`value ${value} too large for tar field`);
  return ENCODER.encode(text + "\0");
}

function paxRecord(key: string, value: string): string {
  const bodyLength = ENCODER.encode(` ${key}=${value}\n`).length;
  // The length counts its own digits.
  let digits = 1;
  while (String(bodyLength + digits).length !== digits) digits++;
  return `${bodyLength + digits} ${key}=${value}\n`;
}

function header(
  path: string,
  flag: string,
  size: number,
  mode: number,
  uid: number,
  gid: number,
  linkName: string,
): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(ENCODER.encode(path).subarray(0, 100), 0);
  block.set(octal(mode, 8), 100);
  block.set(octal(uid, 8), 108);
  block.set(octal(gid, 8), 116);
  block.set(octal(size, 12), 124);
  block.set(octal(0, 12), 136); // mtime 0: deterministic output
  block[156] = flag.charCodeAt(0);
  block.set(ENCODER.encode(linkName).subarray(0, 100), 157);
  block.set(ENCODER.encode("ustar\0"), 257);
  block.set(ENCODER.encode("00"), 263);
  block.set(octal(checksumOf(block), 7), 148);
  block[155] = 0x20;
  return block;
}

function pad(data: Uint8Array): Uint8Array {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : concatBytes(data, new Uint8Array(BLOCK - rest));
}

/**
 * Writes a tar archive (ustar; a pax header for names or link targets longer than 100 bytes).
 * Output is deterministic: mtime 0, no user or group names, entries in the given order.
 */
export function writeTar(entries: readonly TarWriteEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const flag = { file: "0", directory: "5", symlink: "2", hardlink: "1" }[e.type];
    const data = e.type === "file" ? e.data ?? new Uint8Array(0) : new Uint8Array(0);
    const linkName = e.linkName ?? "";
    const mode = e.mode ??
      (e.type === "directory" ? 0o755 : e.type === "symlink" ? 0o777 : 0o644);
    const path = e.type === "directory" && !e.path.endsWith("/") ? `${e.path}/` : e.path;
    if (ENCODER.encode(path).length > 100 || ENCODER.encode(linkName).length > 100) {
      let records = paxRecord("path", path);
      if (linkName) records += paxRecord("linkpath", linkName);
      const body = ENCODER.encode(records);
      parts.push(header("PaxHeader", "x", body.length, 0o644, 0, 0, ""), pad(body));
    }
    parts.push(header(path, flag, data.length, mode, e.uid ?? 0, e.gid ?? 0, linkName));
    parts.push(pad(data));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return concatBytes(...parts);
}

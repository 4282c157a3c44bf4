/**
 * Strict reading of HTTP/1.1 request heads (RFC 9112) for the Coordinator's own connection layer:
 * the request line, the header fields the server acts on (`Host`, `Content-Length`,
 * `Transfer-Encoding`, `Connection`, `Expect`) and the chunked body's size lines. Anything a
 * lenient parser could read another way is refused with the status to answer before closing the
 * connection: bare LF or CR, obs-fold continuation lines, blanks before a header's colon, control
 * characters in values, a target that is not origin-form, a version other than 1.0/1.1 (505),
 * both `Content-Length` and `Transfer-Encoding`, more than one `Content-Length`, a coding other
 * than `chunked` (501), an `Expect` other than `100-continue` (417), a missing or repeated `Host`
 * in HTTP/1.1. Pure: bytes in, values out.
 *
 * @module
 */
import { ContrastError } from "../../util/errors/mod.ts";

/** The client's bytes are not an acceptable HTTP/1.x request; answered `status`, then closed. */
export class HttpFramingError extends ContrastError {
  /** HTTP status of the answer (400, 417, 431, 501 or 505). */
  readonly status: number;
  constructor(status: number, field: string, reason: string) {
    super(field, reason);
    this.status = status;
  }
}

/** A request head as the server acts on it. */
export interface RequestHead {
  /** The method token, e.g. `POST`. */
  readonly method: string;
  /** The path of the origin-form target (without the query). */
  readonly path: string;
  /** Declared body length (`Content-Length`); absent without one. */
  readonly contentLength?: number;
  /** The body is chunked (`Transfer-Encoding: chunked`). */
  readonly chunked: boolean;
  /** The connection ends after this request's answer (`Connection: close`, or HTTP/1.0). */
  readonly close: boolean;
  /** The client waits for `100 Continue` before sending the body. */
  readonly expectContinue: boolean;
}

/** Most header fields in one head. */
const MAX_HEADER_FIELDS = 100;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const SLASH = 0x2f;
const QUESTION_MARK = 0x3f;

/** `tchar` of RFC 9110 §5.6.2, by byte. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Bytes allowed in a field value: HTAB, SP, visible ASCII, obs-text. */
const FIELD_VALUE_BYTE = new Uint8Array(256);
FIELD_VALUE_BYTE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE_BYTE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE_BYTE[c] = 1;

/**
 * The text of `bytes[start, end)`, one character per byte (Latin-1): for the few short parts of a
 * head the server reads (method, path, the values of the fields it acts on); decoding the whole
 * head by `TextDecoder` cost an op call per request and a string for every field's name and value.
 */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i += 4096) {
    const part = bytes.subarray(i, Math.min(end, i + 4096));
    text += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return text;
}

/** Where a head scan stopped, to resume it when more bytes arrive. */
interface HeadScan {
  /** Bytes of `buffer[start..]` already scanned. */
  scanned: number;
  /** Offset (from `start`) where the current line began. */
  lineStart: number;
}

/** A fresh scan state. */
export function newHeadScan(): HeadScan {
  return { scanned: 0, lineStart: 0 };
}

/**
 * The length of the head at the start of `bytes` (through its empty line), or -1 when more bytes
 * are needed. Resumes from `scan`. Leading empty lines must have been skipped
 * ({@link leadingEmptyLines}).
 *
 * @throws {HttpFramingError} (400) on a bare CR or LF
 */
export function scanHead(bytes: Uint8Array, scan: HeadScan): number {
  const end = bytes.length;
  let i = scan.scanned;
  let lineStart = scan.lineStart;
  for (; i < end; i++) {
    const b = bytes[i]!;
    if (b === CR) {
      if (i + 1 === end) break; // wait for the LF
      if (bytes[i + 1] !== LF) throw new HttpFramingError(400, "head", "bare CR");
      i++;
      if (i - 1 === lineStart) {
        scan.scanned = i + 1;
        scan.lineStart = i + 1;
        return i + 1;
      }
      lineStart = i + 1;
    } else if (b === LF) {
      throw new HttpFramingError(400, "head", "bare LF (lines must end with CRLF)");
    }
  }
  scan.scanned = i;
  scan.lineStart = lineStart;
  return -1;
}

/**
 * The number of bytes of empty lines (CRLF) at the start of `bytes`, which a server skips before
 * a request line (RFC 9112 §2.2); an incomplete CRLF at the end is not counted.
 *
 * @throws {HttpFramingError} (400) on a bare LF or CR among them
 */
export function leadingEmptyLines(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] === LF) throw new HttpFramingError(400, "head", "bare LF before the request line");
    if (bytes[i] !== CR) break;
    if (i + 1 === bytes.length) break;
    if (bytes[i + 1] !== LF) throw new HttpFramingError(400, "head", "bare CR");
    i += 2;
  }
  return i;
}

/** The end of the request line's method (index of its SP). */
function requestLineMethodEnd(line: Uint8Array): number {
  let i = 0;
  while (i < line.length && TCHAR[line[i]!] === 1) i++;
  if (i === 0 || line[i] !== SP) {
    throw new HttpFramingError(400, "request-line", "method is not a token followed by one space");
  }
  return i;
}

/** Method, path (without the query) and version of the request line. */
function parseRequestLine(line: Uint8Array): { method: string; path: string; http10: boolean } {
  const methodEnd = requestLineMethodEnd(line);
  let i = methodEnd + 1;
  const targetStart = i;
  let query = -1;
  while (i < line.length && line[i]! > 0x20 && line[i]! < 0x7f) {
    if (line[i] === QUESTION_MARK && query < 0) query = i;
    i++;
  }
  if (i === targetStart || line[i] !== SP) {
    throw new HttpFramingError(
      400,
      "request-line",
      "target is not visible ASCII followed by one space",
    );
  }
  const version = latin1(line, i + 1, line.length);
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    if (/^HTTP\/[0-9]\.[0-9]$/.test(version)) {
      throw new HttpFramingError(505, "request-line", `version ${version} is not supported`);
    }
    throw new HttpFramingError(400, "request-line", "no HTTP version after the target");
  }
  if (line[targetStart] !== SLASH) {
    throw new HttpFramingError(400, "request-line", "target is not a path (origin-form)");
  }
  return {
    method: latin1(line, 0, methodEnd),
    path: latin1(line, targetStart, query < 0 ? i : query),
    http10: version === "HTTP/1.0",
  };
}

/**
 * Checks a header line (`line`, without CRLF) and returns where its name ends and its value
 * starts and ends (without surrounding blanks), as offsets into `line`.
 */
function checkFieldLine(line: Uint8Array, field: string): [number, number, number] {
  if (line[0] === SP || line[0] === HTAB) {
    throw new HttpFramingError(400, field, "obs-fold continuation lines are not accepted");
  }
  let i = 0;
  while (i < line.length && TCHAR[line[i]!] === 1) i++;
  if (i === 0 || line[i] !== COLON) {
    throw new HttpFramingError(400, field, "header line is not `name: value` (token, then colon)");
  }
  const nameEnd = i;
  let start = i + 1;
  let end = line.length;
  for (let k = start; k < end; k++) {
    if (FIELD_VALUE_BYTE[line[k]!] !== 1) {
      throw new HttpFramingError(400, field, "control character in a header value");
    }
  }
  while (start < end && (line[start] === SP || line[start] === HTAB)) start++;
  while (end > start && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
  return [nameEnd, start, end];
}

/**
 * Checks the field lines of a trailer section (or any field block) up to the empty line ending
 * `bytes`, as strictly as a head's.
 *
 * @throws {HttpFramingError} (400) naming `field`
 */
export function checkFieldLines(bytes: Uint8Array, field: string): void {
  let lineStart = 0;
  let count = 0;
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] !== CR) continue;
    if (i === lineStart) return;
    checkFieldLine(bytes.subarray(lineStart, i), field);
    if (++count > MAX_HEADER_FIELDS) {
      throw new HttpFramingError(431, field, `more than ${MAX_HEADER_FIELDS} fields`);
    }
    i++;
    lineStart = i + 1;
  }
}

/** The header values the server acts on, gathered from the field lines. */
interface Gathered {
  host: number;
  contentLength?: string;
  contentLengths: number;
  transferEncoding?: string;
  connection: string[];
  expect?: string;
}

/** The names of the fields the server acts on, lower case, as bytes; by {@link Field}. */
const KNOWN_FIELDS = ["host", "content-length", "transfer-encoding", "connection", "expect"].map(
  (name) => Uint8Array.from(name, (c) => c.charCodeAt(0)),
);

/** Indices into {@link KNOWN_FIELDS}. */
const enum Field {
  Host = 0,
  ContentLength = 1,
  TransferEncoding = 2,
  Connection = 3,
  Expect = 4,
}

/**
 * Which of {@link KNOWN_FIELDS} the field name `head[start, start + length)` is (case-insensitive),
 * or -1. The name is made of tchar bytes (checked): OR-ing 0x20 maps an upper-case letter to its
 * lower case and leaves `-`, digits and lower case as they are; no other tchar byte becomes a
 * lower-case letter or `-`.
 */
function knownField(head: Uint8Array, start: number, length: number): number {
  for (let n = 0; n < KNOWN_FIELDS.length; n++) {
    const name = KNOWN_FIELDS[n]!;
    if (name.length !== length) continue;
    let k = 0;
    while (k < length && (head[start + k]! | 0x20) === name[k]) k++;
    if (k === length) return n;
  }
  return -1;
}

/** The header values of `head` the server acts on. */
function gatherFields(head: Uint8Array, firstLineEnd: number): Gathered {
  const gathered: Gathered = { host: 0, contentLengths: 0, connection: [] };
  let lineStart = firstLineEnd + 2;
  let count = 0;
  for (let i = lineStart; i + 1 < head.length; i++) {
    if (head[i] !== CR) continue;
    if (i === lineStart) break;
    const [nameEnd, valueStart, valueEnd] = checkFieldLine(head.subarray(lineStart, i), "head");
    if (++count > MAX_HEADER_FIELDS) {
      throw new HttpFramingError(431, "head", `more than ${MAX_HEADER_FIELDS} header fields`);
    }
    const field = knownField(head, lineStart, nameEnd);
    if (field >= 0) {
      const value = latin1(head, lineStart + valueStart, lineStart + valueEnd);
      switch (field) {
        case Field.Host:
          gathered.host++;
          break;
        case Field.ContentLength:
          gathered.contentLengths++;
          gathered.contentLength = value;
          break;
        case Field.TransferEncoding:
          gathered.transferEncoding = gathered.transferEncoding === undefined
            ? value
            : `${gathered.transferEncoding}, ${value}`;
          break;
        case Field.Connection:
          gathered.connection.push(value);
          break;
        case Field.Expect:
          if (gathered.expect !== undefined) {
            throw new HttpFramingError(417, "expect", "more than one Expect field");
          }
          gathered.expect = value;
          break;
      }
    }
    i++;
    lineStart = i + 1;
  }
  return gathered;
}

/** The declared body length, or undefined. */
function bodyLength(g: Gathered): number | undefined {
  if (g.contentLengths === 0) return undefined;
  if (g.contentLengths > 1) {
    throw new HttpFramingError(400, "content-length", "more than one Content-Length field");
  }
  if (!/^[0-9]{1,15}$/.test(g.contentLength!)) {
    throw new HttpFramingError(400, "content-length", "not a decimal length");
  }
  return Number(g.contentLength);
}

/**
 * Parses the request head `head` (request line through the empty line, as delimited by
 * {@link scanHead}).
 *
 * @throws {HttpFramingError} with the status to answer
 */
export function parseRequestHead(head: Uint8Array): RequestHead {
  let firstLineEnd = 0;
  while (head[firstLineEnd] !== CR) firstLineEnd++;
  const { method, path, http10 } = parseRequestLine(head.subarray(0, firstLineEnd));
  const g = gatherFields(head, firstLineEnd);
  if (g.host > 1 || (!http10 && g.host === 0)) {
    throw new HttpFramingError(400, "host", "an HTTP/1.1 request needs exactly one Host field");
  }
  const contentLength = bodyLength(g);
  let chunked = false;
  if (g.transferEncoding !== undefined) {
    if (http10) {
      throw new HttpFramingError(400, "transfer-encoding", "not allowed in HTTP/1.0");
    }
    if (contentLength !== undefined) {
      throw new HttpFramingError(400, "transfer-encoding", "sent together with Content-Length");
    }
    if (g.transferEncoding.toLowerCase() !== "chunked") {
      throw new HttpFramingError(501, "transfer-encoding", "only `chunked` is supported");
    }
    chunked = true;
  }
  let expectContinue = false;
  if (g.expect !== undefined) {
    if (g.expect.toLowerCase() !== "100-continue") {
      throw new HttpFramingError(417, "expect", "only 100-continue is supported");
    }
    expectContinue = !http10;
  }
  const close = http10 ||
    g.connection.some((v) => v.split(",").some((t) => t.trim().toLowerCase() === "close"));
  return {
    method,
    path,
    ...(contentLength !== undefined ? { contentLength } : {}),
    chunked,
    close,
    expectContinue,
  };
}

/** Longest chunk size accepted, in hexadecimal digits (up to 2^32 - 1). */
const MAX_CHUNK_SIZE_DIGITS = 8;

/**
 * The size of a chunk from its size line (without the CRLF): hexadecimal digits, optionally
 * followed by chunk extensions (ignored, RFC 9112 §7.1.1) made of field-value bytes.
 *
 * @throws {HttpFramingError} (400) naming `body.chunk`
 */
export function parseChunkSizeLine(line: Uint8Array): number {
  let size = 0;
  let i = 0;
  for (; i < line.length; i++) {
    const b = line[i]!;
    const digit = b >= 48 && b <= 57
      ? b - 48
      : b >= 97 && b <= 102
      ? b - 87
      : b >= 65 && b <= 70
      ? b - 55
      : -1;
    if (digit < 0) break;
    if (i === MAX_CHUNK_SIZE_DIGITS) {
      throw new HttpFramingError(400, "body.chunk", "chunk size too long");
    }
    size = size * 16 + digit;
  }
  if (i === 0) throw new HttpFramingError(400, "body.chunk", "no chunk size");
  if (i < line.length) {
    let k = i;
    while (k < line.length && (line[k] === SP || line[k] === HTAB)) k++;
    if (line[k] !== 0x3b) {
      throw new HttpFramingError(400, "body.chunk", "junk after the chunk size");
    }
    for (; k < line.length; k++) {
      if (FIELD_VALUE_BYTE[line[k]!] !== 1) {
        throw new HttpFramingError(400, "body.chunk", "control character in a chunk extension");
      }
    }
  }
  return size;
}

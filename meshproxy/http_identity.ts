/**
 * Puts the mesh peer's identity into every HTTP/1.x request that arrives over an ingress
 * connection, as `X-Forwarded-Client-Cert` (Envoy's format: `Hash=<sha256 of the peer
 * certificate DER>;Subject="…";URI=…;DNS=…`), after removing every such header (and trailer
 * field) the client sent itself (any case, `_` for `-`), so an application can trust it; without a peer certificate the
 * client's copies are only removed. Requests are framed as RFC 9112 says, strictly: anything the
 * application's parser might read differently (bare LF or CR, obs-fold continuation lines, a
 * header line without a colon or with blanks before it, both `Content-Length` and
 * `Transfer-Encoding`, differing lengths, a coding after `chunked`, a version other than 1.0/1.1,
 * an over-long head) is an {@link HttpFramingError} and the connection is closed, so a client
 * cannot smuggle an unrewritten head past the proxy. Leading empty lines before a request are
 * dropped (servers skip them).
 *
 * `Upgrade` switches the stream to an unparsed tunnel only once the application agreed (its
 * response starts `HTTP/1.x 101`): until then the client's further bytes are held; any other
 * final response resumes request parsing. That needs the response to be the first thing the
 * application sends, so an upgrade is honoured only on the first request of a connection whose
 * application has sent nothing yet; a later `Upgrade` header is removed (the application answers
 * it as a plain request), and an interim (1xx) answer closes the connection. `Upgrade: h2c` is
 * always removed: the proxy cannot rewrite HTTP/2. `CONNECT` always closes the connection
 * ({@link HttpConnectRefusedError}): a 2xx answer does not prove the application stopped parsing
 * HTTP (Deno.serve/hyper keeps parsing after answering 200 to `CONNECT`), so a tunnel would let
 * the client's next request pass unrewritten. Pure: bytes in, bytes out.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";
import { ByteBuffer } from "./byte_buffer.ts";
import { decodeLatin1, encodeLatin1 } from "./latin1.ts";

/** The header carrying the peer identity. */
const PEER_IDENTITY_HEADER = "X-Forwarded-Client-Cert";
const PEER_IDENTITY_NAME = PEER_IDENTITY_HEADER.toLowerCase();

/**
 * Whether a client's header (or trailer) field `name` is the identity header as some application
 * reads it: any case, and `_` for `-` (CGI and WSGI gateways, RFC 3875 §4.1.18, Python's
 * `wsgiref`, map both spellings to `HTTP_X_FORWARDED_CLIENT_CERT`).
 */
function isPeerIdentityName(name: string): boolean {
  return name.length === PEER_IDENTITY_NAME.length &&
    name.toLowerCase().replaceAll("_", "-") === PEER_IDENTITY_NAME;
}

/** The client's bytes are not well-framed HTTP/1.x (or not safely rewritable). */
export class HttpFramingError extends ContrastError {}

/** A `CONNECT` request: never tunnelled at ingress (the connection is closed). */
export class HttpConnectRefusedError extends HttpFramingError {}

/** Largest request head accepted (request line and headers), also for a chunk or trailer line. */
const MAX_HEAD_BYTES = 64 * 1024;

/** Client bytes held while an upgrade awaits the application's answer. */
const MAX_HELD_BYTES = 1024 * 1024;

/** Largest response status line looked at (upgrade answers). */
const MAX_STATUS_LINE_BYTES = 8 * 1024;

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) [\\x21-\\x7e\\x80-\\xff]+ HTTP/1\\.[01]$`);
const HEADER_NAME = new RegExp(`^${TOKEN}$`);
/** Control characters other than HTAB may not appear in a field value. */
// deno-lint-ignore no-control-regex -- control characters are what this finds
const FIELD_VALUE_CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS_LINE = /^HTTP\/1\.[01] ([0-9]{3})(?: |$)/;
const CR = 13;
const LF = 10;

/** A peer certificate field that cannot go into the identity header safely. */
export class PeerIdentityError extends ContrastError {}

/** Printable ASCII (space to tilde): the only characters the identity header carries. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Characters that make an identity value quoted (Envoy's XFCC format; also blanks here). */
const XFCC_SPECIAL = /[,;="\\ ]/;

/** `value` checked printable ASCII; quoted (`"` and `\` escaped) when it has to be. */
function xfccValue(value: string, field: string, alwaysQuote = false): string {
  if (!PRINTABLE_ASCII.test(value)) {
    throw new PeerIdentityError(field, "not printable ASCII (refused: header injection)");
  }
  if (!alwaysQuote && !XFCC_SPECIAL.test(value)) return value;
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * The header value for a peer: its certificate hash, subject and SANs, in Envoy's XFCC format
 * (`Key=value` joined by `;`; a value containing `,` `;` `=` `"` `\` or a blank is double-quoted
 * with `"` and `\` escaped by a backslash; the subject is always quoted).
 *
 * @throws {PeerIdentityError} when the subject or a SAN is not printable ASCII (the connection
 * is then closed rather than forwarded without, or with a forged, identity)
 */
export function peerIdentityValue(
  peer: { fingerprintSha256: string; subject: string; sans: readonly string[] },
): string {
  const hash = peer.fingerprintSha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new PeerIdentityError("peer.fingerprintSha256", "not a SHA-256 hex digest");
  }
  const parts = [`Hash=${hash}`, `Subject=${xfccValue(peer.subject, "peer.subject", true)}`];
  peer.sans.forEach((san, i) => {
    const field = `peer.sans[${i}]`;
    if (san.startsWith("URI:")) parts.push(`URI=${xfccValue(san.slice(4), field)}`);
    else if (san.startsWith("DNS:")) parts.push(`DNS=${xfccValue(san.slice(4), field)}`);
    else if (san.startsWith("IP:")) parts.push(`IP=${xfccValue(san.slice(3), field)}`);
  });
  return parts.join(";");
}

/**
 * The end of the CRLF-terminated line starting at `from` (index of its LF), -1 when incomplete.
 * A bare LF or a CR not followed by LF is refused.
 */
function lineEnd(buf: Uint8Array, from: number, field: string): number {
  const lf = buf.indexOf(LF, from);
  const stop = lf < 0 ? buf.length : lf;
  const cr = buf.indexOf(CR, from);
  if (cr >= 0 && cr < stop - 1) throw new HttpFramingError(field, "bare CR in a line");
  if (lf < 0) {
    if (cr >= 0 && cr !== buf.length - 1) throw new HttpFramingError(field, "bare CR in a line");
    return -1;
  }
  if (lf === from || buf[lf - 1] !== CR) {
    throw new HttpFramingError(field, "bare LF line ending (refused: request smuggling)");
  }
  return lf;
}

type State =
  | { kind: "head" }
  | { kind: "body"; remaining: number }
  | { kind: "chunkSize" }
  | { kind: "chunkData"; remaining: number }
  | { kind: "chunkDataEnd" }
  | { kind: "trailers" }
  | { kind: "upgradePending" }
  | { kind: "tunnel" };

/** A parsed, checked request head. */
interface RequestHead {
  readonly requestLine: string;
  readonly method: string;
  /** Header lines kept (the client's identity headers removed), without CRLF. */
  readonly kept: string[];
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
  /** The `Upgrade` header's value, when present. */
  readonly upgrade: string | undefined;
}

/** Parses and checks one request head (`text` without its final empty line). */
function parseRequestHead(text: string): RequestHead {
  const lines = text.split("\r\n");
  const requestLine = lines.shift()!;
  const match = REQUEST_LINE.exec(requestLine);
  if (!match) throw new HttpFramingError("request.line", "not an HTTP/1.0 or 1.1 request line");
  const http10 = requestLine.endsWith("HTTP/1.0");
  let contentLength: number | undefined;
  const codings: string[] = [];
  let upgrade: string | undefined;
  const kept: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!HEADER_NAME.test(name)) {
      throw new HttpFramingError(
        "request.headers",
        /^[ \t]/.test(line)
          ? "obs-fold continuation line"
          : "malformed header line (no colon, or blanks before it)",
      );
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (FIELD_VALUE_CTL.test(value)) {
      throw new HttpFramingError("request.headers", "control character in a header value");
    }
    const lower = name.toLowerCase();
    if (isPeerIdentityName(name)) continue;
    if (lower === "content-length") {
      if (!/^[0-9]{1,15}$/.test(value)) {
        throw new HttpFramingError("request.headers", "bad Content-Length");
      }
      if (contentLength !== undefined && contentLength !== Number(value)) {
        throw new HttpFramingError("request.headers", "conflicting Content-Length headers");
      }
      contentLength = Number(value);
    } else if (lower === "transfer-encoding") {
      codings.push(...value.toLowerCase().split(",").map((c) => c.trim()).filter((c) => c));
    } else if (lower === "upgrade") {
      upgrade = upgrade === undefined ? value : `${upgrade}, ${value}`;
    }
    kept.push(line);
  }
  const chunked = codings.length > 0;
  if (chunked) {
    if (codings.at(-1) !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
      throw new HttpFramingError("request.headers", "Transfer-Encoding must end in one chunked");
    }
    if (http10) throw new HttpFramingError("request.headers", "Transfer-Encoding in HTTP/1.0");
    if (contentLength !== undefined) {
      throw new HttpFramingError(
        "request.headers",
        "both Transfer-Encoding and Content-Length (refused: request smuggling)",
      );
    }
  }
  return { requestLine, method: match[1]!, kept, contentLength, chunked, upgrade };
}

/** Rewrites a client-to-server HTTP/1.x byte stream, request by request. */
export class HttpIdentityInjector {
  /** The identity header line with CRLF, or empty when there is no identity to add. */
  readonly #headerLine: string;
  #state: State = { kind: "head" };
  /** Client bytes not yet complete enough to forward. */
  readonly #pending = new ByteBuffer();
  /** Where the scan of an incomplete head in {@link #pending} resumes. */
  #headScan = 0;
  /** Client bytes held while an upgrade awaits the application's answer. */
  readonly #held = new ByteBuffer();
  /** Whether the application has sent anything yet. */
  #serverSpoke = false;
  /** The start of the application's answer to an upgrade, while incomplete. */
  readonly #status = new ByteBuffer();
  /** Requests rewritten so far. */
  requests = 0;

  /**
   * @param identity the header value ({@link peerIdentityValue}); undefined: client copies of
   * the header are removed and none is added
   * @param options.serverSpoke whether the application already sent something (no upgrade then)
   */
  constructor(identity: string | undefined, options: { serverSpoke?: boolean } = {}) {
    this.#serverSpoke = options.serverSpoke ?? false;
    this.#headerLine = identity === undefined ? "" : `${PEER_IDENTITY_HEADER}: ${identity}\r\n`;
  }

  /** Whether {@link serverBytes} still needs to see what the application sends. */
  get watchesServer(): boolean {
    return this.#state.kind === "upgradePending" || (!this.#serverSpoke && this.requests === 0);
  }

  /**
   * Feeds bytes from the client; returns the bytes to send to the application.
   *
   * @throws {HttpFramingError} on malformed or ambiguous framing
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const fromPending = this.#pending.length > 0;
    if (fromPending) this.#pending.append(chunk);
    const whole = fromPending ? this.#pending.view() : chunk;
    let buf = whole;
    while (buf.length > 0) {
      const s = this.#state;
      if (s.kind === "tunnel") {
        out.push(buf);
        return out;
      }
      if (s.kind === "upgradePending") {
        if (this.#held.length + buf.length > MAX_HELD_BYTES) {
          throw new HttpFramingError("request", "too much data before the upgrade was answered");
        }
        this.#held.append(buf);
        buf = buf.subarray(buf.length);
        break;
      }
      if (s.kind === "body" || s.kind === "chunkData") {
        const n = Math.min(s.remaining, buf.length);
        out.push(buf.subarray(0, n));
        buf = buf.subarray(n);
        s.remaining -= n;
        if (s.remaining === 0) {
          this.#state = s.kind === "body" ? { kind: "head" } : { kind: "chunkDataEnd" };
        }
        continue;
      }
      if (s.kind === "chunkDataEnd") {
        if (buf.length < 2) break;
        if (buf[0] !== CR || buf[1] !== LF) {
          throw new HttpFramingError("request.body", "chunk data not followed by CRLF");
        }
        out.push(buf.subarray(0, 2));
        buf = buf.subarray(2);
        this.#state = { kind: "chunkSize" };
        continue;
      }
      const consumed = s.kind === "head" ? this.#head(buf, out) : this.#chunkLine(buf, out, s);
      if (consumed === 0) break;
      buf = buf.subarray(consumed);
    }
    if (buf.length > MAX_HEAD_BYTES) {
      throw new HttpFramingError("request.head", `longer than ${MAX_HEAD_BYTES} bytes`);
    }
    if (fromPending) {
      // Unchanged: keep the buffer (and the head scan's progress); else keep only the rest.
      if (buf.length !== whole.length) {
        const rest = buf.slice();
        this.#pending.take();
        this.#pending.append(rest);
      }
    } else if (buf.length > 0) this.#pending.append(buf);
    return out;
  }

  /**
   * Feeds bytes the application sent (only while {@link watchesServer}); returns client bytes
   * now released towards the application.
   *
   * @throws {HttpFramingError} when an upgrade got an interim or unreadable answer
   */
  serverBytes(chunk: Uint8Array): Uint8Array[] {
    this.#serverSpoke = true;
    const s = this.#state;
    if (s.kind !== "upgradePending") return [];
    this.#status.append(chunk.subarray(0, MAX_STATUS_LINE_BYTES));
    const seen = this.#status.view();
    const lf = seen.indexOf(LF);
    if (lf < 0) {
      if (seen.length >= MAX_STATUS_LINE_BYTES) {
        throw new HttpFramingError("response.line", "upgrade answer has no status line");
      }
      return [];
    }
    const match = STATUS_LINE.exec(decodeLatin1(seen.subarray(0, lf)).replace(/\r$/, ""));
    this.#status.take();
    if (!match) throw new HttpFramingError("response.line", "upgrade answer is not HTTP/1.x");
    const status = Number(match[1]);
    const held = this.#held.take();
    if (status === 101) {
      this.#state = { kind: "tunnel" };
      return held.length > 0 ? [held] : [];
    }
    if (status < 200) {
      throw new HttpFramingError("response.line", `interim answer ${status} to an upgrade`);
    }
    this.#state = { kind: "head" };
    return this.push(held);
  }

  /** Handles a chunk-size or trailer line; returns the bytes consumed (0: incomplete). */
  #chunkLine(buf: Uint8Array, out: Uint8Array[], s: State): number {
    const eol = lineEnd(buf, 0, "request.body");
    if (eol < 0) return 0;
    const line = decodeLatin1(buf.subarray(0, eol - 1));
    if (s.kind === "trailers") {
      if (line === "") {
        this.#state = { kind: "head" };
      } else {
        const colon = line.indexOf(":");
        if (colon <= 0 || !HEADER_NAME.test(line.slice(0, colon))) {
          throw new HttpFramingError("request.trailers", "malformed trailer line");
        }
        if (isPeerIdentityName(line.slice(0, colon))) return eol + 1;
      }
      out.push(buf.subarray(0, eol + 1));
      return eol + 1;
    }
    const size = line.split(";")[0]!.replace(/[ \t]+$/, "");
    if (!/^[0-9a-fA-F]{1,8}$/.test(size)) {
      throw new HttpFramingError("request.body", `bad chunk size "${size.slice(0, 20)}"`);
    }
    const n = parseInt(size, 16);
    this.#state = n === 0 ? { kind: "trailers" } : { kind: "chunkData", remaining: n };
    out.push(buf.subarray(0, eol + 1));
    return eol + 1;
  }

  /** Handles a request head (after any empty lines); returns the bytes consumed (0: incomplete). */
  #head(buf: Uint8Array, out: Uint8Array[]): number {
    let start = 0;
    while (start + 1 < buf.length && buf[start] === CR && buf[start + 1] === LF) start += 2;
    if (start === buf.length || (start + 1 === buf.length && buf[start] === CR)) return start;
    if (buf[start] === LF) throw new HttpFramingError("request.line", "bare LF line ending");
    let from = Math.max(start, this.#headScan);
    for (;;) {
      const eol = lineEnd(buf, from, "request.head");
      if (eol < 0) {
        // Incomplete: everything stays pending; complete lines are not scanned again.
        this.#headScan = from;
        return 0;
      }
      if (eol === from + 1) {
        this.#headScan = 0;
        out.push(this.#rewrite(decodeLatin1(buf.subarray(start, from - 2))));
        return eol + 1;
      }
      from = eol + 1;
    }
  }

  /** The rewritten head of the request `text` (without the final CRLFCRLF); sets the state. */
  #rewrite(text: string): Uint8Array {
    const head = parseRequestHead(text);
    if (head.method === "CONNECT") {
      throw new HttpConnectRefusedError(
        "request.line",
        "CONNECT is not tunnelled at ingress (the application may keep parsing HTTP after a 2xx)",
      );
    }
    const mayUpgrade = this.requests === 0 && !this.#serverSpoke;
    let kept = head.kept;
    let upgrading = false;
    if (head.upgrade !== undefined) {
      if (mayUpgrade && !/h2c/i.test(head.upgrade)) upgrading = true;
      else kept = kept.filter((l) => !/^upgrade:/i.test(l));
    }
    if (upgrading && (head.chunked || (head.contentLength ?? 0) > 0)) {
      throw new HttpFramingError("request.headers", "upgrade request with a body");
    }
    this.requests++;
    if (upgrading) this.#state = { kind: "upgradePending" };
    else if (head.chunked) this.#state = { kind: "chunkSize" };
    else if ((head.contentLength ?? 0) > 0) {
      this.#state = { kind: "body", remaining: head.contentLength! };
    } else this.#state = { kind: "head" };
    return encodeLatin1(
      `${head.requestLine}\r\n${kept.map((l) => `${l}\r\n`).join("")}${this.#headerLine}\r\n`,
      "request.headers",
    );
  }
}

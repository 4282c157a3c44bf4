/**
 * Puts the mesh peer's identity into every HTTP/1.x request that arrives over an ingress
 * connection, as `X-Forwarded-Client-Cert` (Envoy's format: `Hash=<sha256 of the peer
 * certificate DER>;Subject="…";URI=…;DNS=…`), after removing any such header the client sent
 * itself (so an application can trust it). Requests are framed as RFC 9112 says
 * (`Transfer-Encoding: chunked`, `Content-Length`, none); a request with both, with differing
 * lengths or with a malformed head is an {@link HttpFramingError} and the connection is closed
 * (so a client cannot smuggle a request past the rewrite). After `CONNECT` or an `Upgrade`
 * request, the rest of the stream passes unchanged. Pure: bytes in, bytes out.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";

/** The header carrying the peer identity. */
const PEER_IDENTITY_HEADER = "X-Forwarded-Client-Cert";

/** The client's bytes are not well-framed HTTP/1.x. */
export class HttpFramingError extends ContrastError {}

/** Largest request head accepted (request line and headers). */
const MAX_HEAD_BYTES = 64 * 1024;

const REQUEST_LINE = /^[A-Z]{3,10} [^ ]+ HTTP\/1\.[01]$/;
const CRLFCRLF = [13, 10, 13, 10];
const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/**
 * Classifies a connection by its first client bytes: `http` once they hold a complete HTTP/1.x
 * request line, `tcp` as soon as they cannot be the start of one, `undecided` while they still
 * might be (the caller waits for more).
 */
export function classifyFirstBytes(first: Uint8Array): "http" | "tcp" | "undecided" {
  const text = decoder.decode(first.subarray(0, 8192));
  const eol = text.indexOf("\r\n");
  if (eol >= 0) return REQUEST_LINE.test(text.slice(0, eol)) ? "http" : "tcp";
  if (first.length >= 8192) return "tcp";
  return /^[A-Z]{0,10}$/.test(text) ||
      /^[A-Z]{3,10} [^ \r\n]*( (H(T(T(P(\/(1(\.[01]?)?)?)?)?)?)?)?)?$/
        .test(text)
    ? "undecided"
    : "tcp";
}

/** The header value for a peer: its certificate hash, subject and SANs. */
export function peerIdentityValue(
  peer: { fingerprintSha256: string; subject: string; sans: readonly string[] },
): string {
  const parts = [`Hash=${peer.fingerprintSha256.toLowerCase()}`];
  parts.push(`Subject="${peer.subject.replace(/["\\]/g, "\\$&")}"`);
  for (const san of peer.sans) {
    if (san.startsWith("URI:")) parts.push(`URI=${san.slice(4)}`);
    else if (san.startsWith("DNS:")) parts.push(`DNS=${san.slice(4)}`);
    else if (san.startsWith("IP:")) parts.push(`IP=${san.slice(3)}`);
  }
  return parts.join(";").replace(/[\r\n]/g, "");
}

function indexOfSeq(buf: Uint8Array, seq: number[], from: number): number {
  outer: for (let i = from; i + seq.length <= buf.length; i++) {
    for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

type State =
  | { kind: "head" }
  | { kind: "body"; remaining: number }
  | { kind: "chunkSize" }
  | { kind: "chunkData"; remaining: number }
  | { kind: "chunkDataEnd" }
  | { kind: "trailers" }
  | { kind: "tunnel" };

/** Rewrites a client-to-server HTTP/1.x byte stream, request by request. */
export class HttpIdentityInjector {
  readonly #headerLine: string;
  #state: State = { kind: "head" };
  #pending: Uint8Array = new Uint8Array(0);
  /** Requests rewritten so far. */
  requests = 0;

  /** @param identity the header value ({@link peerIdentityValue}) */
  constructor(identity: string) {
    this.#headerLine = `${PEER_IDENTITY_HEADER}: ${identity}\r\n`;
  }

  /**
   * Feeds bytes from the client; returns the bytes to send to the application.
   *
   * @throws {HttpFramingError} on malformed or ambiguous framing
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let buf = concat(this.#pending, chunk);
    this.#pending = new Uint8Array(0);
    while (buf.length > 0) {
      const s = this.#state;
      if (s.kind === "tunnel") {
        out.push(buf);
        return out;
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
        if (buf[0] !== 13 || buf[1] !== 10) {
          throw new HttpFramingError("request.body", "chunk data not followed by CRLF");
        }
        out.push(buf.subarray(0, 2));
        buf = buf.subarray(2);
        this.#state = { kind: "chunkSize" };
        continue;
      }
      if (s.kind === "chunkSize" || s.kind === "trailers") {
        const eol = indexOfSeq(buf, [13, 10], 0);
        if (eol < 0) {
          if (buf.length > MAX_HEAD_BYTES) {
            throw new HttpFramingError("request.body", "chunk line too long");
          }
          break;
        }
        const line = decoder.decode(buf.subarray(0, eol));
        out.push(buf.subarray(0, eol + 2));
        buf = buf.subarray(eol + 2);
        if (s.kind === "trailers") {
          if (line === "") this.#state = { kind: "head" };
          continue;
        }
        const size = line.split(";")[0]!.trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(size)) {
          throw new HttpFramingError("request.body", `bad chunk size "${size.slice(0, 20)}"`);
        }
        const n = parseInt(size, 16);
        this.#state = n === 0 ? { kind: "trailers" } : { kind: "chunkData", remaining: n };
        continue;
      }
      // head
      const end = indexOfSeq(buf, CRLFCRLF, 0);
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) {
          throw new HttpFramingError("request.head", `longer than ${MAX_HEAD_BYTES} bytes`);
        }
        break;
      }
      out.push(this.#rewriteHead(decoder.decode(buf.subarray(0, end + 2))));
      buf = buf.subarray(end + 4);
    }
    this.#pending = buf.slice();
    return out;
  }

  #rewriteHead(head: string): Uint8Array {
    const lines = head.split("\r\n");
    lines.pop(); // the empty string after the last CRLF
    const requestLine = lines.shift() ?? "";
    if (!REQUEST_LINE.test(requestLine)) {
      throw new HttpFramingError("request.line", `not an HTTP/1.x request line`);
    }
    let contentLength: number | undefined;
    let chunked = false;
    let upgrade = false;
    const kept: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) {
        throw new HttpFramingError("request.headers", "malformed header line");
      }
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === PEER_IDENTITY_HEADER.toLowerCase()) continue;
      if (name === "content-length") {
        if (!/^[0-9]{1,15}$/.test(value)) {
          throw new HttpFramingError("request.headers", "bad Content-Length");
        }
        const n = Number(value);
        if (contentLength !== undefined && contentLength !== n) {
          throw new HttpFramingError("request.headers", "conflicting Content-Length headers");
        }
        contentLength = n;
      }
      if (name === "transfer-encoding") {
        const codings = value.toLowerCase().split(",").map((c) => c.trim());
        if (codings.at(-1) !== "chunked") {
          throw new HttpFramingError("request.headers", "Transfer-Encoding must end in chunked");
        }
        chunked = true;
      }
      if (name === "upgrade") upgrade = true;
      kept.push(line);
    }
    if (chunked && contentLength !== undefined) {
      throw new HttpFramingError(
        "request.headers",
        "both Transfer-Encoding and Content-Length (refused: request smuggling)",
      );
    }
    this.requests++;
    if (requestLine.startsWith("CONNECT ") || upgrade) this.#state = { kind: "tunnel" };
    else if (chunked) this.#state = { kind: "chunkSize" };
    else if (contentLength !== undefined && contentLength > 0) {
      this.#state = { kind: "body", remaining: contentLength };
    } else this.#state = { kind: "head" };
    return encoder.encode(
      `${requestLine}\r\n${kept.map((l) => `${l}\r\n`).join("")}${this.#headerLine}\r\n`,
    );
  }
}

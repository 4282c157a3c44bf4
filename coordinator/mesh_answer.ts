/**
 * The `POST /mesh/certificate` answer serialised straight to UTF-8 JSON: what one CA's answers
 * share (the intermediate's PEM that ends `certChain`, `meshCa`, `rootCa`) is serialised once,
 * and per answer only the leaf's PEM is written, as JSON string contents, into the answer's one
 * array, from the leaf's DER (no PEM string, no chain string, no `JSON.stringify` of ~5 KB of
 * PEM text and no UTF-8 encoding of it per attestation). The bytes are those of
 * `JSON.stringify` of the `MeshCertificateResponseJson` (`protocol/messages.ts`) with `certChain` = leaf PEM then
 * intermediate PEM (`tests/coordinator/mesh_answer_test.ts`).
 *
 * The workload secret, when there is one, is written as base64 straight from its bytes into the
 * answer: no string of it is made (a string cannot be wiped and lives until it is collected).
 *
 * @module
 */
import { EncodedJson } from "./http/encoded_json.ts";

const UTF8 = new TextEncoder();
/** `{"certChain":"` and the leaf's BEGIN line, `\n` escaped as JSON writes it. */
const HEAD = UTF8.encode('{"certChain":"-----BEGIN CERTIFICATE-----\\n');
/** The leaf's END line, as JSON string contents. */
const LEAF_END = UTF8.encode("-----END CERTIFICATE-----\\n");
/** Base64 characters a PEM line holds. */
const LINE = 64;
const BACKSLASH = 0x5c;
const N = 0x6e;
/** `,"workloadSecret":"`, before the secret's base64 (its closing quote follows it). */
const SECRET_HEAD = UTF8.encode(',"workloadSecret":"');
const QUOTE = 0x22;
/** The base64 alphabet (RFC 4648 §4, with padding), as character codes. */
const BASE64 = UTF8.encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const PAD = 0x3d;

/** Length of the padded base64 of `length` bytes. */
function base64Length(length: number): number {
  return 4 * Math.ceil(length / 3);
}

/** Writes the padded base64 of `bytes` into `out` at `at`; returns the index after it. */
function writeBase64(bytes: Uint8Array, out: Uint8Array, at: number): number {
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[at++] = BASE64[n >> 18]!;
    out[at++] = BASE64[(n >> 12) & 63]!;
    out[at++] = BASE64[(n >> 6) & 63]!;
    out[at++] = BASE64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[at++] = BASE64[n >> 18]!;
    out[at++] = BASE64[(n >> 12) & 63]!;
    out[at++] = rest === 2 ? BASE64[(n >> 6) & 63]! : PAD;
    out[at++] = PAD;
  }
  return at;
}

/** The PEMs of one CA that every answer of it carries. */
interface AnswerPems {
  /** PEM of the intermediate (ends `certChain`). */
  readonly intermediatePem: string;
  /** PEM of the mesh CA. */
  readonly meshCaPem: string;
  /** PEM of the root CA. */
  readonly rootPem: string;
}

/** Serialises the mesh certificate answers of one CA. */
export class MeshAnswerJson {
  /** From the intermediate's PEM (the rest of `certChain`) to `rootCa`'s closing quote. */
  readonly #tail: Uint8Array;

  constructor(pems: AnswerPems) {
    const fields = JSON.stringify({ meshCa: pems.meshCaPem, rootCa: pems.rootPem });
    // JSON.stringify(intermediatePem) without its opening quote: the leaf's PEM comes before it.
    this.#tail = UTF8.encode(
      `${JSON.stringify(pems.intermediatePem).slice(1)},${fields.slice(1, -1)}`,
    );
  }

  /**
   * The answer for the leaf `leafDer` and, when the policy has one, the workload secret's bytes
   * (written as base64; the caller wipes its `workloadSecret` afterwards).
   */
  encode(leafDer: Uint8Array, workloadSecret?: Uint8Array): EncodedJson {
    const b64 = leafDer.toBase64();
    // At least one line: the PEM of no bytes has an empty one (`encodePem`).
    const lines = Math.max(1, Math.ceil(b64.length / LINE));
    const secretLength = workloadSecret === undefined
      ? 0
      : SECRET_HEAD.length + base64Length(workloadSecret.length) + 1;
    // Every character of the base64 text is ASCII.
    const leafLength = b64.length + 2 * lines + LEAF_END.length;
    const out = new Uint8Array(
      HEAD.length + leafLength + this.#tail.length + secretLength + 1,
    );
    out.set(HEAD, 0);
    const start = HEAD.length;
    // The base64 text written at once, then its lines moved apart from the last to the first
    // (each moves right, over text already moved), a JSON `\n` after each.
    UTF8.encodeInto(b64, out.subarray(start));
    for (let line = lines - 1; line >= 0; line--) {
      const from = start + line * LINE;
      const length = Math.min(LINE, b64.length - line * LINE);
      const to = start + line * (LINE + 2);
      if (line > 0) out.copyWithin(to, from, from + length);
      out[to + length] = BACKSLASH;
      out[to + length + 1] = N;
    }
    let at = start + b64.length + 2 * lines;
    out.set(LEAF_END, at);
    at += LEAF_END.length;
    out.set(this.#tail, at);
    at += this.#tail.length;
    if (workloadSecret !== undefined) {
      out.set(SECRET_HEAD, at);
      at = writeBase64(workloadSecret, out, at + SECRET_HEAD.length);
      out[at++] = QUOTE;
    }
    out[at++] = 0x7d; // }
    if (at !== out.length) {
      throw new RangeError("mesh answer: encoded length mismatch");
    }
    return new EncodedJson(out, { sensitive: workloadSecret !== undefined });
  }
}

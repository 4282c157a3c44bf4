/**
 * The `POST /mesh/certificate` answer serialised straight to UTF-8 JSON: what one CA's answers
 * share (the intermediate's PEM that ends `certChain`, `meshCa`, `rootCa`) is serialised once,
 * and per answer only the leaf's PEM is written, as JSON string contents, into the answer's one
 * array, from the leaf's DER (no PEM string, no chain string, no `JSON.stringify` of ~5 KB of
 * PEM text and no UTF-8 encoding of it per attestation). The bytes are those of
 * `JSON.stringify` of the `MeshCertificateResponseJson` (`protocol/messages.ts`) with `certChain` = leaf PEM then
 * intermediate PEM (`tests/coordinator/mesh_answer_test.ts`).
 *
 * @module
 */
import type { SealedBoxJson } from "../protocol/hpke.ts";
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
   * The answer for the leaf `leafDer` and, when the policy has one, the sealed workload secret.
   */
  encode(leafDer: Uint8Array, workloadSecret?: SealedBoxJson): EncodedJson {
    const b64 = leafDer.toBase64();
    // At least one line: the PEM of no bytes has an empty one (`encodePem`).
    const lines = Math.max(1, Math.ceil(b64.length / LINE));
    const secret = workloadSecret === undefined
      ? ""
      : `,"workloadSecret":${JSON.stringify(workloadSecret)}`;
    // Every character of the base64 text and of `secret` is ASCII (hex and base64 only).
    const leafLength = b64.length + 2 * lines + LEAF_END.length;
    const out = new Uint8Array(
      HEAD.length + leafLength + this.#tail.length + secret.length + 1,
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
    const { written } = UTF8.encodeInto(secret, out.subarray(at));
    at += written;
    out[at++] = 0x7d; // }
    if (at !== out.length || written !== secret.length) {
      throw new RangeError("mesh answer: encoded length mismatch");
    }
    return new EncodedJson(out);
  }
}

import { ParseError } from "../errors/mod.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";

/** One block of a PEM file. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`. */
  readonly label: string;
  /** The DER bytes. */
  readonly der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Every PEM block in `text`, in order. With `label`, blocks of other labels are skipped.
 *
 * @throws {ParseError} naming `field` when no block (of that label) is found or one is not base64
 */
export function decodePem(text: string, label?: string, field = "pem"): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (label !== undefined && m[1] !== label) continue;
    blocks.push({ label: m[1]!, der: decodeBase64(m[2]!, `${field}.${m[1]}`) });
  }
  if (blocks.length === 0) {
    throw new ParseError(field, `no PEM block${label ? ` labelled ${label}` : ""} found`);
  }
  return blocks;
}

/** PEM text of `der` under `label`, 64 characters a line, ending in a newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = encodeBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Small DER builders for tests that hand-craft AlgorithmIdentifier and SubjectPublicKeyInfo
 * structures (including malformed ones). The OID encoder is written here independently of
 * `x509/`, so parser tests do not build their input with the code under test.
 *
 * @module
 */
import { encodeElement, Tag } from "../../x509/der.ts";

/** DER of an OBJECT IDENTIFIER in dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const parts = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) {
      parts.unshift(0x80 | (v & 0x7f));
    }
    out.push(...parts);
  }
  return encodeElement(Tag.oid, Uint8Array.from(out));
}

/** DER of a SEQUENCE of `parts`. */
export function seq(...parts: Uint8Array[]): Uint8Array {
  return encodeElement(Tag.sequence, ...parts);
}

/** DER of an AlgorithmIdentifier: the OID `dotted`, then `params` when given. */
export function alg(dotted: string, params?: Uint8Array): Uint8Array {
  return seq(oid(dotted), ...(params ? [params] : []));
}

/** The RSASSA-PSS algorithm OID. */
export const PSS = "1.2.840.113549.1.1.10";

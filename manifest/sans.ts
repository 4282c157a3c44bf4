/**
 * Subject alternative names of a manifest policy, classified the way certificates need them.
 *
 * @module
 */

/**
 * One SAN of a policy entry: an IP address, a URI (it has a scheme) or a DNS name.
 *
 * @example Render SANs as openssl writes them
 * ```ts
 * import type { SubjectAltName } from "./mod.ts";
 *
 * function openssl(sans: readonly SubjectAltName[]): string {
 *   return sans.map((s) => `${s.kind === "ip" ? "IP" : s.kind === "uri" ? "URI" : "DNS"}:${s.value}`)
 *     .join(",");
 * }
 * console.log(openssl([{ kind: "dns", value: "coordinator" }, { kind: "ip", value: "10.0.0.1" }]));
 * ```
 */
export type SubjectAltName =
  | { readonly kind: "ip"; readonly value: string }
  | { readonly kind: "uri"; readonly value: string }
  | { readonly kind: "dns"; readonly value: string };

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** Printable ASCII but blank and comma: what a URI SAN may contain. */
const URI_CHARACTERS = /^[\x21-\x2b\x2d-\x7e]+$/;
const DNS_LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;
/** The Coordinator's URI namespace (`urn:contrast:policy:<digest>`; URN NIDs ignore case). */
const RESERVED_URI = /^urn:contrast:/i;

/** Whether `text` is a dotted-quad IPv4 address. */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** Whether `text` is an IPv6 address literal (RFC 4291 text forms, optional trailing IPv4). */
export function isIPv6(text: string): boolean {
  if (!text.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let groups = text;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    if (!isIPv4(text.slice(lastColon + 1))) return false;
    groups = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = groups.split("::");
  if (halves.length > 2) return false;
  const parts = (h: string) => (h === "" ? [] : h.split(":"));
  const left = parts(halves[0]!);
  const right = halves.length === 2 ? parts(halves[1]!) : [];
  const all = [...left, ...right];
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = all.length;
  return halves.length === 2 ? count < 8 : count === 8;
}

/**
 * Whether `text` is a DNS name a certificate may carry: dot-separated labels of letters, digits,
 * `-` and `_`, at most 253 characters, the last label not all digits; `*` is allowed as the whole
 * name or as the leftmost label.
 */
export function isDnsName(text: string): boolean {
  if (text === "*") return true;
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.split(".");
  // An all-numeric last label is a mistyped IP address, never a host name (RFC 3696 §2).
  if (labels.length > 1 && /^\d+$/.test(labels.at(-1)!)) return false;
  return labels.every((label, i) => (i === 0 && label === "*") || DNS_LABEL.test(label));
}

/**
 * Classifies one SAN: an IPv4/IPv6 literal is `ip`, text with a URI scheme (`spiffe://…`,
 * `https://…`) is `uri` (printable ASCII only, no blank or comma: node renders SANs as
 * comma-separated text, and the mesh proxy passes them on in an HTTP header; not under
 * `urn:contrast:`, the Coordinator's name for the policy of an entry without SANs), and everything
 * else must be a DNS name.
 *
 * @returns the classified SAN, or a reason why `text` is none of the three
 */
export function classifySan(text: string): SubjectAltName | { readonly error: string } {
  if (isIPv4(text) || isIPv6(text)) return { kind: "ip", value: text };
  // `host:port` (`db:5432`, `db.example.com:5432`) is no URI, though a scheme may hold dots.
  if (URI_SCHEME.test(text) && !/^[A-Za-z0-9.-]+:\d+$/.test(text)) {
    if (!URI_CHARACTERS.test(text)) {
      return {
        error: `URI must be printable ASCII without blanks or commas (they would be misread in ` +
          `certificate SAN text and the identity header): ${JSON.stringify(text)}`,
      };
    }
    if (RESERVED_URI.test(text)) {
      return {
        error: `URIs under urn:contrast: are the Coordinator's own (urn:contrast:policy:<digest> ` +
          `names the policy of an entry without SANs), so an entry may not claim one: ${
            JSON.stringify(text)
          }`,
      };
    }
    try {
      new URL(text);
      return { kind: "uri", value: text };
    } catch {
      return { error: `not a valid URI: ${JSON.stringify(text)}` };
    }
  }
  if (isDnsName(text)) return { kind: "dns", value: text };
  return { error: `not an IP address, URI or DNS name: ${JSON.stringify(text)}` };
}

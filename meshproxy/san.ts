/**
 * Whether a peer certificate carries the SAN an egress entry expects (its remote host). DNS
 * names compare case-insensitively; a DNS SAN may be a wildcard: `*` alone (what `contrast
 * generate --san-wildcard` gives every workload, so any attested workload of the mesh may serve;
 * by default generate writes no `*`, `deploy/workload_sans.ts`) or `*.rest` matching exactly one
 * leftmost label. IP addresses compare as IP SANs only.
 *
 * @module
 */
import { isIpv4 } from "../protocol/mesh_config.ts";
import { ExtensionOid, parseCertificate } from "../x509/certificate.ts";
import { readElement, readSingle, Tag } from "../x509/der.ts";
import { ParseError } from "../util/errors/mod.ts";
import { decodeLatin1 } from "./latin1.ts";

function dnsMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, "");
  const h = host.toLowerCase().replace(/\.$/, "");
  if (p === "*") return true;
  if (p.startsWith("*.")) {
    const dot = h.indexOf(".");
    return dot > 0 && h.slice(dot + 1) === p.slice(2);
  }
  return p === h;
}

/**
 * Whether `sans` (as `DNS:x`, `IP:x`, `URI:x`) cover `expected` (a DNS name or IPv4 address).
 */
export function sanMatches(sans: readonly string[], expected: string): boolean {
  if (isIpv4(expected)) return sans.some((s) => s === `IP:${expected}`);
  return sans.some((s) => s.startsWith("DNS:") && dnsMatches(s.slice(4), expected));
}

/** `GeneralName` context tags (RFC 5280 §4.2.1.6) the mesh reads; others are skipped. */
const DNS_NAME = 0x82;
const URI = 0x86;
const IP_ADDRESS = 0x87;

function ipText(bytes: Uint8Array, field: string): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return groups.join(":");
  }
  throw new ParseError(field, `an IP address SAN has ${bytes.length} bytes (not 4 or 16)`);
}

/**
 * The SANs of a DER certificate as `DNS:x`, `URI:x`, `IP:x`, read from the certificate itself
 * (node's `subjectaltname` text joins SANs with `, ` unquoted, so a URI containing `, DNS:x`
 * would read as a second SAN). Names keep their bytes one to one (IA5String is ASCII; anything
 * else is left for the caller to refuse). IPv6 addresses print as eight lowercase hex groups.
 *
 * @throws {ParseError} naming `certificate` when the certificate or its SAN extension is malformed
 */
export function certificateSans(der: Uint8Array): string[] {
  const value = parseCertificate(der, "certificate").extension(ExtensionOid.subjectAltName);
  if (value === undefined) return [];
  const field = "certificate.extensions.subjectAltName";
  const names = readSingle(value, Tag.sequence, field).value;
  const sans: string[] = [];
  for (let offset = 0; offset < names.length;) {
    const name = readElement(names, offset, field);
    offset = name.end;
    if (name.tag === DNS_NAME) sans.push(`DNS:${decodeLatin1(name.value)}`);
    else if (name.tag === URI) sans.push(`URI:${decodeLatin1(name.value)}`);
    else if (name.tag === IP_ADDRESS) sans.push(`IP:${ipText(name.value, field)}`);
  }
  return sans;
}

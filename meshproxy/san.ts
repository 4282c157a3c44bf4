/**
 * Whether a peer certificate carries the SAN an egress entry expects (its remote host). DNS
 * names compare case-insensitively; a DNS SAN may be a wildcard: `*` alone (what `contrast
 * generate` gives every workload by default, so any attested workload of the mesh may serve)
 * or `*.rest` matching exactly one leftmost label. IP addresses compare as IP SANs only.
 *
 * @module
 */
import { isIpv4 } from "../protocol/mesh_config.ts";

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

/** Splits node's `subjectaltname` text (`DNS:a, IP Address:1.2.3.4, URI:x`) into SANs. */
export function parseNodeSubjectAltName(text: string | undefined): string[] {
  if (!text) return [];
  return text.split(", ").map((s) => s.replace(/^IP Address:/, "IP:")).filter(Boolean);
}

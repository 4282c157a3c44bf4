/**
 * Mesh credentials for proxy tests and benchmarks, issued by contrast's own CA code exactly as the Coordinator
 * issues them (P-384 mesh CA, intermediate signed by the root, P-256 leaf with SANs and claims),
 * written in the initializer's layout.
 *
 * @module
 */
import "reflect-metadata";
import { CertificateAuthority } from "../../coordinator/ca/certificate_authority.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { classifySan, type SubjectAltName } from "../../manifest/sans.ts";
import type { AttestationClaims } from "../../evidence/types.ts";
import { encodePem } from "../../util/bytes/mod.ts";

const CLAIMS: AttestationClaims = {
  platform: "snp",
  reportData: new Uint8Array(64).fill(1),
  hostData: new Uint8Array(32).fill(2),
  measurement: new Uint8Array(48).fill(3),
  referenceValueIndex: 0,
  details: { "tcb.snp": "23" },
};

/** A mesh CA (fresh seed). */
export function meshAuthority(): Promise<CertificateAuthority> {
  return CertificateAuthority.fromSeed(SeedEngine.create());
}

function sans(names: readonly string[]): SubjectAltName[] {
  return names.map((n) => {
    const s = classifySan(n);
    if ("error" in s) throw new Error(s.error);
    return s;
  });
}

/** One pod's files. */
export interface PodFiles {
  readonly key: string;
  readonly certChain: string;
  readonly meshCa: string;
}

/** Issues a leaf for a fresh P-256 key with `names` as SANs. */
export function issuePod(
  ca: CertificateAuthority,
  names: readonly string[],
  options: { now?: Date; notAfter?: Date } = {},
): Promise<PodFiles> {
  return issuePodWithSans(ca, sans(names), options);
}

/**
 * Like {@link issuePod} with SANs as given, unchecked (tests use it for SANs the manifest
 * refuses, as a compromised issuer could write them).
 */
export async function issuePodWithSans(
  ca: CertificateAuthority,
  subjectAltNames: readonly SubjectAltName[],
  options: { now?: Date; notAfter?: Date } = {},
): Promise<PodFiles> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const leaf = await ca.issueLeaf({
    publicKey: keys.publicKey,
    sans: subjectAltNames,
    claims: CLAIMS,
    ...options,
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { key: encodePem("PRIVATE KEY", pkcs8), certChain: leaf.chainPem, meshCa: ca.meshCaPem };
}

/** Writes `files` in the initializer's layout into `dir`. */
export async function writePodFiles(dir: string, files: PodFiles): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/key.pem.tmp`, files.key);
  await Deno.rename(`${dir}/key.pem.tmp`, `${dir}/key.pem`);
  await Deno.writeTextFile(`${dir}/certChain.pem.tmp`, files.certChain);
  await Deno.rename(`${dir}/certChain.pem.tmp`, `${dir}/certChain.pem`);
  await Deno.writeTextFile(`${dir}/mesh-ca.pem.tmp`, files.meshCa);
  await Deno.rename(`${dir}/mesh-ca.pem.tmp`, `${dir}/mesh-ca.pem`);
}

/**
 * Real vendor certificates from `../shared/conformance`, for the x509 tests.
 *
 * @module
 */
import { conformanceFile, readConformanceManifest } from "../conformance.ts";
import {
  type Certificate,
  normaliseFingerprint,
  parseCertificate,
  parseCertificates,
} from "../../x509/certificate.ts";
import { type Crl, parseCrl } from "../../x509/crl.ts";

/** AMD products with roots in the conformance folder. */
export const AMD_PRODUCTS = ["milan", "genoa", "turin"] as const;

/** Reads a PEM or DER certificate of the conformance folder. */
export async function conformanceCert(path: string, field: string): Promise<Certificate> {
  return parseCertificate(await Deno.readFile(conformanceFile(path)), field);
}

/** Reads every certificate of a PEM file of the conformance folder. */
export async function conformanceCerts(path: string, field: string): Promise<Certificate[]> {
  return parseCertificates(await Deno.readTextFile(conformanceFile(path)), field);
}

/** Reads a CRL of the conformance folder. */
export async function conformanceCrl(path: string, field: string): Promise<Crl> {
  return parseCrl(await Deno.readFile(conformanceFile(path)), field);
}

/** Pinned root fingerprints documented in MANIFEST.json (lower-case hex). */
export async function manifestRoots(): Promise<{ amd: Record<string, string>; intel: string }> {
  const manifest = await readConformanceManifest() as {
    amd_roots: { product: string; certs: { ark: { sha256_fingerprint: string } } }[];
    intel_roots: { sha256_fingerprint: string; file: string }[];
  };
  const amd: Record<string, string> = {};
  for (const r of manifest.amd_roots) {
    amd[r.product.toLowerCase()] = normaliseFingerprint(r.certs.ark.sha256_fingerprint);
  }
  const intelRoot = manifest.intel_roots.find((r) => r.file.startsWith("intel/Intel_SGX_Root_CA"))!;
  return { amd, intel: normaliseFingerprint(intelRoot.sha256_fingerprint) };
}

/** SNP vectors: name, product, VEK file and intermediate file, and the documented "now". */
export async function snpVectors(): Promise<
  { name: string; dir: string; product: string; vek: string; intermediate: string; now: Date }[]
> {
  const manifest = await readConformanceManifest() as {
    snp: {
      name: string;
      dir: string;
      product: string;
      files: string[];
      suggested_fixed_now: string;
    }[];
  };
  return manifest.snp.map((v) => ({
    name: v.name,
    dir: v.dir,
    product: v.product.toLowerCase(),
    vek: v.files.find((f) => f === "vcek.der" || f === "vlek.der")!,
    intermediate: v.files.find((f) => f === "ask.pem" || f === "asvk.pem")!,
    now: new Date(v.suggested_fixed_now),
  }));
}

/** TDX vectors with their files and documented "now". */
export async function tdxVectors(): Promise<
  { name: string; dir: string; files: string[]; now: Date }[]
> {
  const manifest = await readConformanceManifest() as {
    tdx: {
      name: string;
      dir: string;
      files: string[];
      validity: { suggested_fixed_now: string };
    }[];
  };
  return manifest.tdx.map((v) => ({
    name: v.name,
    dir: v.dir,
    files: v.files,
    now: new Date(v.validity.suggested_fixed_now),
  }));
}

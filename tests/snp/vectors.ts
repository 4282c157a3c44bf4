/**
 * The six SEV-SNP conformance vectors of `../shared/conformance` and what MANIFEST.json says
 * about them, typed for the SNP tests.
 *
 * @module
 */
import { conformanceFile, readConformance, readConformanceManifest } from "../conformance.ts";

/** A decoded TCB as MANIFEST.json states it. */
export interface ExpectedTcb {
  raw: string;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

/** One SNP vector of MANIFEST.json (the fields the tests use). */
export interface SnpVector {
  name: string;
  dir: string;
  product: "Milan" | "Genoa" | "Turin";
  signing_key: "VCEK" | "VLEK";
  suggested_fixed_now: string;
  expected: Record<string, unknown> & {
    version: number;
    policy: string;
    policy_decoded: Record<string, number>;
    current_tcb: ExpectedTcb;
    reported_tcb: ExpectedTcb;
    committed_tcb: ExpectedTcb;
    launch_tcb: ExpectedTcb;
  };
  vek_cert: { notBefore: string; notAfter: string; extensions: Record<string, unknown> };
}

/** The SNP vectors of MANIFEST.json. */
export async function snpVectors(): Promise<SnpVector[]> {
  const manifest = await readConformanceManifest();
  return manifest.snp as SnpVector[];
}

/** The raw files of one vector. */
interface SnpVectorFiles {
  report: Uint8Array;
  /** VCEK or VLEK, DER. */
  vek: Uint8Array;
  /** ASK or ASVK, PEM text. */
  intermediatePem: string;
  /** ARK, PEM text. */
  arkPem: string;
}

/** Reads the report and certificates of `vector`. */
export async function readVectorFiles(vector: SnpVector): Promise<SnpVectorFiles> {
  const vlek = vector.signing_key === "VLEK";
  const dir = vector.dir;
  return {
    report: await readConformance(`${dir}/report.bin`),
    vek: await readConformance(`${dir}/${vlek ? "vlek.der" : "vcek.der"}`),
    intermediatePem: await Deno.readTextFile(
      conformanceFile(`${dir}/${vlek ? "asvk.pem" : "ask.pem"}`),
    ),
    arkPem: await Deno.readTextFile(conformanceFile(`${dir}/ark.pem`)),
  };
}

/** The path of a vector file, for CLI tests. */
export function vectorPath(vector: SnpVector | string, file: string): string {
  const dir = typeof vector === "string" ? `snp/${vector}` : vector.dir;
  return conformanceFile(`${dir}/${file}`).pathname;
}

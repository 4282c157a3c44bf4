/**
 * What `contrast set|verify|recover` share: reading the local manifest, verifying a
 * Coordinator's evidence against it, and extracting initdata documents from generated YAML.
 *
 * @module
 */
import { plainYamlValue } from "../util/yaml/plain_value.ts";
import { parseAllDocuments } from "yaml";
import { encodeHex, sha256 } from "../util/bytes/mod.ts";
import { InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import { expandYamlPaths, readInputFile } from "../util/files/mod.ts";
import { decodeInitdataAnnotation, INITDATA_ANNOTATION } from "../policy/initdata.ts";
import {
  defaultCollateralCacheDir,
  manifestVerifiersWithCollateral,
} from "../manifest/collateral_config.ts";
import { type Manifest, parseManifest } from "../manifest/manifest.ts";
import type { ManifestEvidenceVerifier } from "../manifest/verifiers.ts";

/** A manifest read from disk with its exact bytes. */
interface LocalManifest {
  /** The path read. */
  readonly path: string;
  /** The exact bytes. */
  readonly bytes: Uint8Array;
  /** The parsed manifest. */
  readonly manifest: Manifest;
}

/**
 * Reads a file the user named.
 *
 * @throws {ParseError} naming the file when it is missing, a directory or unreadable (exit 2)
 */
export function readFileNamed(path: string): Promise<Uint8Array> {
  return readInputFile(path);
}

/**
 * Reads and parses the manifest at `path`.
 *
 * @throws {InvalidDocumentError} naming the file and every problem
 */
export async function readLocalManifest(path: string): Promise<LocalManifest> {
  const bytes = await readFileNamed(path);
  try {
    return { path, bytes, manifest: parseManifest(bytes) };
  } catch (error) {
    if (error instanceof InvalidDocumentError) throw error.inFile(path);
    if (error instanceof ParseError) throw new ParseError(`${path}: ${error.field}`, error.reason);
    throw error;
  }
}

/** Where the CLI's evidence verifier gets vendor collateral. */
export interface CliCollateralOptions {
  /** Collateral disk cache (default `CONTRAST_COLLATERAL_CACHE` or the shared cache root's). */
  readonly cacheDir?: string;
  /** Never touch the network (default `CONTRAST_OFFLINE=1`). */
  readonly offline?: boolean;
  /** Offline collateral bundles (`--collateral-dir`). */
  readonly importDirs?: readonly string[];
  /** AMD KDS base URL (`--kds-url`; default `CONTRAST_KDS_URL`, then AMD's). */
  readonly kdsBaseUrl?: string;
  /** Intel PCS base URL (`--pcs-url`; default `CONTRAST_PCS_URL`, then Intel's). */
  readonly pcsBaseUrl?: string;
  /**
   * Intel SGX Root CA CRL URL (`--root-ca-crl-url`; default `CONTRAST_ROOT_CA_CRL_URL`, then
   * Intel's published location, whatever the PCS URL).
   */
  readonly rootCaCrlUrl?: string;
  /**
   * Base URL of AMD's CRLs for real SNP (`--amd-crl-url`; default `CONTRAST_AMD_CRL_URL`, then
   * AMD's KDS, whatever the KDS URL).
   */
  readonly amdCrlUrl?: string;
}

/**
 * An evidence verifier for the CLI (one chain cache for the command's run; vendor collateral
 * through the disk cache and bundles `options` name; the environment variables
 * `CONTRAST_COLLATERAL_CACHE`, `CONTRAST_OFFLINE=1`, `CONTRAST_KDS_URL`, `CONTRAST_PCS_URL`,
 * `CONTRAST_ROOT_CA_CRL_URL` and `CONTRAST_AMD_CRL_URL` are the defaults).
 */
export function cliEvidenceVerifier(options: CliCollateralOptions = {}): ManifestEvidenceVerifier {
  const verifiers = manifestVerifiersWithCollateral({
    cacheDir: options.cacheDir ?? Deno.env.get("CONTRAST_COLLATERAL_CACHE") ??
      defaultCollateralCacheDir(),
    offline: options.offline || Deno.env.get("CONTRAST_OFFLINE") === "1",
    importDirs: options.importDirs ?? [],
    kdsBaseUrl: options.kdsBaseUrl ?? (Deno.env.get("CONTRAST_KDS_URL") || undefined),
    pcsBaseUrl: options.pcsBaseUrl ?? (Deno.env.get("CONTRAST_PCS_URL") || undefined),
    rootCaCrlUrl: options.rootCaCrlUrl ?? (Deno.env.get("CONTRAST_ROOT_CA_CRL_URL") || undefined),
    amdCrlUrl: options.amdCrlUrl ?? (Deno.env.get("CONTRAST_AMD_CRL_URL") || undefined),
    simulatedTdxCollateralDir: Deno.env.get("CONTRAST_SIMULATED_TDX_COLLATERAL"),
  });
  return (manifest, evidence, options) => verifiers.verify(manifest, evidence, options);
}

/** One initdata document found in YAML, with where it was found. */
interface FoundInitdata {
  /** The exact TOML bytes. */
  readonly bytes: Uint8Array;
  /** Lower-case hex SHA-256 of the bytes. */
  readonly digest: string;
  /** `file: Kind/name` of the resource that carries it. */
  readonly source: string;
}

function collectAnnotations(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectAnnotations(item, out);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "annotations" && typeof value === "object" && value !== null) {
      const v = (value as Record<string, unknown>)[INITDATA_ANNOTATION];
      if (typeof v === "string") out.push(v);
    }
    collectAnnotations(value, out);
  }
}

/**
 * Every initdata document in the YAML files at `paths` (files, or directories of `*.yml` /
 * `*.yaml`; every resource, every pod template),
 * decoded from the `cc_init_data` annotation; duplicates (same digest) appear once.
 *
 * @throws {ParseError} naming the file when YAML or an annotation is malformed
 */
export async function initdataFromYaml(paths: readonly string[]): Promise<FoundInitdata[]> {
  const found = new Map<string, FoundInitdata>();
  for (const path of await expandYamlPaths(paths)) {
    const text = new TextDecoder().decode(await readFileNamed(path));
    const docs = parseAllDocuments(text, { version: "1.1" });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const [i, doc] of list.entries()) {
      const error = doc.errors[0];
      if (error) {
        const at = error.linePos?.[0];
        throw new ParseError(
          at ? `${path}:${at.line}:${at.col}` : `${path}[${i}]`,
          `not valid YAML: ${error.message.split("\n")[0]}`,
        );
      }
      const value = plainYamlValue(doc, `${path}[${i}]`) as Record<string, unknown> | null;
      if (!value) continue;
      const meta = (value.metadata ?? {}) as Record<string, unknown>;
      const source = `${path}: ${String(value.kind ?? "?")}/${String(meta.name ?? "?")}`;
      const annotations: string[] = [];
      collectAnnotations(value, annotations);
      for (const annotation of annotations) {
        const initdata = await decodeInitdataAnnotation(annotation, `${source}.annotations`);
        const digest = encodeHex(await sha256(initdata.bytes));
        if (!found.has(digest)) found.set(digest, { bytes: initdata.bytes, digest, source });
      }
    }
  }
  return [...found.values()];
}

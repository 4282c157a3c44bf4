/**
 * What `contrast set|verify|recover` share: reading the local manifest, verifying a
 * Coordinator's evidence against it, and extracting initdata documents from generated YAML.
 *
 * @module
 */
import { plainYamlValue } from "../util/yaml/plain_value.ts";
import { parseAllDocuments } from "yaml";
import { encodeHex, sha256 } from "../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../util/errors/mod.ts";
import { decodeInitdataAnnotation, INITDATA_ANNOTATION } from "../policy/initdata.ts";
import {
  defaultCollateralCacheDir,
  manifestVerifiersWithCollateral,
} from "../manifest/collateral_config.ts";
import { type Manifest, parseManifest } from "../manifest/manifest.ts";
import type { ManifestEvidenceVerifier } from "../manifest/verifiers.ts";

/** A manifest read from disk with its exact bytes. */
export interface LocalManifest {
  /** The path read. */
  readonly path: string;
  /** The exact bytes. */
  readonly bytes: Uint8Array;
  /** The parsed manifest. */
  readonly manifest: Manifest;
}

/** Reads a file, turning "not found" into a typed error naming it. */
export async function readFileNamed(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new UnavailableError(path, "file not found", { cause });
    }
    throw new UnavailableError(path, `cannot read: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and parses the manifest at `path`.
 *
 * @throws {import("../util/errors/mod.ts").InvalidDocumentError} naming every problem
 */
export async function readLocalManifest(path: string): Promise<LocalManifest> {
  const bytes = await readFileNamed(path);
  return { path, bytes, manifest: parseManifest(bytes) };
}

/**
 * An evidence verifier for the CLI (one chain cache for the command's run; vendor collateral
 * through the disk cache at `CONTRAST_COLLATERAL_CACHE` or the default cache folder, offline
 * when `CONTRAST_OFFLINE=1`).
 */
export function cliEvidenceVerifier(): ManifestEvidenceVerifier {
  const verifiers = manifestVerifiersWithCollateral({
    cacheDir: Deno.env.get("CONTRAST_COLLATERAL_CACHE") ?? defaultCollateralCacheDir(),
    offline: Deno.env.get("CONTRAST_OFFLINE") === "1",
    simulatedTdxCollateralDir: Deno.env.get("CONTRAST_SIMULATED_TDX_COLLATERAL"),
  });
  return (manifest, evidence, options) => verifiers.verify(manifest, evidence, options);
}

/** One initdata document found in YAML, with where it was found. */
export interface FoundInitdata {
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
 * Every initdata document in the YAML files at `paths` (every resource, every pod template),
 * decoded from the `cc_init_data` annotation; duplicates (same digest) appear once.
 *
 * @throws {ParseError} naming the file when YAML or an annotation is malformed
 */
export async function initdataFromYaml(paths: readonly string[]): Promise<FoundInitdata[]> {
  const found = new Map<string, FoundInitdata>();
  for (const path of paths) {
    const text = new TextDecoder().decode(await readFileNamed(path));
    const docs = parseAllDocuments(text, { version: "1.1" });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const [i, doc] of list.entries()) {
      if (doc.errors.length > 0) {
        throw new ParseError(`${path}[${i}]`, `not valid YAML: ${doc.errors[0]!.message}`);
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

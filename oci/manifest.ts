/**
 * Parsing of OCI/Docker image manifests, indexes (manifest lists) and image configs into typed
 * values, and the choice of a platform's manifest from an index. Unknown fields are allowed (the
 * specs allow extensions); missing or mistyped required fields are a {@link ParseError} that lists
 * every problem with its JSON path.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { childPath, duplicateKeyIssues, IssueList, ObjectReader } from "../util/json/mod.ts";
import { parseDigest } from "./digest.ts";
import { CONFIG_TYPES, INDEX_TYPES, LAYER_TYPES, MANIFEST_TYPES } from "./media_types.ts";
import type { ImageProcessConfig } from "./types.ts";

/** A platform as written in an index entry. */
export interface Platform {
  /** Operating system, e.g. `linux`. */
  readonly os: string;
  /** CPU architecture, e.g. `amd64`. */
  readonly architecture: string;
  /** Architecture variant, e.g. `v8` (undefined when unset). */
  readonly variant?: string;
}

/** A content descriptor: what a manifest or index points at. */
export interface Descriptor {
  /** Media type of the referenced content. */
  readonly mediaType: string;
  /** `sha256:<hex>` digest of the referenced content. */
  readonly digest: string;
  /** Size of the referenced content in bytes. */
  readonly size: number;
  /** Platform (index entries only). */
  readonly platform?: Platform;
}

/** A single-platform image manifest. */
export interface ImageManifest {
  /** Discriminator. */
  readonly kind: "manifest";
  /** Media type of the manifest. */
  readonly mediaType: string;
  /** The image config. */
  readonly config: Descriptor;
  /** The layers, lowest first. */
  readonly layers: readonly Descriptor[];
}

/** A multi-platform image index (OCI index or Docker manifest list). */
export interface ImageIndex {
  /** Discriminator. */
  readonly kind: "index";
  /** Media type of the index. */
  readonly mediaType: string;
  /** The platform manifests. */
  readonly manifests: readonly Descriptor[];
}

/** The parts of an image config contrast uses. */
export interface ImageConfig {
  /** `os` of the config. */
  readonly os: string;
  /** `architecture` of the config. */
  readonly architecture: string;
  /** The process defaults. */
  readonly process: ImageProcessConfig;
  /** `rootfs.diff_ids`: digests of the uncompressed layers, lowest first. */
  readonly diffIds: readonly string[];
}

/** Fields of manifests and indexes contrast reads. */
const MANIFEST_FIELDS = ["schemaVersion", "mediaType", "config", "layers", "manifests"];
/** Fields of a descriptor's platform contrast reads. */
const PLATFORM_FIELDS = ["os", "architecture", "variant"];
/** Fields of an image config's `config` (process defaults) contrast reads. */
const PROCESS_FIELDS = ["Entrypoint", "Cmd", "Env", "WorkingDir", "User", "Volumes"];

/** Largest manifest, index or config contrast accepts (the distribution spec's 4 MiB limit). */
export const MAX_DOCUMENT_SIZE = 4 * 1024 * 1024;

/**
 * The JSON value of a document, refusing duplicate keys: `JSON.parse` keeps the last of two, and
 * a reader that keeps another would run an image other than the one the policy describes.
 */
function parseJson(bytes: Uint8Array, field: string): unknown {
  if (bytes.length > MAX_DOCUMENT_SIZE) {
    throw new ParseError(field, `document larger than ${MAX_DOCUMENT_SIZE} bytes`);
  }
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (e) {
    throw new ParseError(field, `not valid JSON: ${(e as Error).message}`);
  }
  const duplicates = duplicateKeyIssues(text);
  if (duplicates.length > 0) {
    throw new ParseError(field, duplicates.map((i) => `${i.path}: ${i.reason}`).join("; "));
  }
  return value;
}

/** A key as Go's `encoding/json` matches struct fields: case-insensitive, Unicode-folded. */
function goFold(key: string): string {
  // Lower, upper, lower: also folds "ſ" (U+017F) to "s" and the Kelvin sign (U+212A) to "k".
  return key.toLowerCase().toUpperCase().toLowerCase();
}

/**
 * Records an issue for each key of the object `value` that differs from one of `names` (the
 * fields contrast reads) only in case: containerd (Go) decodes it into that field, `JSON.parse`
 * keeps it apart, so the two would read different values.
 */
function refuseFoldedKeys(
  value: unknown,
  names: readonly string[],
  path: string,
  issues: IssueList,
): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  const folded = new Map(names.map((n) => [goFold(n), n]));
  for (const key of Object.keys(value)) {
    const name = folded.get(goFold(key));
    if (name !== undefined && name !== key) {
      issues.add(
        childPath(path, key),
        `differs from ${JSON.stringify(name)} only in case; containerd (Go) reads it as ` +
          `${JSON.stringify(name)} (refused: readers disagree)`,
      );
    }
  }
}

function throwIssues(issues: IssueList, field: string): void {
  if (issues.empty) return;
  const text = issues.issues.map((i) => `${i.path || "(root)"}: ${i.reason}`).join("; ");
  throw new ParseError(field, text);
}

/**
 * Reads a nested object like `ObjectReader.object`, but allows fields it does not read: image
 * documents carry many (labels, annotations, history, `os.version`, …) that contrast ignores.
 */
function lenientObject<T>(
  r: ObjectReader,
  key: string,
  read: (reader: ObjectReader) => T,
  required = true,
): T | undefined {
  const value = r.raw(key, required);
  if (value === undefined || (value === null && !required)) return undefined;
  const reader = new ObjectReader(value, childPath(r.path, key), r.issues);
  return reader.ok ? read(reader) : undefined;
}

function readDescriptor(
  value: unknown,
  path: string,
  issues: IssueList,
  allowedTypes: readonly string[] | "any",
): Descriptor | undefined {
  const r = new ObjectReader(value, path, issues);
  if (!r.ok) return undefined;
  refuseFoldedKeys(value, ["mediaType", "digest", "size", "platform"], path, issues);
  refuseFoldedKeys(r.raw("platform", false), PLATFORM_FIELDS, childPath(path, "platform"), issues);
  const mediaType = r.string("mediaType");
  const digest = r.string("digest");
  const size = r.integer("size", { min: 0 });
  const platform = lenientObject(r, "platform", (p) => {
    const os = p.string("os");
    const architecture = p.string("architecture");
    const variant = p.string("variant", false);
    if (os === undefined || architecture === undefined) return undefined;
    return variant === undefined ? { os, architecture } : { os, architecture, variant };
  }, false);
  if (mediaType !== undefined && allowedTypes !== "any" && !allowedTypes.includes(mediaType)) {
    issues.add(`${path}.mediaType`, `unsupported media type ${JSON.stringify(mediaType)}`);
    return undefined;
  }
  if (digest !== undefined) {
    try {
      parseDigest(digest);
    } catch (e) {
      issues.add(`${path}.digest`, (e as ParseError).reason);
      return undefined;
    }
  }
  if (mediaType === undefined || digest === undefined || size === undefined) return undefined;
  return platform ? { mediaType, digest, size, platform } : { mediaType, digest, size };
}

/**
 * Parses a manifest or index document.
 *
 * @param bytes the document as received (its digest is checked by the caller)
 * @param contentType the `Content-Type` the registry sent, or the media type of the descriptor
 *   that pointed here; used when the document has no `mediaType` field, and a document whose
 *   `mediaType` contradicts it is rejected
 * @param field what the document is, for errors (e.g. `manifest of nginx:1.27`)
 * @throws {ParseError} when the document is not a supported manifest or index
 */
export function parseManifestDocument(
  bytes: Uint8Array,
  contentType: string | undefined,
  field: string,
): ImageManifest | ImageIndex {
  const json = parseJson(bytes, field);
  const issues = new IssueList();
  const r = new ObjectReader(json, "", issues);
  throwIssues(issues, field);
  refuseFoldedKeys(json, MANIFEST_FIELDS, "", issues);
  throwIssues(issues, field);
  const schemaVersion = r.integer("schemaVersion");
  const declared = r.string("mediaType", false);
  throwIssues(issues, field);
  if (schemaVersion !== 2) {
    throw new ParseError(field, `unsupported schemaVersion ${schemaVersion} (want 2)`);
  }
  const header = contentType?.split(";")[0]?.trim();
  if (declared !== undefined && header && header !== declared && header !== "application/json") {
    throw new ParseError(
      field,
      `mediaType ${JSON.stringify(declared)} contradicts ${JSON.stringify(header)} ` +
        "(the registry's Content-Type or the referring descriptor)",
    );
  }
  let mediaType = declared ?? header;
  if (mediaType === undefined || mediaType === "application/json") {
    // OCI documents may omit mediaType; tell index from manifest by their fields.
    mediaType = r.has("manifests") ? INDEX_TYPES[0]! : MANIFEST_TYPES[0]!;
  }
  // An index that also has manifest fields (or the reverse) could be read either way by
  // different clients (CVE-2021-41190): reject it.
  if (r.has("manifests") && (r.has("layers") || r.has("config"))) {
    throw new ParseError(field, "ambiguous document: has both manifests and layers/config");
  }
  if (INDEX_TYPES.includes(mediaType)) {
    const manifests = r.array(
      "manifests",
      // Indexes may also list other artifacts (signatures, attestations, charts): allowed here,
      // never selected as an image.
      (v, p) => readDescriptor(v, p, issues, "any"),
    );
    throwIssues(issues, field);
    return { kind: "index", mediaType, manifests: manifests ?? [] };
  }
  if (MANIFEST_TYPES.includes(mediaType)) {
    const config = readDescriptor(r.raw("config"), "config", issues, CONFIG_TYPES);
    const layers = r.array("layers", (v, p) => readDescriptor(v, p, issues, LAYER_TYPES));
    throwIssues(issues, field);
    if (config === undefined || layers === undefined) {
      throw new ParseError(field, "manifest lacks config or layers");
    }
    return { kind: "manifest", mediaType, config, layers };
  }
  throw new ParseError(field, `unsupported manifest media type ${JSON.stringify(mediaType)}`);
}

/**
 * Picks the manifest for `wanted` from an index. An entry without variant, or with the lowest
 * variant, wins when several match.
 *
 * @returns the descriptor, or undefined when the index has no such platform
 */
export function selectPlatform(index: ImageIndex, wanted: Platform): Descriptor | undefined {
  const matches = index.manifests.filter((m) =>
    (MANIFEST_TYPES.includes(m.mediaType) || INDEX_TYPES.includes(m.mediaType)) &&
    m.platform?.os === wanted.os && m.platform.architecture === wanted.architecture &&
    (wanted.variant === undefined || m.platform.variant === wanted.variant)
  );
  matches.sort((a, b) => (a.platform?.variant ?? "").localeCompare(b.platform?.variant ?? ""));
  return matches[0];
}

function stringList(r: ObjectReader, key: string): string[] {
  return r.array(key, (v, p) => {
    if (typeof v === "string") return v;
    r.issues.add(p, "expected a string");
    return undefined;
  }, false) ?? [];
}

/** `{volumes}`: the sorted paths of an image config's `Volumes` object, when it has any. */
function volumePaths(value: unknown): { volumes?: string[] } {
  const paths = typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.keys(value).sort()
    : [];
  return paths.length > 0 ? { volumes: paths } : {};
}

/**
 * Parses an image config (OCI or Docker).
 *
 * @throws {ParseError} naming `field` when the config is malformed
 */
export function parseImageConfig(bytes: Uint8Array, field: string): ImageConfig {
  const json = parseJson(bytes, field);
  const issues = new IssueList();
  const r = new ObjectReader(json, "", issues);
  throwIssues(issues, field);
  refuseFoldedKeys(json, ["os", "architecture", "config", "rootfs"], "", issues);
  refuseFoldedKeys(r.raw("config", false), PROCESS_FIELDS, "config", issues);
  refuseFoldedKeys(r.raw("rootfs", false), ["type", "diff_ids"], "rootfs", issues);
  throwIssues(issues, field);
  const os = r.string("os");
  const architecture = r.string("architecture");
  const process = lenientObject(r, "config", (c) => ({
    entrypoint: stringList(c, "Entrypoint"),
    cmd: stringList(c, "Cmd"),
    env: stringList(c, "Env"),
    workingDir: c.string("WorkingDir", false) ?? "",
    user: c.string("User", false) ?? "",
    ...volumePaths(c.raw("Volumes", false)),
  }), false) ?? { entrypoint: [], cmd: [], env: [], workingDir: "", user: "" };
  const diffIds = lenientObject(r, "rootfs", (root) => {
    const type = root.string("type");
    if (type !== undefined && type !== "layers") {
      issues.add("rootfs.type", `expected "layers", got ${JSON.stringify(type)}`);
    }
    return stringList(root, "diff_ids");
  }) ?? [];
  throwIssues(issues, field);
  return { os: os!, architecture: architecture!, process, diffIds };
}

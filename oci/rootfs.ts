/**
 * The final filesystem of an image, built by applying its layers in order without extracting
 * anything to disk: every entry's metadata is kept in an in-memory tree, contents only for the
 * few files asked for (`/etc/passwd`, `/etc/group`). Whiteouts (`.wh.<name>`) remove lower-layer
 * entries, opaque markers (`.wh..wh..opq`) empty a lower-layer directory, hard links share their
 * target's content, symlinks are followed when a path is looked up (within the image root).
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { readTar, type TarEntry } from "./tar.ts";

/** Where a file's content is: the layer and tar path it came from. */
interface ContentSource {
  /** Index of the layer (0 = lowest). */
  readonly layer: number;
  /** Path of the entry in that layer's tar, normalised. */
  readonly path: string;
}

interface DirNode {
  readonly kind: "dir";
  readonly layer: number;
  readonly children: Map<string, FsNode>;
}

interface FileNode {
  readonly kind: "file";
  readonly layer: number;
  readonly source: ContentSource;
  readonly content?: Uint8Array;
}

interface SymlinkNode {
  readonly kind: "symlink";
  readonly layer: number;
  readonly target: string;
}

interface OtherNode {
  readonly kind: "other";
  readonly layer: number;
}

type FsNode = DirNode | FileNode | SymlinkNode | OtherNode;

/** What a path resolves to after following symlinks. */
type LookupResult =
  | { readonly kind: "file"; readonly source: ContentSource; readonly content?: Uint8Array }
  | { readonly kind: "missing" | "directory" | "other" };

/**
 * Most tar entries applied across an image's layers (each stays in memory, ~200 bytes): large
 * images hold a few hundred thousand files; four million is ~800 MiB of tree.
 */
export const LAYERED_FILESYSTEM_MAX_ENTRIES = 4_000_000;

/** Options of a {@link LayeredFilesystem}. */
interface LayeredFilesystemOptions {
  /** Most entries applied across all layers (default {@link LAYERED_FILESYSTEM_MAX_ENTRIES}). */
  readonly maxEntries?: number;
}

/** Largest file whose content is kept in memory. */
const MAX_CAPTURED_FILE = 16 * 1024 * 1024;
const MAX_SYMLINK_HOPS = 40;
/**
 * Longest path or link target in bytes: Linux's `PATH_MAX` (4096) less the NUL. A runtime cannot
 * extract a longer one, and walking one costs time in its number of components.
 */
const MAX_PATH_BYTES = 4095;
const ENCODER = new TextEncoder();

/** Whether `path` has a `..` component. */
function hasParentStep(path: string): boolean {
  return path.includes("..") && path.split("/").includes("..");
}

/** @throws {ParseError} naming `field` when `path` is longer than {@link MAX_PATH_BYTES} */
function checkPathLength(path: string, what: string, field: string): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only long strings need encoding.
  if (path.length * 3 <= MAX_PATH_BYTES) return;
  const bytes = ENCODER.encode(path).length;
  if (bytes > MAX_PATH_BYTES) {
    throw new ParseError(
      field,
      `${what} ${
        JSON.stringify(path.slice(0, 64))
      }… is ${bytes} bytes, longer than ${MAX_PATH_BYTES} bytes (Linux PATH_MAX)`,
    );
  }
}
const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/** Splits a path into its components, dropping empty and `.` parts and resolving `..`. */
export function normalizePath(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * An image filesystem assembled layer by layer. Create it with the normalised paths whose
 * content should be kept, then {@link applyLayer} each layer lowest first and {@link lookup}.
 */
export class LayeredFilesystem {
  readonly #root: DirNode = { kind: "dir", layer: -1, children: new Map() };
  readonly #wanted: ReadonlySet<string>;
  readonly #maxEntries: number;
  #entries = 0;

  /**
   * An empty filesystem.
   *
   * @param wanted paths (e.g. `etc/passwd`) whose file content is kept
   */
  constructor(wanted: Iterable<string>, options: LayeredFilesystemOptions = {}) {
    this.#wanted = new Set([...wanted].map((p) => normalizePath(p).join("/")));
    this.#maxEntries = options.maxEntries ?? LAYERED_FILESYSTEM_MAX_ENTRIES;
  }

  /**
   * Walks `parts` from the root, following symlinks in every component (and the last one when
   * `followLast`). Returns the directory chain with its names, the last name and the final node
   * (undefined when missing), or undefined when a parent is missing, not a directory, or
   * symlinks loop.
   */
  #walk(
    parts: readonly string[],
    followLast: boolean,
  ): { dirs: DirNode[]; names: string[]; name: string; node: FsNode | undefined } | undefined {
    const dirs: DirNode[] = [this.#root];
    const names: string[] = [];
    const remaining = [...parts];
    let hops = 0;
    while (remaining.length > 0) {
      const name = remaining.shift()!;
      if (name === "" || name === ".") continue;
      if (name === "..") {
        if (dirs.length > 1) {
          dirs.pop();
          names.pop();
        }
        continue;
      }
      const dir = dirs[dirs.length - 1]!;
      const node = dir.children.get(name);
      const last = remaining.every((p) => p === "" || p === ".");
      if (node?.kind === "symlink" && (!last || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        if (node.target.startsWith("/")) {
          dirs.splice(1);
          names.splice(0);
        }
        remaining.unshift(...node.target.split("/"));
        continue;
      }
      if (last) return { dirs, names, name, node };
      if (node?.kind !== "dir") return undefined;
      dirs.push(node);
      names.push(name);
    }
    return { dirs, names, name: "", node: dirs[dirs.length - 1] };
  }

  /**
   * The directory at `parts`, following symlinked parents as an extracting runtime would
   * (within the image root), creating missing directories and replacing non-directories.
   */
  #ensureDir(parts: readonly string[], layer: number): DirNode {
    let dir = this.#root;
    let path: string[] = [];
    for (const name of parts) {
      const child = dir.children.get(name);
      if (child?.kind === "dir") {
        dir = child;
        path.push(name);
        continue;
      }
      if (child?.kind === "symlink") {
        const walked = this.#walk([...path, name], true);
        if (walked?.node?.kind === "dir") {
          dir = walked.node;
          path = walked.name === "" ? [...walked.names] : [...walked.names, walked.name];
          continue;
        }
        if (walked && walked.node === undefined && walked.name !== "") {
          const created: DirNode = { kind: "dir", layer, children: new Map() };
          walked.dirs[walked.dirs.length - 1]!.children.set(walked.name, created);
          dir = created;
          path = [...walked.names, walked.name];
          continue;
        }
      }
      const created: DirNode = { kind: "dir", layer, children: new Map() };
      dir.children.set(name, created);
      dir = created;
      path.push(name);
    }
    return dir;
  }

  /** Whether the content of the entry at `path` (as stored in a tar) should be kept. */
  wants(path: string): boolean {
    return this.#wanted.has(normalizePath(path).join("/"));
  }

  /**
   * Applies one tar entry of layer `layer` (entries must come in tar order, layers lowest
   * first). `data` is the content of wanted files.
   *
   * @throws {ParseError} naming `field` for a hard link to a missing file, a path or link
   *   target longer than Linux's `PATH_MAX`, a path or hard link target with a `..`
   *   component, or more entries than the filesystem's bound
   */
  applyEntry(entry: TarEntry, layer: number, field: string, data?: Uint8Array): void {
    if (++this.#entries > this.#maxEntries) {
      throw new ParseError(
        field,
        `the image's layers have more than ${this.#maxEntries} entries (kept in memory)`,
      );
    }
    checkPathLength(entry.path, "path", field);
    if (entry.type === "symlink" || entry.type === "hardlink") {
      checkPathLength(entry.linkName, `link target of ${entry.path}`, field);
    }
    // containerd clamps `..` at the image root, the guest's image-rs (tokio-tar `unpack_in`)
    // skips the entry: which file the runtime holds is not decided, so it is refused.
    if (hasParentStep(entry.path)) {
      throw new ParseError(field, `path ${JSON.stringify(entry.path)} has a '..' component`);
    }
    if (entry.type === "hardlink" && hasParentStep(entry.linkName)) {
      throw new ParseError(
        field,
        `hard link ${entry.path} targets ${
          JSON.stringify(entry.linkName)
        }, which has a '..' component`,
      );
    }
    const parts = normalizePath(entry.path);
    if (parts.length === 0) return; // the root directory itself
    const name = parts[parts.length - 1]!;
    const parent = this.#ensureDir(parts.slice(0, -1), layer);
    if (name === OPAQUE) {
      for (const [child, node] of parent.children) {
        if (node.layer < layer) parent.children.delete(child);
      }
      return;
    }
    if (name.startsWith(WHITEOUT)) {
      const hidden = name.slice(WHITEOUT.length);
      const node = parent.children.get(hidden);
      if (node && node.layer < layer) parent.children.delete(hidden);
      return;
    }
    const existing = parent.children.get(name);
    switch (entry.type) {
      case "directory":
        if (existing?.kind !== "dir") {
          parent.children.set(name, { kind: "dir", layer, children: new Map() });
        }
        return;
      case "file":
        parent.children.set(name, {
          kind: "file",
          layer,
          source: { layer, path: parts.join("/") },
          content: data,
        });
        return;
      case "symlink":
        parent.children.set(name, { kind: "symlink", layer, target: entry.linkName });
        return;
      case "hardlink": {
        // A hard link shares its target's inode: a file (content), a symlink or a special file.
        const target = this.#walk(normalizePath(entry.linkName), false)?.node;
        if (target === undefined || target.kind === "dir") {
          throw new ParseError(
            field,
            `hard link ${entry.path} points at ${entry.linkName}, which is not a file in the image`,
          );
        }
        parent.children.set(name, { ...target, layer });
        return;
      }
      case "other":
        parent.children.set(name, { kind: "other", layer });
        return;
    }
  }

  /**
   * Applies a whole layer, given as its decompressed tar stream.
   *
   * @throws {ParseError} on malformed tar data or a wanted file larger than
   *   {@link MAX_CAPTURED_FILE}
   */
  async applyLayer(
    stream: ReadableStream<Uint8Array>,
    layer: number,
    field: string,
  ): Promise<void> {
    await readTar(stream, field, (entry, data) => {
      if (data !== undefined) {
        this.applyEntry(entry, layer, field, data);
        return false;
      }
      if (entry.type === "file" && this.wants(entry.path)) {
        if (entry.size > MAX_CAPTURED_FILE) {
          throw new ParseError(field, `${entry.path} is larger than ${MAX_CAPTURED_FILE} bytes`);
        }
        return true;
      }
      this.applyEntry(entry, layer, field);
      return false;
    });
  }

  /** What `path` resolves to in the filesystem assembled so far (symlinks followed). */
  lookup(path: string): LookupResult {
    const walked = this.#walk(path.split("/"), true);
    const node = walked?.node;
    if (!node) return { kind: "missing" };
    switch (node.kind) {
      case "file":
        return { kind: "file", source: node.source, content: node.content };
      case "dir":
        return { kind: "directory" };
      default:
        return { kind: "other" };
    }
  }
}

/**
 * Reads the content of the file at `path` (normalised tar path) from one layer's decompressed
 * tar stream; the last entry of that path wins.
 *
 * @returns the content, or undefined when the layer has no such file
 */
export async function readFileFromLayer(
  stream: ReadableStream<Uint8Array>,
  path: string,
  field: string,
): Promise<Uint8Array | undefined> {
  const wanted = normalizePath(path).join("/");
  let content: Uint8Array | undefined;
  await readTar(stream, field, (entry, data) => {
    if (data !== undefined) {
      content = data;
      return false;
    }
    if (entry.type !== "file" || normalizePath(entry.path).join("/") !== wanted) return false;
    if (entry.size > MAX_CAPTURED_FILE) {
      throw new ParseError(field, `${entry.path} is larger than ${MAX_CAPTURED_FILE} bytes`);
    }
    return true;
  });
  return content;
}

/**
 * The pinned inputs of contrast's images (`pins.json`): the Deno runtime from the npm package
 * `@deno/linux-x64-glibc`, the glibc, libgcc and CA certificates from Debian packages, and the
 * extra Debian package sets single images add (`extras`: the service-mesh proxy's iptables, the
 * initializer's cryptsetup). Each is
 * downloaded once with its ordinary client (`npm pack`, `apt-get download`) into a cache folder,
 * and used only when its SHA-256 is the pinned one; then the files the images need are read from
 * the archives in memory (no extraction to disk, nothing taken from the build machine).
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { encodeHex } from "../../util/bytes/mod.ts";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { readTar } from "../../oci/tar.ts";
import pins from "./pins.json" with { type: "json" };

/** A pinned Debian package. */
export interface DebianPin {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  /** Paths (a `*` matches within one path component) of the files the images take. */
  readonly files: readonly string[];
}

/** What `pins.json` pins. */
export interface Pins {
  readonly deno: {
    readonly package: string;
    readonly version: string;
    readonly tarballSha256: string;
    readonly binarySha256: string;
  };
  readonly debian: readonly DebianPin[];
  /** Package sets an image adds in its own layer, by set name. */
  readonly extras: Readonly<Record<string, readonly DebianPin[]>>;
}

/** The pins the images are built from. */
export const PINS: Pins = pins;

/** A regular file taken from a pinned archive. */
interface RuntimeRegularFile {
  /** Path in the image (no leading slash). */
  readonly path: string;
  readonly data: Uint8Array;
  readonly mode: number;
}

/** A symbolic link taken from a pinned archive (e.g. a library's soname link). */
interface RuntimeSymlink {
  /** Path in the image (no leading slash). */
  readonly path: string;
  /** The link target, as the package has it. */
  readonly target: string;
}

/** A file or symbolic link taken from a pinned archive. */
export type RuntimeFile = RuntimeRegularFile | RuntimeSymlink;

/** Whether `file` is a symbolic link. */
export function isSymlink(file: RuntimeFile): file is RuntimeSymlink {
  return "target" in file;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  return encodeHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)),
  );
}

async function run(cmd: string, args: string[], cwd: string, what: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new UnavailableError(what, `cannot run ${cmd}: ${error}`);
  }
  if (!out.success) {
    throw new UnavailableError(
      what,
      `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * The bytes of `file` in `cacheDir`, downloaded by `download` when missing, checked against the
 * pinned SHA-256. A file with another digest is removed and reported, never used.
 */
async function pinnedFile(
  cacheDir: string,
  file: string,
  sha256: string,
  what: string,
  download: () => Promise<void>,
): Promise<Uint8Array> {
  const path = `${cacheDir}/${file}`;
  let data = await readIfPresent(path);
  if (data === undefined) {
    await download();
    data = await readIfPresent(path);
    if (data === undefined) throw new UnavailableError(what, `download did not produce ${path}`);
  }
  const actual = await sha256Hex(data);
  if (actual !== sha256) {
    await Deno.remove(path);
    throw new VerificationError(
      what,
      `${file} has SHA-256 ${actual}, but scripts/images/pins.json pins ${sha256}; removed it`,
    );
  }
  return data;
}

function matches(pattern: string, path: string): boolean {
  const re = new RegExp(
    `^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`,
  );
  return re.test(path);
}

async function filesFromTar(
  stream: ReadableStream<Uint8Array>,
  what: string,
  wanted: readonly string[],
): Promise<RuntimeFile[]> {
  const found: RuntimeFile[] = [];
  await readTar(stream, what, (entry, data) => {
    const path = entry.path.replace(/^\.?\//, "");
    if (!wanted.some((w) => matches(w, path))) return false;
    if (entry.type === "symlink") {
      found.push({ path, target: entry.linkName });
      return false;
    }
    if (entry.type !== "file") return false;
    if (data === undefined) return true;
    found.push({ path, data, mode: entry.mode & 0o777 });
    return false;
  });
  for (const w of wanted) {
    if (!found.some((f) => matches(w, f.path))) {
      throw new VerificationError(what, `the archive has no file ${w}`);
    }
  }
  return found.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/**
 * The Deno runtime binary of the pinned npm package (downloaded with `npm pack` into `cacheDir`).
 *
 * @throws {UnavailableError} when npm cannot download it
 * @throws {VerificationError} when the tarball or the binary has another digest than pinned
 */
export async function denoRuntime(cacheDir: string): Promise<Uint8Array> {
  const d = PINS.deno;
  const what = `npm ${d.package}@${d.version}`;
  const file = `${d.package.replace(/^@/, "").replace("/", "-")}-${d.version}.tgz`;
  const tgz = await pinnedFile(
    cacheDir,
    file,
    d.tarballSha256,
    what,
    () => run("npm", ["pack", "--silent", `${d.package}@${d.version}`], cacheDir, what),
  );
  // node:zlib's one-shot gunzip is several times faster than a DecompressionStream here.
  const tar = new Uint8Array(gunzipSync(tgz));
  const stream = new Blob([tar]).stream();
  const [binary] = await filesFromTar(stream, what, ["package/deno"]);
  if (binary === undefined || isSymlink(binary)) {
    throw new VerificationError(what, "package/deno is not a regular file");
  }
  const actual = await sha256Hex(binary.data);
  if (actual !== d.binarySha256) {
    throw new VerificationError(
      what,
      `package/deno has SHA-256 ${actual}, pinned ${d.binarySha256}`,
    );
  }
  return binary.data;
}

async function debianFiles(cacheDir: string, pin: DebianPin): Promise<RuntimeFile[]> {
  const what = `debian ${pin.package}=${pin.version}`;
  // apt-get download keeps a version's epoch in the file name, its colon written as %3a.
  const file = `${pin.package}_${pin.version.replaceAll(":", "%3a")}_${pin.architecture}.deb`;
  await pinnedFile(
    cacheDir,
    file,
    pin.sha256,
    what,
    () => run("apt-get", ["download", `${pin.package}=${pin.version}`], cacheDir, what),
  );
  const tar = new Deno.Command("dpkg-deb", {
    args: ["--fsys-tarfile", `${cacheDir}/${file}`],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const files = await filesFromTar(tar.stdout, what, pin.files);
  const status = await tar.status;
  if (!status.success) throw new VerificationError(what, `dpkg-deb cannot read ${file}`);
  return files;
}

/**
 * The runtime files of the images from the pinned Debian packages: the shared libraries Deno
 * links (in `lib/x86_64-linux-gnu/`) and the CA bundle built from the package's certificates
 * (`etc/ssl/certs/ca-certificates.crt`, certificates in file-name order, as
 * `update-ca-certificates` concatenates them).
 */
export async function debianRuntimeFiles(cacheDir: string): Promise<RuntimeFile[]> {
  const out: RuntimeFile[] = [];
  for (const pin of PINS.debian) {
    const files = await debianFiles(cacheDir, pin);
    if (pin.package !== "ca-certificates") {
      out.push(...files);
      continue;
    }
    const certificates = files.filter((f): f is RuntimeRegularFile => !isSymlink(f));
    const pems = certificates.map((f) => {
      const text = new TextDecoder().decode(f.data);
      return text.endsWith("\n") ? text : `${text}\n`;
    });
    out.push({
      path: "etc/ssl/certs/ca-certificates.crt",
      data: new TextEncoder().encode(pems.join("")),
      mode: 0o644,
    });
  }
  return out;
}

/**
 * The files of the extra package set `name` (`pins.json` `extras`, or `pins` when given), for an
 * image's own layer: every file and symbolic link its pins name, in path order.
 *
 * @throws {VerificationError} when `pins.json` has no such set, a package lacks a named file, or
 *   a link points at a file the set does not provide
 */
export async function debianExtraFiles(
  cacheDir: string,
  name: string,
  pins: Pins = PINS,
): Promise<RuntimeFile[]> {
  const set = pins.extras[name];
  if (set === undefined) {
    throw new VerificationError(`extras.${name}`, "scripts/images/pins.json has no such set");
  }
  const out: RuntimeFile[] = [];
  for (const pin of set) out.push(...await debianFiles(cacheDir, pin));
  const paths = new Set(out.map((f) => f.path));
  for (const link of out.filter(isSymlink)) {
    const dir = link.path.slice(0, link.path.lastIndexOf("/") + 1);
    const target = link.target.startsWith("/") ? link.target.slice(1) : `${dir}${link.target}`;
    if (!paths.has(target)) {
      throw new VerificationError(
        `extras.${name}`,
        `${link.path} links to ${link.target}, which no pinned file of the set provides`,
      );
    }
  }
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/**
 * The image of one component, as an {@link ImageSpec} for contrast's OCI writer: distroless (no
 * shell, no package manager), layers shared as far as possible between the images — runtime
 * (glibc, libgcc, CA bundle, account files, the folders the programs use), the Deno runtime,
 * the component's own pinned system files when it has any (the mesh proxy's iptables, the
 * initializer's cryptsetup), the
 * component's bundle — running as user 65532 (unless the component says otherwise) with the
 * component's narrowed Deno permissions. Nothing in the image needs to be written: it runs on a
 * read-only root file system with its state on volumes.
 *
 * @module
 */
import { type BlobLayer, type ImageSpec, layerEntries, type LayerFile } from "../../oci/writer.ts";
import { writeTar } from "../../oci/tar.ts";
import { gzip } from "../../oci/compression.ts";
import { digestOf } from "../../oci/digest.ts";
import { OCI_LAYER_GZIP } from "../../oci/media_types.ts";
import {
  type Component,
  CONFIG_DIR,
  type ExtraLayer,
  IMAGE_DIRS,
  NONROOT,
  SECRETS_DIR,
  STATE_DIR,
} from "./components.ts";
import { isSymlink, type RuntimeFile } from "./inputs.ts";

export { NONROOT };

/** Where the Deno runtime lives in the images. */
const DENO_PATH = "/usr/bin/deno";

const PASSWD = "root:x:0:0:root:/root:/sbin/nologin\n" +
  `nonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`;
const GROUP = `root:x:0:\nnonroot:x:${NONROOT}:\n`;

function owned(mode: number): LayerFile {
  return { type: "directory", mode, uid: NONROOT, gid: NONROOT };
}

/** The runtime layer's files: libraries, CA bundle, accounts and folders. */
export function runtimeLayerFiles(libraries: readonly RuntimeFile[]): Record<string, LayerFile> {
  const files: Record<string, LayerFile> = {
    "etc/": { type: "directory", mode: 0o755 },
    "etc/passwd": PASSWD,
    "etc/group": GROUP,
    "etc/nsswitch.conf": "hosts: files dns\n",
    [`${CONFIG_DIR.slice(1)}/`]: { type: "directory", mode: 0o755 },
    "home/": { type: "directory", mode: 0o755 },
    "home/nonroot/": owned(0o700),
    "tmp/": { type: "directory", mode: 0o1777 },
    "var/": { type: "directory", mode: 0o755 },
    "var/lib/": { type: "directory", mode: 0o755 },
    [`${STATE_DIR.slice(1)}/`]: owned(0o700),
    [`${SECRETS_DIR.slice(1)}/`]: owned(0o755),
    "lib64/": { type: "directory", mode: 0o755 },
    "lib64/ld-linux-x86-64.so.2": {
      type: "symlink",
      target: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    },
  };
  return withPackageFiles(files, libraries);
}

/** `files` plus `extra` (files and links) and the folders holding them (mode 0755). */
function withPackageFiles(
  files: Record<string, LayerFile>,
  extra: readonly RuntimeFile[],
  links: Readonly<Record<string, string>> = {},
): Record<string, LayerFile> {
  const paths = [...extra.map((f) => f.path), ...Object.keys(links)];
  const dirs = new Set<string>();
  for (const path of paths) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join("/")}/`);
  }
  for (const d of [...dirs].sort()) files[d] ??= { type: "directory", mode: 0o755 };
  for (const f of extra) {
    files[f.path] = isSymlink(f)
      ? { type: "symlink", target: f.target }
      : { content: f.data, mode: f.mode };
  }
  for (const [path, target] of Object.entries(links).sort(([a], [b]) => a < b ? -1 : 1)) {
    files[path] = { type: "symlink", target };
  }
  return files;
}

/**
 * The files of a component's own layer: its pinned package files and links (folders the
 * shared layers already have are repeated with the same mode, which changes nothing).
 */
export function extraLayerFiles(
  layer: ExtraLayer,
  files: readonly RuntimeFile[],
): Record<string, LayerFile> {
  return withPackageFiles({}, files, layer.links);
}

/** The command line of `component` in its image. */
export function imageEntrypoint(component: Component): string[] {
  return [
    DENO_PATH,
    "run",
    "--no-code-cache",
    ...component.permissions(IMAGE_DIRS),
    `/app/${component.name}.js`,
  ];
}

/** The files of the layer holding the Deno runtime. */
export function denoLayerFiles(deno: Uint8Array): Record<string, LayerFile> {
  return {
    "usr/": { type: "directory", mode: 0o755 },
    "usr/bin/": { type: "directory", mode: 0o755 },
    [DENO_PATH.slice(1)]: { content: deno, mode: 0o755 },
  };
}

/**
 * Builds a gzip layer blob from files once, so images sharing it do not compress it again (the
 * result is the same bytes {@link buildImage} would make).
 */
export async function sharedLayer(files: Record<string, LayerFile>): Promise<BlobLayer> {
  const tar = writeTar(layerEntries(files));
  return { blob: await gzip(tar), mediaType: OCI_LAYER_GZIP, diffId: await digestOf(tar) };
}

/** The layers every image shares: runtime files and the Deno runtime. */
interface SharedLayers {
  readonly runtime: BlobLayer;
  readonly deno: BlobLayer;
}

/**
 * The image of `component` (deterministic: same inputs, same digests); `extra` is the layer of
 * its {@link ExtraLayer}, when it has one.
 */
export function imageSpec(
  component: Component,
  shared: SharedLayers,
  bundle: Uint8Array,
  extra?: Record<string, LayerFile>,
): ImageSpec {
  const user = component.user ?? NONROOT;
  return {
    layers: [
      shared.runtime,
      shared.deno,
      ...(extra === undefined ? [] : [{ files: extra }]),
      {
        files: {
          "app/": { type: "directory", mode: 0o755 },
          [`app/${component.name}.js`]: { content: bundle, mode: 0o444 },
        },
      },
    ],
    entrypoint: imageEntrypoint(component),
    env: [
      "PATH=/usr/bin",
      "HOME=/home/nonroot",
      "DENO_NO_UPDATE_CHECK=1",
      "DENO_NO_PROMPT=1",
      "DENO_TLS_CA_STORE=system",
      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      ...component.env,
    ],
    user: `${user}:${user}`,
    workingDir: "/",
  };
}

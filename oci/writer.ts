/**
 * Builds OCI (or Docker schema 2) images from in-memory file maps — deterministic tar layers,
 * config, manifest, optionally an index of several platforms — and pushes them through the
 * distribution API. Tests and the local demo publish their images with it.
 *
 * @module
 */
import { ValidationError } from "../util/errors/mod.ts";
import { compress, type Compression } from "./compression.ts";
import { digestOf } from "./digest.ts";
import type { Descriptor, Platform } from "./manifest.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_TAR,
  DOCKER_LAYER_ZSTD,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_LAYER_TAR,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
} from "./media_types.ts";
import type { RegistryClient, RepositoryLocation } from "./registry_client.ts";
import { type TarWriteEntry, writeTar } from "./tar.ts";

/** A file in a layer: text or bytes (mode 0644), or an entry with explicit kind and metadata. */
export type LayerFile =
  | string
  | Uint8Array
  | {
    readonly type?: "file";
    readonly content: string | Uint8Array;
    readonly mode?: number;
    readonly uid?: number;
    readonly gid?: number;
  }
  | {
    readonly type: "directory";
    readonly mode?: number;
    readonly uid?: number;
    readonly gid?: number;
  }
  | { readonly type: "symlink"; readonly target: string }
  | { readonly type: "hardlink"; readonly target: string };

/** A layer built from files (paths without leading `/`; whiteouts are `.wh.<name>` files). */
interface FilesLayer {
  /** Files by path, written in this order. */
  readonly files: Readonly<Record<string, LayerFile>>;
  /** Compression (default gzip). */
  readonly compression?: Compression;
}

/** A layer given as a ready blob (e.g. compressed by an external tool). */
export interface BlobLayer {
  /** The blob as pushed. */
  readonly blob: Uint8Array;
  /** Its media type. */
  readonly mediaType: string;
  /** sha256 of the uncompressed tar (the config's diff_id). */
  readonly diffId: string;
}

/** What to build for one platform. */
export interface ImageSpec {
  /** Layers, lowest first. */
  readonly layers: readonly (FilesLayer | BlobLayer)[];
  /** `config.Entrypoint`. */
  readonly entrypoint?: readonly string[];
  /** `config.Cmd`. */
  readonly cmd?: readonly string[];
  /** `config.Env` (`NAME=value`). */
  readonly env?: readonly string[];
  /** `config.User`. */
  readonly user?: string;
  /** `config.WorkingDir`. */
  readonly workingDir?: string;
  /** Platform (default linux/amd64). */
  readonly platform?: Platform;
  /** Document format (default `oci`). */
  readonly format?: "oci" | "docker";
}

/** A multi-platform image: one {@link ImageSpec} per platform, published as an index. */
export interface MultiPlatformSpec {
  /** The platform images (each names its `platform`). */
  readonly platforms: readonly ImageSpec[];
  /** Document format of the index (default `oci`). */
  readonly format?: "oci" | "docker";
}

/** A blob ready to push. */
interface BuiltBlob {
  /** Descriptor (media type, digest, size). */
  readonly descriptor: Descriptor;
  /** Content. */
  readonly bytes: Uint8Array;
}

/** One built single-platform image. */
export interface BuiltImage {
  /** Layer blobs, lowest first. */
  readonly layers: readonly BuiltBlob[];
  /** Config blob. */
  readonly config: BuiltBlob;
  /** Manifest blob. */
  readonly manifest: BuiltBlob;
  /** Platform of the image. */
  readonly platform: Platform;
}

/** A built image: a single manifest, or an index over several. */
export interface BuiltArtifact {
  /** The platform images. */
  readonly images: readonly BuiltImage[];
  /** The index, when several platforms were built. */
  readonly index?: BuiltBlob;
  /** The top document (index or manifest): what a tag points at. */
  readonly top: BuiltBlob;
}

const ENCODER = new TextEncoder();

function toBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === "string" ? ENCODER.encode(content) : content;
}

/** Converts a file map to tar entries. */
export function layerEntries(files: Readonly<Record<string, LayerFile>>): TarWriteEntry[] {
  return Object.entries(files).map(([path, file]): TarWriteEntry => {
    const clean = path.replace(/^\/+/, "");
    if (typeof file === "string" || file instanceof Uint8Array) {
      return { path: clean, type: "file", data: toBytes(file) };
    }
    switch (file.type) {
      case "directory":
        return { path: clean, type: "directory", mode: file.mode, uid: file.uid, gid: file.gid };
      case "symlink":
        return { path: clean, type: "symlink", linkName: file.target };
      case "hardlink":
        return { path: clean, type: "hardlink", linkName: file.target.replace(/^\/+/, "") };
      default:
        return {
          path: clean,
          type: "file",
          data: toBytes(file.content),
          mode: file.mode,
          uid: file.uid,
          gid: file.gid,
        };
    }
  });
}

function layerMediaType(compression: Compression, format: "oci" | "docker"): string {
  if (format === "docker") {
    return {
      gzip: DOCKER_LAYER_GZIP,
      zstd: DOCKER_LAYER_ZSTD,
      none: DOCKER_LAYER_TAR,
    }[compression];
  }
  return { gzip: OCI_LAYER_GZIP, zstd: OCI_LAYER_ZSTD, none: OCI_LAYER_TAR }[compression];
}

async function blob(mediaType: string, bytes: Uint8Array): Promise<BuiltBlob> {
  return { descriptor: { mediaType, digest: await digestOf(bytes), size: bytes.length }, bytes };
}

function json(value: unknown): Uint8Array {
  return ENCODER.encode(JSON.stringify(value));
}

/** Builds one single-platform image (deterministic: same spec, same digests). */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? "oci";
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers: BuiltBlob[] = [];
  const diffIds: string[] = [];
  for (const layer of spec.layers) {
    if ("blob" in layer) {
      layers.push(await blob(layer.mediaType, layer.blob));
      diffIds.push(layer.diffId);
      continue;
    }
    const tar = writeTar(layerEntries(layer.files));
    const compression = layer.compression ?? "gzip";
    layers.push(await blob(layerMediaType(compression, format), await compress(tar, compression)));
    diffIds.push(await digestOf(tar));
  }
  const process: Record<string, unknown> = {};
  if (spec.user !== undefined) process.User = spec.user;
  if (spec.env !== undefined) process.Env = spec.env;
  if (spec.entrypoint !== undefined) process.Entrypoint = spec.entrypoint;
  if (spec.cmd !== undefined) process.Cmd = spec.cmd;
  if (spec.workingDir !== undefined) process.WorkingDir = spec.workingDir;
  const configDoc: Record<string, unknown> = {
    architecture: platform.architecture,
    os: platform.os,
    config: process,
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  if (platform.variant) configDoc.variant = platform.variant;
  const config = await blob(format === "docker" ? DOCKER_CONFIG : OCI_CONFIG, json(configDoc));
  const manifestType = format === "docker" ? DOCKER_MANIFEST : OCI_MANIFEST;
  const manifest = await blob(
    manifestType,
    json({
      schemaVersion: 2,
      mediaType: manifestType,
      config: config.descriptor,
      layers: layers.map((l) => l.descriptor),
    }),
  );
  return { layers, config, manifest, platform };
}

/** Builds a single-platform image or, for a {@link MultiPlatformSpec}, an index over several. */
export async function buildArtifact(spec: ImageSpec | MultiPlatformSpec): Promise<BuiltArtifact> {
  if (!("platforms" in spec)) {
    const image = await buildImage(spec);
    return { images: [image], top: image.manifest };
  }
  if (spec.platforms.length === 0) {
    throw new ValidationError("platforms", "a multi-platform image needs at least one platform");
  }
  const images = await Promise.all(spec.platforms.map((p) => buildImage(p)));
  const indexType = spec.format === "docker" ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const index = await blob(
    indexType,
    json({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: images.map((i) => ({ ...i.manifest.descriptor, platform: i.platform })),
    }),
  );
  return { images, index, top: index };
}

/** Where a pushed image ended up. */
export interface PushedImage {
  /** Digest of the top document (index or manifest) the tag points at. */
  readonly digest: string;
  /** Digests of the platform manifests, in spec order. */
  readonly manifestDigests: readonly string[];
  /** The built artifact. */
  readonly artifact: BuiltArtifact;
}

/**
 * Pushes a built artifact: blobs, platform manifests (by digest), then the top document under
 * `tag`.
 */
export async function pushArtifact(
  client: RegistryClient,
  location: RepositoryLocation,
  tag: string,
  artifact: BuiltArtifact,
): Promise<PushedImage> {
  const field = `push ${location.registry}/${location.repository}:${tag}`;
  for (const image of artifact.images) {
    for (const b of [...image.layers, image.config]) {
      await client.pushBlob(location, b.bytes, field);
    }
    if (artifact.index) {
      await client.pushManifest(
        location,
        image.manifest.descriptor.digest,
        image.manifest.bytes,
        image.manifest.descriptor.mediaType,
        field,
      );
    }
  }
  const digest = await client.pushManifest(
    location,
    tag,
    artifact.top.bytes,
    artifact.top.descriptor.mediaType,
    field,
  );
  return {
    digest,
    manifestDigests: artifact.images.map((i) => i.manifest.descriptor.digest),
    artifact,
  };
}

/** Builds and pushes an image in one call. */
export async function pushImage(
  client: RegistryClient,
  location: RepositoryLocation,
  tag: string,
  spec: ImageSpec | MultiPlatformSpec,
): Promise<PushedImage> {
  return pushArtifact(client, location, tag, await buildArtifact(spec));
}

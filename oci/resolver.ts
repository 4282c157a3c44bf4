/**
 * {@link OciImageResolver}: resolves image references through the distribution API and the
 * on-disk cache into what policy generation needs — the linux/amd64 manifest digest, the process
 * defaults of the image config and the image's `/etc/passwd` and `/etc/group`. Offline, it
 * answers only from the cache.
 *
 * @module
 */
import {
  ParseError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from "../util/errors/mod.ts";
import { type ImageAccountFiles, ImageCache } from "./cache.ts";
import { decompressReadable } from "./compression.ts";
import { loadDockerCredentials } from "./credentials.ts";
import { parseDigest, verifyingStream } from "./digest.ts";
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MAX_DOCUMENT_SIZE,
  parseImageConfig,
  parseManifestDocument,
  type Platform,
  selectPlatform,
} from "./manifest.ts";
import { CONFIG_TYPES } from "./media_types.ts";
import { defaultProgress, type PullProgress, silentProgress, stderrProgress } from "./progress.ts";
import {
  type ImageReference,
  manifestReference,
  parseImageReference,
  pinnedReference,
} from "./reference.ts";
import { RegistryClient } from "./registry_client.ts";
import { ConcurrencyLimiter } from "./limiter.ts";
import { LayeredFilesystem, readFileFromLayer } from "./rootfs.ts";
import {
  checkDeclaredLayerSizes,
  DecompressedBudget,
  DEFAULT_IMAGE_SIZE_LIMITS,
  type ImageSizeLimits,
} from "./size_limits.ts";
import type { ImageResolver, ResolvedImage } from "./types.ts";

/** The platform contrast's confidential VMs run. */
const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };
const PASSWD = "etc/passwd";
const GROUP = "etc/group";
const MAX_INDEX_DEPTH = 2;

/** Options of {@link createImageResolver}. */
export interface ImageResolverOptions {
  /** Directory of the on-disk cache (created when missing). */
  readonly cacheDir: string;
  /**
   * The workspace's image-cache key (32 bytes, `cache_key.ts`): cached account files and tag
   * records are trusted only with a MAC under it; others are misses.
   */
  readonly cacheKey: Uint8Array;
  /** Registries (`host[:port]`) reached over plain HTTP. */
  readonly insecureRegistries?: readonly string[];
  /** Resolve only from the cache; a miss is an {@link UnavailableError}. */
  readonly offline?: boolean;
  /**
   * Docker config file with credentials (default `$DOCKER_CONFIG/config.json`, else
   * `~/.docker/config.json`).
   */
  readonly dockerConfigPath?: string;
  /**
   * Pull progress: a {@link PullProgress}; `true` for a line per pull on stderr (updated in
   * place on a terminal); `false` for none; default: lines only when stderr is a terminal.
   */
  readonly progress?: PullProgress | boolean;
  /** Platform to pick from indexes (default linux/amd64). */
  readonly platform?: Platform;
  /** Request timeout in milliseconds. */
  readonly timeoutMs?: number;
  /**
   * Extra PEM CA certificates for HTTPS registries (e.g. a private registry's CA). When given,
   * call {@link OciImageResolver.close} when done.
   */
  readonly caCertificates?: readonly string[];
  /** Layers up to this size are held in memory, larger ones spooled to disk (default 64 MiB). */
  readonly maxInMemoryLayerBytes?: number;
  /** How many images are pulled at once (default 3). */
  readonly maxConcurrentPulls?: number;
  /** How often a failed registry read is retried (default 3, with backoff from 0.5 s). */
  readonly retries?: number;
  /**
   * Bounds on a layer's and an image's size, declared and decompressed (default
   * {@link DEFAULT_IMAGE_SIZE_LIMITS}: 32 GiB per layer, 64 GiB per image).
   */
  readonly sizeLimits?: Partial<ImageSizeLimits>;
}

/** Dependencies of an {@link OciImageResolver}. */
interface OciImageResolverDeps {
  /** The on-disk cache. */
  readonly cache: ImageCache;
  /** The registry client; created on first use when a function (credentials load lazily). */
  readonly client: () => Promise<RegistryClient>;
  /** Resolve only from the cache. */
  readonly offline: boolean;
  /** Where pull progress goes. */
  readonly progress: PullProgress;
  /** Platform to pick from indexes. */
  readonly platform: Platform;
  /** Layers up to this size are downloaded into memory, larger ones into a temporary file. */
  readonly maxInMemoryLayerBytes: number;
  /** How many images are pulled (layers downloaded) at once. */
  readonly maxConcurrentPulls: number;
  /** Bounds on layer and image sizes, declared and decompressed. */
  readonly sizeLimits: ImageSizeLimits;
  /** Releases what the client holds (called by {@link OciImageResolver.close}). */
  readonly close?: () => Promise<void>;
}

/** A downloaded layer whose digest has been checked. */
interface VerifiedLayer {
  /** The layer's (compressed) bytes as a stream. */
  open(): Promise<ReadableStream<Uint8Array>>;
  /** Releases the layer (removes its temporary file). */
  dispose(): Promise<void>;
}

/** Resolves image references with the registry and the cache. See the module doc. */
class OciImageResolver implements ImageResolver {
  readonly #deps: OciImageResolverDeps;
  readonly #inflight = new Map<string, Promise<ResolvedImage>>();
  readonly #pulls: ConcurrencyLimiter;

  /** A resolver over `deps` (see {@link createImageResolver} for the usual wiring). */
  constructor(deps: OciImageResolverDeps) {
    this.#deps = deps;
    this.#pulls = new ConcurrencyLimiter(deps.maxConcurrentPulls);
  }

  /** Releases network resources (needed only with custom CA certificates). */
  async close(): Promise<void> {
    await this.#deps.close?.();
  }

  /**
   * Resolves `reference`. Concurrent and repeated calls for the same reference share one
   * resolution.
   *
   * @throws {ParseError} malformed reference or registry document
   * @throws {UnavailableError} registry unreachable, image missing, or (offline) not cached
   * @throws {import("../util/errors/mod.ts").VerificationError} content that does not match its digest
   * @throws {ValidationError} the image is not for the wanted platform
   */
  resolve(reference: string): Promise<ResolvedImage> {
    let pending = this.#inflight.get(reference);
    if (!pending) {
      pending = this.#resolve(reference);
      this.#inflight.set(reference, pending);
      pending.catch(() => this.#inflight.delete(reference));
    }
    return pending;
  }

  async #resolve(reference: string): Promise<ResolvedImage> {
    const ref = parseImageReference(reference);
    const field = `image ${reference}`;
    const top = ref.digest !== undefined
      ? { digest: ref.digest, bytes: await this.#document(ref, ref.digest, undefined, field) }
      : await this.#resolveTag(ref, field);
    const { digest, manifest } = await this.#platformManifest(ref, top, field);
    const configBytes = await this.#document(ref, manifest.config.digest, manifest.config, field);
    const config = parseImageConfig(configBytes, `config of ${reference}`);
    this.#checkPlatform(config, field);
    if (config.diffIds.length !== manifest.layers.length) {
      throw new ParseError(
        `config of ${reference}`,
        `rootfs.diff_ids has ${config.diffIds.length} entries for ${manifest.layers.length} layers`,
      );
    }
    const files = await this.#accountFiles(ref, digest, manifest, config.diffIds, field);
    return {
      reference,
      repository: ref.name,
      digest,
      pinned: pinnedReference(ref, digest),
      config: config.process,
      ...(files.passwd !== undefined ? { passwd: files.passwd } : {}),
      ...(files.group !== undefined ? { group: files.group } : {}),
    };
  }

  #offlineMiss(field: string, what: string): UnavailableError {
    return new UnavailableError(
      field,
      `${what} is not in the image cache (${this.#deps.cache.dir}) and offline mode is on; ` +
        "run once online to fill the cache",
    );
  }

  async #resolveTag(
    ref: ImageReference,
    field: string,
  ): Promise<{ digest: string; bytes: Uint8Array; contentType?: string }> {
    const tag = manifestReference(ref);
    const { cache } = this.#deps;
    if (this.#deps.offline) {
      const record = await cache.getTag(ref, tag);
      if (!record) throw this.#offlineMiss(field, `tag ${tag} of ${ref.name}`);
      const bytes = await cache.getBlob(record.digest);
      if (!bytes) throw this.#offlineMiss(field, `manifest ${record.digest}`);
      return { digest: record.digest, bytes };
    }
    const client = await this.#deps.client();
    // Ask where the tag points first: when that manifest is cached (re-checked against the
    // digest), nothing needs downloading.
    const current = await client.headManifest(ref, tag, field);
    const cached = current === undefined ? undefined : await cache.getBlob(current);
    if (current !== undefined && cached !== undefined) {
      await cache.putTag(ref, tag, current);
      return { digest: current, bytes: cached };
    }
    const fetched = await client.getManifest(ref, tag, field);
    await cache.putBlob(fetched.digest, fetched.bytes);
    await cache.putTag(ref, tag, fetched.digest);
    return { digest: fetched.digest, bytes: fetched.bytes, contentType: fetched.contentType };
  }

  /**
   * A manifest, index or config by digest: from the cache, else (online) from the registry,
   * verified and then cached. `descriptor` (when known) bounds the size.
   */
  async #document(
    ref: ImageReference,
    digest: string,
    descriptor: Descriptor | undefined,
    field: string,
  ): Promise<Uint8Array> {
    const { cache } = this.#deps;
    const checkSize = (bytes: Uint8Array) => {
      if (descriptor && bytes.length !== descriptor.size) {
        throw new VerificationError(
          field,
          `${digest} has ${bytes.length} bytes, its descriptor says ${descriptor.size}`,
        );
      }
      return bytes;
    };
    if (descriptor && descriptor.size > MAX_DOCUMENT_SIZE) {
      throw new ParseError(
        field,
        `${digest} is ${descriptor.size} bytes, more than the ${MAX_DOCUMENT_SIZE} allowed`,
      );
    }
    const cached = await cache.getBlob(digest);
    if (cached) return checkSize(cached);
    if (this.#deps.offline) throw this.#offlineMiss(field, `document ${digest}`);
    const client = await this.#deps.client();
    const bytes = checkSize(
      descriptor && CONFIG_TYPES.includes(descriptor.mediaType)
        ? await client.getBlob(ref, descriptor, `${field} config`)
        : (await client.getManifest(ref, digest, field)).bytes,
    );
    await cache.putBlob(digest, bytes);
    return bytes;
  }

  /** Follows an index (or nested indexes) to the manifest for the wanted platform. */
  async #platformManifest(
    ref: ImageReference,
    top: { digest: string; bytes: Uint8Array; contentType?: string },
    field: string,
  ): Promise<{ digest: string; manifest: ImageManifest }> {
    let current = top;
    for (let depth = 0; depth <= MAX_INDEX_DEPTH; depth++) {
      const doc: ImageManifest | ImageIndex = parseManifestDocument(
        current.bytes,
        current.contentType,
        `manifest ${current.digest} of ${ref.original}`,
      );
      if (doc.kind === "manifest") return { digest: current.digest, manifest: doc };
      const wanted = this.#deps.platform;
      const entry = selectPlatform(doc, wanted);
      if (!entry) {
        const available = doc.manifests
          .map((m) => m.platform ? `${m.platform.os}/${m.platform.architecture}` : "unknown")
          .join(", ");
        throw new ValidationError(
          field,
          `image index has no ${wanted.os}/${wanted.architecture} image`,
          { expected: `${wanted.os}/${wanted.architecture}`, actual: available || "none" },
        );
      }
      const bytes = await this.#document(ref, entry.digest, entry, field);
      current = { digest: entry.digest, bytes, contentType: entry.mediaType };
    }
    throw new ParseError(field, `image indexes nested deeper than ${MAX_INDEX_DEPTH}`);
  }

  #checkPlatform(config: ImageConfig, field: string): void {
    const wanted = this.#deps.platform;
    if (config.os !== wanted.os || config.architecture !== wanted.architecture) {
      throw new ValidationError(field, "image is for another platform", {
        expected: `${wanted.os}/${wanted.architecture}`,
        actual: `${config.os}/${config.architecture}`,
      });
    }
  }

  /** `/etc/passwd` and `/etc/group` of the image: from the cache, else from its layers. */
  async #accountFiles(
    ref: ImageReference,
    digest: string,
    manifest: ImageManifest,
    diffIds: readonly string[],
    field: string,
  ): Promise<ImageAccountFiles> {
    const { cache } = this.#deps;
    const cached = await cache.getAccountFiles(digest);
    if (cached) return cached;
    if (this.#deps.offline) throw this.#offlineMiss(field, `the filesystem of ${digest}`);
    const client = await this.#deps.client();
    return await this.#pulls.run(async () =>
      // Another reference to the same image may have been pulled while this one waited.
      await cache.getAccountFiles(digest) ??
        await this.#pullAccountFiles(client, ref, digest, manifest, diffIds, field)
    );
  }

  /**
   * Downloads a layer and checks its digest: small layers into memory, large ones into a
   * temporary file under the cache directory (never used before the whole file is verified).
   * `signal` cancels the download (the file is removed).
   */
  async #fetchLayer(
    client: RegistryClient,
    ref: ImageReference,
    layer: Descriptor,
    field: string,
    onProgress: (received: number) => void,
    signal?: AbortSignal,
  ): Promise<VerifiedLayer> {
    if (layer.size <= this.#deps.maxInMemoryLayerBytes) {
      const bytes = await client.getBlob(ref, layer, field, onProgress, signal);
      return {
        open: () => Promise.resolve(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()),
        dispose: () => Promise.resolve(),
      };
    }
    const dir = `${this.#deps.cache.dir}/tmp`;
    await Deno.mkdir(dir, { recursive: true });
    const path = `${dir}/layer-${crypto.randomUUID()}`;
    await client.downloadBlob(ref, layer, path, field, onProgress, signal);
    return {
      open: async () => (await Deno.open(path, { read: true })).readable,
      dispose: () => Deno.remove(path).catch(() => {}),
    };
  }

  async #pullAccountFiles(
    client: RegistryClient,
    ref: ImageReference,
    digest: string,
    manifest: ImageManifest,
    diffIds: readonly string[],
    field: string,
  ): Promise<ImageAccountFiles> {
    const { cache, progress } = this.#deps;
    const layers = manifest.layers;
    const received = layers.map(() => 0);
    const prefetch = new AbortController();
    const layerField = (i: number) => `${field} layer ${layers[i]!.digest}`;
    // What the manifest declares is downloaded (and large layers spooled to disk): bound it first.
    checkDeclaredLayerSizes(layers, this.#deps.sizeLimits, layerField);
    const budget = new DecompressedBudget(this.#deps.sizeLimits);
    const total = layers.reduce((sum, l) => sum + l.size, 0);
    progress.start(ref.original, layers.length, total);
    const download = (i: number) =>
      this.#fetchLayer(client, ref, layers[i]!, layerField(i), (n) => {
        received[i] = n;
        progress.advance(ref.original, received.reduce((a, b) => a + b, 0));
      }, prefetch.signal);
    // The uncompressed tar of layer i must hash to the config's diff_ids[i]; it is bounded as it
    // is read (a layer read a second time counts against the image's bound once).
    const tarStream = async (blob: VerifiedLayer, i: number, counted = true) =>
      (await decompressReadable(await blob.open(), layerField(i))).pipeThrough(
        budget.stream(layerField(i), counted),
      ).pipeThrough(
        verifyingStream(
          parseDigest(diffIds[i]!, `config rootfs.diff_ids[${i}]`),
          `${layerField(i)} (uncompressed, diff_id)`,
        ),
      );
    const fs = new LayeredFilesystem([PASSWD, GROUP]);
    // Download the next layer while the current one is applied; apply strictly in order.
    let next: Promise<VerifiedLayer> | undefined = layers.length > 0 ? download(0) : undefined;
    try {
      for (let i = 0; i < layers.length; i++) {
        const blob = await next!;
        next = i + 1 < layers.length ? download(i + 1) : undefined;
        next?.catch(() => {}); // surfaced when awaited, or disposed below
        try {
          await fs.applyLayer(await tarStream(blob, i), i, layerField(i));
        } finally {
          await blob.dispose();
        }
      }
    } finally {
      // On an error, a prefetched layer may still be on its way: stop it and release it (its
      // spool file is removed before the error surfaces).
      if (next) {
        prefetch.abort();
        await next.then((blob) => blob.dispose(), () => {});
      }
    }
    const read = async (path: string): Promise<string | undefined> => {
      const found = fs.lookup(path);
      if (found.kind === "missing") return undefined;
      if (found.kind !== "file") {
        throw new ParseError(field, `/${path} in the image is not a regular file`);
      }
      let content = found.content;
      if (content === undefined) {
        // Reached through a link from a path whose content was not kept: read its layer again.
        const i = found.source.layer;
        const blob = await this.#fetchLayer(client, ref, layers[i]!, layerField(i), () => {});
        try {
          content = await readFileFromLayer(
            await tarStream(blob, i, false),
            found.source.path,
            layerField(i),
          );
        } finally {
          await blob.dispose();
        }
        if (content === undefined) {
          throw new ParseError(layerField(i), `${found.source.path} vanished on second read`);
        }
      }
      return new TextDecoder().decode(content);
    };
    const passwd = await read(PASSWD);
    const group = await read(GROUP);
    const files: ImageAccountFiles = {
      ...(passwd !== undefined ? { passwd } : {}),
      ...(group !== undefined ? { group } : {}),
    };
    await cache.putAccountFiles(digest, files);
    progress.done(ref.original, digest);
    return files;
  }
}

/**
 * Creates the resolver `contrast generate` uses: cache in `cacheDir`, credentials from the
 * Docker config file (read on first registry access), plain HTTP for `insecureRegistries`.
 */
export function createImageResolver(options: ImageResolverOptions): OciImageResolver {
  let client: Promise<RegistryClient> | undefined;
  const progress = options.progress === true
    ? stderrProgress()
    : options.progress === false
    ? silentProgress
    : options.progress ?? defaultProgress();
  return new OciImageResolver({
    cache: new ImageCache(options.cacheDir, options.cacheKey),
    client: () =>
      client ??= loadDockerCredentials(options.dockerConfigPath).then((credentials) =>
        new RegistryClient({
          insecureRegistries: options.insecureRegistries,
          credentials,
          timeoutMs: options.timeoutMs,
          caCertificates: options.caCertificates,
          retries: options.retries,
        })
      ),
    close: async () => {
      if (client) (await client.catch(() => undefined))?.close();
    },
    offline: options.offline ?? false,
    progress,
    platform: options.platform ?? DEFAULT_PLATFORM,
    maxInMemoryLayerBytes: options.maxInMemoryLayerBytes ?? 64 * 1024 * 1024,
    maxConcurrentPulls: options.maxConcurrentPulls ?? 3,
    sizeLimits: {
      maxLayerBytes: options.sizeLimits?.maxLayerBytes ?? DEFAULT_IMAGE_SIZE_LIMITS.maxLayerBytes,
      maxImageBytes: options.sizeLimits?.maxImageBytes ?? DEFAULT_IMAGE_SIZE_LIMITS.maxImageBytes,
    },
  });
}

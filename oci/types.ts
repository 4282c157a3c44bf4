/**
 * What the rest of contrast needs to know about a container image, and the interface that
 * resolves an image reference into it. The OCI distribution client in this folder implements
 * {@link ImageResolver}.
 *
 * @module
 */

/** The parts of an OCI image config that determine a container's process. */
export interface ImageProcessConfig {
  /** `config.Entrypoint` (empty when unset). */
  readonly entrypoint: readonly string[];
  /** `config.Cmd` (empty when unset). */
  readonly cmd: readonly string[];
  /** `config.Env` as `NAME=value` strings, in image order. */
  readonly env: readonly string[];
  /** `config.WorkingDir` ("" when unset). */
  readonly workingDir: string;
  /** `config.User` ("" when unset): `uid`, `uid:gid`, `name` or `name:group`. */
  readonly user: string;
  /** `config.Volumes` keys: paths containerd gives their own mount (absent: none). */
  readonly volumes?: readonly string[];
}

/** An image resolved to its digest, with what policy generation reads from it. */
export interface ResolvedImage {
  /** The reference as the user wrote it, e.g. `nginx:1.27` or `ghcr.io/a/b@sha256:…`. */
  readonly reference: string;
  /** Canonical repository, e.g. `docker.io/library/nginx` or `127.0.0.1:5000/app`. */
  readonly repository: string;
  /** Manifest digest (`sha256:…`) of the linux/amd64 image (never of an index). */
  readonly digest: string;
  /** `repository@digest`: the pinned reference put into generated YAML. */
  readonly pinned: string;
  /** Process defaults from the image config. */
  readonly config: ImageProcessConfig;
  /** Contents of `/etc/passwd` in the final image filesystem, or undefined when absent. */
  readonly passwd?: string;
  /** Contents of `/etc/group` in the final image filesystem, or undefined when absent. */
  readonly group?: string;
}

/** Resolves image references (tags or digests) to {@link ResolvedImage}s. */
export interface ImageResolver {
  /**
   * Resolves `reference`.
   *
   * @throws {import("../util/errors/mod.ts").UnavailableError} when the registry cannot be reached
   *   or (offline) the image is not cached
   * @throws {import("../util/errors/mod.ts").ParseError} when the reference or a registry document is
   *   malformed
   */
  resolve(reference: string): Promise<ResolvedImage>;
}

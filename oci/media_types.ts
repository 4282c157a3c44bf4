/**
 * Media types of OCI and Docker image documents and layers.
 *
 * @module
 */

/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI uncompressed tar layer. */
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
/** OCI gzip tar layer. */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI zstd tar layer. */
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list (the Docker form of an index). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker gzip tar layer. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** Docker zstd tar layer (used by some builders). */
export const DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/** Docker uncompressed tar layer. */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";

/** Media types of single-platform manifests. */
export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];
/** Media types of multi-platform indexes. */
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
/** Media types of image configs. */
export const CONFIG_TYPES: readonly string[] = [OCI_CONFIG, DOCKER_CONFIG];
/** Media types of layers contrast can read. */
export const LAYER_TYPES: readonly string[] = [
  OCI_LAYER_TAR,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_ZSTD,
  DOCKER_LAYER_TAR,
];

/** The `Accept` header for manifest requests: every manifest and index type contrast reads. */
export const MANIFEST_ACCEPT: string = [...INDEX_TYPES, ...MANIFEST_TYPES].join(", ");

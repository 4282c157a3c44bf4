/**
 * Container images: the OCI distribution client `contrast generate` reads images through
 * ({@link createImageResolver} → {@link ImageResolver}), and the image writer tests and demos
 * publish images with.
 *
 * @module
 */
export type { ImageProcessConfig, ImageResolver, ResolvedImage } from "./types.ts";
export {
  createImageResolver,
  DEFAULT_PLATFORM,
  type ImageResolverOptions,
  OciImageResolver,
} from "./resolver.ts";
export { type ImageReference, parseImageReference, pinnedReference } from "./reference.ts";
export { ImageCache } from "./cache.ts";
export {
  type CredentialLookup,
  type Credentials,
  type CredentialStore,
  loadDockerCredentials,
} from "./credentials.ts";
export { RegistryClient, type RegistryClientOptions } from "./registry_client.ts";
export {
  defaultProgress,
  LineProgress,
  type PullProgress,
  silentProgress,
  stderrProgress,
  TerminalProgress,
} from "./progress.ts";
export {
  buildArtifact,
  buildImage,
  type ImageSpec,
  type LayerFile,
  type MultiPlatformSpec,
  pushArtifact,
  pushImage,
} from "./writer.ts";

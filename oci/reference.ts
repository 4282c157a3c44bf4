/**
 * Image references as users write them (`nginx`, `nginx:1.27`, `ghcr.io/a/b@sha256:…`,
 * `localhost:5000/app:v1`), parsed into registry, repository, tag and digest with Docker's
 * defaults: no registry means `docker.io`, a one-part name on Docker Hub lives under `library/`,
 * no tag and no digest means `latest`.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { parseDigest } from "./digest.ts";

/** The registry used when a reference names none. */
export const DOCKER_HUB = "docker.io";
/** The host that serves Docker Hub's distribution API. */
const DOCKER_HUB_API_HOST = "registry-1.docker.io";
/** The tag used when a reference names neither tag nor digest. */
const DEFAULT_TAG = "latest";

/** A parsed image reference. */
export interface ImageReference {
  /** The text as given. */
  readonly original: string;
  /** Registry host with optional port, e.g. `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  readonly repository: string;
  /** Tag; `latest` when neither tag nor digest was given; undefined when only a digest was. */
  readonly tag?: string;
  /** Digest (`sha256:<64 hex>`) when the reference pins one. */
  readonly digest?: string;
  /** `registry/repository`, e.g. `docker.io/library/nginx`. */
  readonly name: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN_LABEL = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const MAX_NAME_LENGTH = 255;

/** Whether the first path component of a reference names a registry rather than a repository. */
function looksLikeRegistry(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost" ||
    component.startsWith("[") || component !== component.toLowerCase();
}

/** Checks `host[:port]`; returns the reason it is invalid, or undefined. */
function registryProblem(registry: string): string | undefined {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith("[")) {
    const close = registry.indexOf("]");
    if (close < 0) return "unterminated IPv6 address";
    host = registry.slice(0, close + 1);
    const rest = registry.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return "unexpected text after IPv6 address";
      port = rest.slice(1);
    }
    if (!IPV6_HOST.test(host)) return `invalid IPv6 address ${JSON.stringify(host)}`;
  } else {
    const colon = registry.lastIndexOf(":");
    if (colon >= 0) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
    if (host === "") return "empty host";
    for (const label of host.split(".")) {
      if (!DOMAIN_LABEL.test(label)) {
        return `invalid host ${JSON.stringify(host)}`;
      }
    }
  }
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535 || Number(port) === 0) {
      return `invalid port ${JSON.stringify(port)}`;
    }
  }
  return undefined;
}

/**
 * Parses an image reference.
 *
 * @param text the reference, e.g. `nginx:1.27` or `127.0.0.1:5000/app@sha256:…`
 * @param field what the reference is, for error messages (default `image`)
 * @throws {ParseError} naming `field` when the reference is malformed
 */
export function parseImageReference(text: string, field = "image"): ImageReference {
  const fail = (reason: string): never => {
    throw new ParseError(field, `${reason} in image reference ${JSON.stringify(text)}`);
  };
  if (text === "") fail("empty");
  if (/\s/.test(text)) fail("whitespace");

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const digestText = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      digest = parseDigest(digestText, field).text;
    } catch (e) {
      if (e instanceof ParseError) fail(e.reason);
      throw e;
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const tagColon = rest.indexOf(":", lastSlash + 1);
  if (tagColon >= 0) {
    tag = rest.slice(tagColon + 1);
    rest = rest.slice(0, tagColon);
    if (!TAG.test(tag)) fail(`invalid tag ${JSON.stringify(tag)}`);
  }
  if (rest === "") fail("missing repository name");

  const components = rest.split("/");
  let registry = DOCKER_HUB;
  if (components.length > 1 && looksLikeRegistry(components[0]!)) {
    registry = components.shift()!;
    const problem = registryProblem(registry);
    if (problem) fail(problem);
  }
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && components.length === 1) components.unshift("library");

  for (const component of components) {
    if (component === "") fail("empty path component");
    if (component !== component.toLowerCase()) fail("repository name must be lowercase");
    if (!PATH_COMPONENT.test(component)) {
      fail(`invalid repository path component ${JSON.stringify(component)}`);
    }
  }
  const repository = components.join("/");
  const name = `${registry}/${repository}`;
  if (name.length > MAX_NAME_LENGTH) fail(`name longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { original: text, registry, repository, tag, digest, name };
}

/** The reference `name` part a registry request names: `tag` or `digest` (digest wins). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** `name@digest`: the pinned form of a reference. */
export function pinnedReference(ref: ImageReference, digest: string): string {
  return `${ref.name}@${digest}`;
}

/** The host that serves the distribution API for `registry` (Docker Hub differs from its name). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

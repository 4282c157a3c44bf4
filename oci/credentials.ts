/**
 * Registry credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): the `auths` map, whose entries hold `auth` (base64 of
 * `user:password`) or `username`/`password`. Keys may be bare hosts or URLs
 * (`https://index.docker.io/v1/` for Docker Hub).
 *
 * @module
 */
import { decodeBase64 } from "../bytes/mod.ts";
import { ParseError } from "../errors/mod.ts";
import { DOCKER_HUB } from "./reference.ts";

/** A user name and password (or token) for a registry. */
export interface Credentials {
  /** User name. */
  readonly username: string;
  /** Password or access token. Never logged. */
  readonly password: string;
}

/** Credentials by registry host (`host[:port]`, Docker Hub as `docker.io`). */
export type CredentialStore = ReadonlyMap<string, Credentials>;

/** Normalises an `auths` key (`https://host:port/v2/`, `host`, …) to `host[:port]`. */
export function registryKey(key: string): string {
  let host = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  if (host === "index.docker.io" || host === "registry-1.docker.io") return DOCKER_HUB;
  return host;
}

/**
 * Parses a Docker config file's text into a credential store.
 *
 * @param path the file's path, for errors
 * @throws {ParseError} naming the file and JSON path of a malformed entry
 */
export function parseDockerConfig(text: string, path: string): CredentialStore {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ParseError(path, `not valid JSON: ${(e as Error).message}`);
  }
  const store = new Map<string, Credentials>();
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ParseError(path, "expected a JSON object");
  }
  const auths = (json as Record<string, unknown>).auths;
  if (auths === undefined) return store;
  if (typeof auths !== "object" || auths === null || Array.isArray(auths)) {
    throw new ParseError(`${path}: auths`, "expected an object");
  }
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const field = `${path}: auths[${JSON.stringify(key)}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new ParseError(field, "expected an object");
    }
    const e = entry as Record<string, unknown>;
    let credentials: Credentials | undefined;
    if (typeof e.auth === "string" && e.auth !== "") {
      const decoded = new TextDecoder().decode(decodeBase64(e.auth, `${field}.auth`));
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new ParseError(`${field}.auth`, "expected base64 of user:password");
      credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof e.username === "string" && typeof e.password === "string") {
      credentials = { username: e.username, password: e.password };
    } else if (e.auth !== undefined && typeof e.auth !== "string") {
      throw new ParseError(`${field}.auth`, "expected a string");
    }
    if (credentials) store.set(registryKey(key), credentials);
  }
  return store;
}

/** Where the Docker config file is: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(): string | undefined {
  const dir = Deno.env.get("DOCKER_CONFIG");
  if (dir) return `${dir}/config.json`;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.docker/config.json` : undefined;
}

/**
 * Loads credentials from the Docker config file at `path` (default: {@link
 * defaultDockerConfigPath}). A missing file means no credentials.
 *
 * @throws {ParseError} when the file exists but is malformed
 */
export async function loadDockerCredentials(path?: string): Promise<CredentialStore> {
  const file = path ?? defaultDockerConfigPath();
  if (!file) return new Map();
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    throw e;
  }
  return parseDockerConfig(text, file);
}

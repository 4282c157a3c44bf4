/**
 * Registry credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): the `auths` map, whose entries hold `auth` (base64 of
 * `user:password`) or `username`/`password`. Keys may be bare hosts or URLs
 * (`https://index.docker.io/v1/` for Docker Hub).
 *
 * @module
 */
import { decodeBase64 } from "../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../util/errors/mod.ts";
import { DOCKER_HUB } from "./reference.ts";

/** A user name and password (or token) for a registry. */
export interface Credentials {
  /** User name. */
  readonly username: string;
  /** Password or access token. Never logged. */
  readonly password: string;
  /**
   * OAuth2 refresh token (`identitytoken` in the Docker config, `<token>` from a credential
   * helper): exchanged at the token endpoint instead of the password. Never logged.
   */
  readonly identityToken?: string;
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

/** Looks up the credentials for a registry host (undefined: anonymous). */
export type CredentialLookup = (registry: string) => Promise<Credentials | undefined>;

/** The credential-related parts of a Docker config file. */
interface DockerConfig {
  /** Credentials stored inline in `auths`. */
  readonly auths: CredentialStore;
  /** `credHelpers`: registry host → helper name (`docker-credential-<name>`). */
  readonly credHelpers: ReadonlyMap<string, string>;
  /** `credsStore`: the helper used for every registry without its own. */
  readonly credsStore?: string;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function objectField(
  json: Record<string, unknown>,
  key: string,
  path: string,
): Record<string, unknown> | undefined {
  const value = json[key];
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ParseError(`${path}: ${key}`, "expected an object");
  }
  return value as Record<string, unknown>;
}

/**
 * Parses a Docker config file's text.
 *
 * @param path the file's path, for errors
 * @throws {ParseError} naming the file and JSON path of a malformed entry
 */
export function parseDockerConfig(text: string, path: string): DockerConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ParseError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ParseError(path, "expected a JSON object");
  }
  const root = json as Record<string, unknown>;
  const auths = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(objectField(root, "auths", path) ?? {})) {
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
    if (e.identitytoken !== undefined && e.identitytoken !== "") {
      if (typeof e.identitytoken !== "string") {
        throw new ParseError(`${field}.identitytoken`, "expected a string");
      }
      credentials = {
        username: credentials?.username ?? "",
        password: credentials?.password ?? "",
        identityToken: e.identitytoken,
      };
    }
    if (credentials) auths.set(registryKey(key), credentials);
  }
  const helperName = (value: unknown, field: string): string => {
    if (typeof value !== "string" || !HELPER_NAME.test(value)) {
      throw new ParseError(field, "expected a credential helper name");
    }
    return value;
  };
  const credHelpers = new Map<string, string>();
  for (const [key, value] of Object.entries(objectField(root, "credHelpers", path) ?? {})) {
    credHelpers.set(
      registryKey(key),
      helperName(value, `${path}: credHelpers[${JSON.stringify(key)}]`),
    );
  }
  const credsStore = root.credsStore === undefined || root.credsStore === ""
    ? undefined
    : helperName(root.credsStore, `${path}: credsStore`);
  return { auths, credHelpers, ...(credsStore ? { credsStore } : {}) };
}

/** The server URL a credential helper is asked about (Docker Hub keeps its legacy URL). */
export function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? "https://index.docker.io/v1/" : registry;
}

/**
 * Asks `docker-credential-<helper> get` (found on `PATH`) for the credentials of `registry`.
 *
 * @returns the credentials, or undefined when the helper has none for it
 * @throws {UnavailableError} when the helper cannot be run or fails otherwise
 * @throws {ParseError} when its answer is malformed
 */
export async function runCredentialHelper(
  helper: string,
  registry: string,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(program, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(helperServerUrl(registry)));
    await writer.close();
    output = await child.output();
  } catch (e) {
    throw new UnavailableError(program, `cannot run credential helper: ${(e as Error).message}`);
  }
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    if (/credentials not found/i.test(stdout + new TextDecoder().decode(output.stderr))) {
      return undefined;
    }
    throw new UnavailableError(program, `failed for ${registry} (exit code ${output.code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new ParseError(program, "answer is not JSON");
  }
  const { Username, Secret } = (json ?? {}) as Record<string, unknown>;
  if (typeof Username !== "string" || typeof Secret !== "string") {
    throw new ParseError(program, "answer lacks Username or Secret");
  }
  if (Username === "<token>") {
    // Docker's convention: the secret is an OAuth2 refresh token, not a password.
    return { username: "", password: "", identityToken: Secret };
  }
  return { username: Username, password: Secret };
}

/**
 * Credential lookup with Docker's precedence: the registry's `credHelpers` entry, else
 * `credsStore`, else the inline `auths` entry. Helper answers are remembered per registry.
 */
export function dockerCredentialLookup(
  config: DockerConfig,
  runHelper: (helper: string, registry: string) => Promise<Credentials | undefined> =
    runCredentialHelper,
): CredentialLookup {
  const answers = new Map<string, Promise<Credentials | undefined>>();
  return (registry) => {
    const helper = config.credHelpers.get(registry) ?? config.credsStore;
    if (!helper) return Promise.resolve(config.auths.get(registry));
    let answer = answers.get(registry);
    if (!answer) {
      answer = runHelper(helper, registry).then((c) => c ?? config.auths.get(registry));
      answers.set(registry, answer);
    }
    return answer;
  };
}

/** Where the Docker config file is: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
function defaultDockerConfigPath(): string | undefined {
  const dir = Deno.env.get("DOCKER_CONFIG");
  if (dir) return `${dir}/config.json`;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.docker/config.json` : undefined;
}

/**
 * Loads the credential lookup from the Docker config file at `path` (default: {@link
 * defaultDockerConfigPath}). A missing file means anonymous access everywhere.
 *
 * @throws {ParseError} when the file exists but is malformed
 */
export async function loadDockerCredentials(path?: string): Promise<CredentialLookup> {
  const file = path ?? defaultDockerConfigPath();
  let text: string | undefined;
  if (file) {
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (text === undefined) return () => Promise.resolve(undefined);
  return dockerCredentialLookup(parseDockerConfig(text, file!));
}

/**
 * Client of the OCI distribution API: manifests and blobs read and written over HTTPS (plain
 * HTTP only for registries listed as insecure), with Basic or Bearer-token authentication.
 * Everything read is checked against its digest before it is returned.
 *
 * @module
 */
import {
  ContrastError,
  NotFoundError,
  ParseError,
  UnavailableError,
  VerificationError,
} from "../util/errors/mod.ts";
import {
  type AuthChallenge,
  basicAuthorization,
  fetchBearerToken,
  parseAuthChallenges,
} from "./auth.ts";
import type { CredentialLookup, Credentials, CredentialStore } from "./credentials.ts";
import { createSha256, digestOf, expectDigest, parseDigest, verifyDigest } from "./digest.ts";
import { MAX_DOCUMENT_SIZE } from "./manifest.ts";
import { MANIFEST_ACCEPT } from "./media_types.ts";
import { describeFailure } from "./network_error.ts";
import { readBoundedBody, readTextPrefix } from "./bounded_body.ts";
import { apiHost } from "./reference.ts";
import { parseRetryAfter, retryAfterWaitMs } from "../util/http/retry_after.ts";

/** Options of a {@link RegistryClient}. */
interface RegistryClientOptions {
  /** Registries (`host[:port]`) reached over plain HTTP instead of HTTPS. */
  readonly insecureRegistries?: readonly string[];
  /** Credentials by registry host: a map, or a lookup (e.g. from the Docker config file). */
  readonly credentials?: CredentialStore | CredentialLookup;
  /** Timeout of one request (default 60 s; blob downloads get ten times that). */
  readonly timeoutMs?: number;
  /** How often a failed read is retried (default 3; see {@link RegistryClient}). */
  readonly retries?: number;
  /** Delay before the first retry in milliseconds, doubled for each further one (default 500). */
  readonly retryBaseMs?: number;
  /**
   * Extra PEM CA certificates trusted for HTTPS registries and token endpoints (besides the
   * system's). A client created with them holds an HTTP client: {@link RegistryClient.close} it.
   */
  readonly caCertificates?: readonly string[];
  /** Waits `ms` before a retry (default: a timer; tests record the waits instead). */
  readonly wait?: (ms: number) => Promise<void>;
  /** The current time in ms since the epoch, for `Retry-After` dates (default `Date.now`). */
  readonly now?: () => number;
}

/** A repository in a registry. */
export interface RepositoryLocation {
  /** Registry host with optional port (`docker.io` for Docker Hub). */
  readonly registry: string;
  /** Repository path, e.g. `library/nginx`. */
  readonly repository: string;
}

/** A manifest or index as fetched, with its verified digest. */
interface FetchedManifest {
  /** The bytes as received. */
  readonly bytes: Uint8Array;
  /** `Content-Type` sent by the registry. */
  readonly contentType: string | undefined;
  /** `sha256:…` of the bytes (checked against the requested digest or `Docker-Content-Digest`). */
  readonly digest: string;
}

/** Progress callback for blob downloads: bytes received so far of `total`. */
type BlobProgress = (received: number, total: number) => void;

type Access = "pull" | "pull,push";

/** Answers worth retrying: rate limiting and gateway/availability failures. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** How much of an error answer is read for its message (the rest is not downloaded). */
const MAX_ERROR_BODY = 64 * 1024;
/** Longest `Retry-After` honoured. */
const MAX_RETRY_AFTER_MS = 10_000;

/** The distribution-spec error text of a failed response, for messages. */
async function errorDetail(response: Response): Promise<string> {
  const text = await readTextPrefix(response, MAX_ERROR_BODY);
  try {
    const json = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = json.errors?.[0];
    if (first) return `: ${first.code ?? ""} ${first.message ?? ""}`.trimEnd();
  } catch {
    // not JSON: no detail
  }
  return "";
}

/**
 * A distribution API client. Tokens are cached per registry and scope for the life of the
 * client (one client per command run). Reads are retried on transient failures (unreachable
 * registry, 429, 502–504), never on certificate errors or definite answers such as 404.
 */
export class RegistryClient {
  readonly #insecure: ReadonlySet<string>;
  readonly #credentials: CredentialLookup;
  readonly #timeoutMs: number;
  readonly #authorizations = new Map<string, string>();
  readonly #httpClient: Deno.HttpClient | undefined;
  readonly #retries: number;
  readonly #retryBaseMs: number;
  readonly #wait: (ms: number) => Promise<void>;
  readonly #now: () => number;

  /** A client with `options` (HTTPS everywhere and anonymous access by default). */
  constructor(options: RegistryClientOptions = {}) {
    this.#insecure = new Set(options.insecureRegistries ?? []);
    const credentials = options.credentials ?? new Map<string, Credentials>();
    this.#credentials = typeof credentials === "function"
      ? credentials
      : (registry) => Promise.resolve(credentials.get(registry));
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#retries = Math.max(0, options.retries ?? 3);
    this.#retryBaseMs = Math.max(0, options.retryBaseMs ?? 500);
    this.#wait = options.wait ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
    this.#httpClient = options.caCertificates?.length
      ? Deno.createHttpClient({ caCerts: [...options.caCertificates] })
      : undefined;
  }

  /** Releases the HTTP client made for custom CA certificates (no-op without them). */
  close(): void {
    this.#httpClient?.close();
  }

  /** Whether `registry` is reached over plain HTTP. */
  isInsecure(registry: string): boolean {
    return this.#insecure.has(registry);
  }

  /** Base URL of the distribution API of `registry`, e.g. `https://ghcr.io/v2/`. */
  baseUrl(registry: string): string {
    return `${this.isInsecure(registry) ? "http" : "https"}://${apiHost(registry)}/v2/`;
  }

  async #authorize(
    location: RepositoryLocation,
    access: Access,
    challenges: AuthChallenge[],
    field: string,
  ): Promise<string> {
    const credentials = await this.#credentials(location.registry);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) {
      const token = await fetchBearerToken({
        challenge: bearer,
        scope: `repository:${location.repository}:${access}`,
        credentials,
        allowHttp: this.isInsecure(location.registry),
        timeoutMs: this.#timeoutMs,
        httpClient: this.#httpClient,
      });
      return `Bearer ${token}`;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      if (!credentials || (credentials.identityToken && !credentials.password)) {
        throw new UnavailableError(
          field,
          `registry ${location.registry} requires credentials; add them to the docker config (docker login)`,
        );
      }
      return basicAuthorization(credentials);
    }
    throw new UnavailableError(
      field,
      `registry ${location.registry} asks for unsupported authentication ${
        challenges.map((c) => c.scheme).join(", ")
      }`,
    );
  }

  /**
   * Sends one request. Reads (GET, HEAD) are retried with exponential backoff when the
   * registry cannot be reached or answers 429/502/503/504 (honouring a `Retry-After`, seconds or
   * HTTP-date, of up to 10 s; an unreadable one is ignored); writes are sent once.
   */
  async #send(
    url: URL,
    init: RequestInit,
    timeoutMs: number,
    location: RepositoryLocation,
    field: string,
  ): Promise<Response> {
    const method = (init.method ?? "GET").toUpperCase();
    const read = method === "GET" || method === "HEAD";
    const retries = read ? this.#retries : 0;
    for (let attempt = 0;; attempt++) {
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await fetch(url, {
          ...init,
          // A write is never re-sent elsewhere: fetch would repeat its body (the image's
          // content) to whatever origin a 307/308 names, in clear for http://.
          redirect: read ? "follow" : "manual",
          signal: init.signal
            ? AbortSignal.any([AbortSignal.timeout(timeoutMs), init.signal])
            : AbortSignal.timeout(timeoutMs),
          client: this.#httpClient,
        });
      } catch (e) {
        failure = e;
      }
      if (init.signal?.aborted) {
        await response?.body?.cancel();
        throw new UnavailableError(field, "download cancelled");
      }
      if (!read && response && response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const where = response.headers.get("location") ?? "";
        throw new UnavailableError(
          field,
          `registry ${location.registry} redirected the upload (HTTP ${response.status}` +
            `${where ? ` to ${JSON.stringify(where.slice(0, 200))}` : ""}); uploads go to the ` +
            "registry only",
        );
      }
      // A certificate the client does not trust will not become trusted by asking again.
      const permanent = response === undefined &&
        /certificate|handshake/i.test(describeFailure(failure));
      const transient = !permanent &&
        (response === undefined || RETRY_STATUSES.has(response.status));
      if (response) await this.#refuseDowngrade(response, location, field);
      if (!transient || attempt >= retries) {
        if (response) return response;
        throw new UnavailableError(
          field,
          `cannot reach registry ${location.registry}: ${describeFailure(failure)}` +
            (attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""),
        );
      }
      const now = this.#now();
      const retryAfter = parseRetryAfter(response?.headers.get("retry-after"), now);
      const delay = retryAfter === undefined
        ? this.#retryBaseMs * 2 ** attempt
        : retryAfterWaitMs(retryAfter, now, MAX_RETRY_AFTER_MS);
      await response?.body?.cancel();
      await this.#wait(delay);
    }
  }

  /**
   * An HTTPS registry's answer must come over HTTPS: a redirect to `http://` (as a registry
   * behind a TLS-terminating proxy sends) would let anyone on the path change what a tag
   * resolves to.
   *
   * @throws {VerificationError} naming `field` when `response` was redirected to plain HTTP
   */
  async #refuseDowngrade(
    response: Response,
    location: RepositoryLocation,
    field: string,
  ): Promise<void> {
    if (this.isInsecure(location.registry) || response.url === "") return;
    const answered = new URL(response.url);
    if (answered.protocol === "https:") return;
    await response.body?.cancel();
    throw new VerificationError(
      field,
      `registry ${location.registry} redirected to plain HTTP (${answered.origin}); ` +
        "refusing an answer anyone on the path could have changed",
    );
  }

  /**
   * Sends a request to the API of `location`'s registry, authenticating when challenged.
   * `path` is relative to the repository (`manifests/latest`) or absolute (an upload URL).
   */
  async #request(
    location: RepositoryLocation,
    access: Access,
    path: string,
    init: RequestInit,
    field: string,
    timeoutMs = this.#timeoutMs,
  ): Promise<Response> {
    const base = `${this.baseUrl(location.registry)}${location.repository}/`;
    const url = new URL(path, base);
    const key = `${location.registry} ${location.repository} ${access}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = new Headers(init.headers);
      const authorization = this.#authorizations.get(key);
      if (authorization) headers.set("Authorization", authorization);
      const response = await this.#send(url, { ...init, headers }, timeoutMs, location, field);
      if (response.status !== 401) return response;
      await response.body?.cancel();
      // A challenge is answered with this registry's credentials only when the registry itself
      // sent it: the storage or CDN it redirected to is another party.
      const challenger = response.url === "" ? url.origin : new URL(response.url).origin;
      if (challenger !== url.origin) {
        throw new UnavailableError(
          field,
          `registry ${location.registry} redirected to ${challenger}, which asks for ` +
            "authentication; the registry's credentials are not sent there",
        );
      }
      if (attempt === 1) break;
      const header = response.headers.get("www-authenticate");
      if (!header) {
        throw new UnavailableError(
          field,
          `registry ${location.registry} answered 401 without challenge`,
        );
      }
      this.#authorizations.set(
        key,
        await this.#authorize(location, access, parseAuthChallenges(header), field),
      );
    }
    throw new UnavailableError(
      field,
      `registry ${location.registry} refused the credentials (HTTP 401) for ${location.repository}`,
    );
  }

  async #fail(response: Response, field: string, what: string): Promise<never> {
    const detail = await errorDetail(response);
    if (response.status === 404) {
      throw new NotFoundError(field, `${what} not found (HTTP 404${detail})`);
    }
    if (response.status === 403) {
      throw new UnavailableError(field, `access to ${what} denied (HTTP 403${detail})`);
    }
    throw new UnavailableError(field, `${what}: HTTP ${response.status}${detail}`);
  }

  /**
   * Fetches a manifest or index by tag or digest. A digest reference is checked against the
   * content; for a tag, a `Docker-Content-Digest` header, when sent, must match the content.
   *
   * @throws {VerificationError} when the content does not match its digest
   * @throws {UnavailableError} when the registry cannot be reached or has no such manifest
   */
  async getManifest(
    location: RepositoryLocation,
    reference: string,
    field: string,
  ): Promise<FetchedManifest> {
    const byDigest = reference.includes(":");
    const expected = byDigest ? parseDigest(reference, field) : undefined;
    const response = await this.#request(
      location,
      "pull",
      `manifests/${reference}`,
      { headers: { Accept: MANIFEST_ACCEPT } },
      field,
    );
    if (!response.ok) return this.#fail(response, field, `manifest ${reference}`);
    const bytes = await readBody(response, MAX_DOCUMENT_SIZE, location, field);
    if (expected) {
      await verifyDigest(bytes, expected, field);
    }
    const digest = await digestOf(bytes);
    const header = response.headers.get("docker-content-digest");
    if (header !== null && header.startsWith("sha256:")) {
      await verifyDigest(bytes, parseDigest(header, `${field} Docker-Content-Digest`), field);
    }
    return { bytes, contentType: response.headers.get("content-type") ?? undefined, digest };
  }

  /**
   * Asks which manifest digest `reference` (a tag) points at, without downloading it (`HEAD`;
   * Docker Hub does not count these against pull rate limits).
   *
   * @returns the `Docker-Content-Digest` the registry names, or undefined when it sends none
   * @throws {UnavailableError} when the registry cannot be reached or has no such manifest
   */
  async headManifest(
    location: RepositoryLocation,
    reference: string,
    field: string,
  ): Promise<string | undefined> {
    const response = await this.#request(
      location,
      "pull",
      `manifests/${reference}`,
      { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } },
      field,
    );
    await response.body?.cancel();
    if (!response.ok) return this.#fail(response, field, `manifest ${reference}`);
    const header = response.headers.get("docker-content-digest");
    if (header === null) return undefined;
    return parseDigest(header, `${field} Docker-Content-Digest`).text;
  }

  /**
   * Downloads a blob and checks its size and digest before returning it. `signal` cancels the
   * download (an {@link UnavailableError}).
   *
   * @throws {VerificationError} when size or digest differ from the descriptor
   * @throws {UnavailableError} when the registry cannot be reached or has no such blob
   */
  async getBlob(
    location: RepositoryLocation,
    descriptor: { readonly digest: string; readonly size: number },
    field: string,
    progress?: BlobProgress,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const expected = parseDigest(descriptor.digest, field);
    const response = await this.#blobResponse(location, expected.text, field, signal);
    const bytes = await readBody(response, descriptor.size, location, field, progress);
    expectSize(bytes.length, descriptor.size, field);
    await verifyDigest(bytes, expected, field);
    return bytes;
  }

  /**
   * Downloads a blob into a new file at `path` (mode 0600), hashing it on the way, and checks
   * size and digest before returning; on any failure, or when `signal` cancels the download, the
   * file is removed. For blobs too large to hold in memory.
   *
   * @throws {VerificationError} when size or digest differ from the descriptor
   * @throws {UnavailableError} when the registry cannot be reached or has no such blob
   */
  async downloadBlob(
    location: RepositoryLocation,
    descriptor: { readonly digest: string; readonly size: number },
    path: string,
    field: string,
    progress?: BlobProgress,
    signal?: AbortSignal,
  ): Promise<void> {
    const expected = parseDigest(descriptor.digest, field);
    const response = await this.#blobResponse(location, expected.text, field, signal);
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    const writer = file.writable.getWriter();
    const hash = createSha256();
    let total = 0;
    const reader = response.body?.getReader();
    try {
      while (reader) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (e) {
          throw brokenOff(location, field, e);
        }
        if (next.done) break;
        const chunk = next.value;
        total += chunk.length;
        if (total > descriptor.size) {
          throw new VerificationError(
            field,
            `larger than expected (more than ${descriptor.size} bytes)`,
          );
        }
        hash.update(chunk);
        await writer.write(chunk);
        progress?.(total, descriptor.size);
      }
      await writer.close();
      expectSize(total, descriptor.size, field);
      expectDigest(hash.digest(), expected, field);
    } catch (e) {
      await reader?.cancel().catch(() => {});
      await writer.abort().catch(() => {});
      try {
        file.close();
      } catch {
        // already closed by the writer
      }
      await Deno.remove(path).catch(() => {});
      throw e;
    }
  }

  /**
   * The successful response to `GET blobs/<digest>` (long timeout: blobs can be large); `signal`
   * aborts the request and the reading of its body.
   */
  async #blobResponse(
    location: RepositoryLocation,
    digest: string,
    field: string,
    signal?: AbortSignal,
  ): Promise<Response> {
    const response = await this.#request(
      location,
      "pull",
      `blobs/${digest}`,
      signal ? { signal } : {},
      field,
      this.#timeoutMs * 10,
    );
    if (!response.ok) return this.#fail(response, field, `blob ${digest}`);
    return response;
  }

  /** Whether the repository already has the blob `digest`. */
  async hasBlob(location: RepositoryLocation, digest: string, field: string): Promise<boolean> {
    const response = await this.#request(location, "pull,push", `blobs/${digest}`, {
      method: "HEAD",
    }, field);
    await response.body?.cancel();
    if (response.ok) return true;
    if (response.status === 404) return false;
    return this.#fail(response, field, `blob ${digest}`);
  }

  /**
   * Uploads a blob in one piece (POST to open the upload, PUT with the digest), unless the
   * repository has it already.
   *
   * @returns the blob's digest
   */
  async pushBlob(location: RepositoryLocation, bytes: Uint8Array, field: string): Promise<string> {
    const digest = await digestOf(bytes);
    if (await this.hasBlob(location, digest, field)) return digest;
    const start = await this.#request(location, "pull,push", "blobs/uploads/", {
      method: "POST",
    }, field);
    if (start.status !== 202) return this.#fail(start, field, "blob upload");
    await start.body?.cancel();
    const where = start.headers.get("location");
    if (!where) throw new ParseError(field, "blob upload answer has no Location header");
    const base = new URL(`${this.baseUrl(location.registry)}${location.repository}/`);
    const uploadUrl = new URL(where, base);
    // The upload is sent with this registry's credentials: never to another origin (a registry
    // behind a TLS-terminating proxy may name an http:// URL, which would carry them in clear).
    if (uploadUrl.origin !== base.origin) {
      throw new VerificationError(
        field,
        `blob upload Location ${uploadUrl.origin} is not the registry's origin ${base.origin}; ` +
          "refusing to send the registry's credentials there",
      );
    }
    uploadUrl.searchParams.set("digest", digest);
    const put = await this.#request(
      location,
      "pull,push",
      uploadUrl.href,
      {
        method: "PUT",
        headers: { "Content-Type": "application/octet-stream" },
        body: bytes as Uint8Array<ArrayBuffer>,
      },
      field,
      this.#timeoutMs * 10,
    );
    if (put.status !== 201) return this.#fail(put, field, "blob upload");
    await put.body?.cancel();
    return digest;
  }

  /**
   * Uploads a manifest or index under `reference` (a tag or its digest).
   *
   * @returns the manifest's digest
   */
  async pushManifest(
    location: RepositoryLocation,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    field: string,
  ): Promise<string> {
    const digest = await digestOf(bytes);
    const response = await this.#request(location, "pull,push", `manifests/${reference}`, {
      method: "PUT",
      headers: { "Content-Type": mediaType },
      body: bytes as Uint8Array<ArrayBuffer>,
    }, field);
    if (response.status !== 201) return this.#fail(response, field, `manifest ${reference}`);
    await response.body?.cancel();
    return digest;
  }
}

/** The error for an answer whose body failed while read (reset connection, timeout). */
function brokenOff(location: RepositoryLocation, field: string, cause: unknown): UnavailableError {
  return new UnavailableError(
    field,
    `registry ${location.registry} broke off the answer: ${describeFailure(cause)}`,
  );
}

/**
 * {@link readBoundedBody}, with a body that fails while read (the registry resets the
 * connection, or dribbles past the timeout) an {@link UnavailableError} naming `field`.
 */
async function readBody(
  response: Response,
  limit: number,
  location: RepositoryLocation,
  field: string,
  progress?: BlobProgress,
): Promise<Uint8Array> {
  try {
    return await readBoundedBody(response, limit, field, progress);
  } catch (e) {
    if (e instanceof ContrastError) throw e;
    throw brokenOff(location, field, e);
  }
}

/** @throws {VerificationError} naming `field` when `actual` bytes are not the descriptor's size */
function expectSize(actual: number, expected: number, field: string): void {
  if (actual !== expected) {
    throw new VerificationError(field, `size ${actual} differs from the descriptor's ${expected}`);
  }
}

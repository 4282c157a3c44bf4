/**
 * Registry authentication: `WWW-Authenticate` challenge parsing and the Bearer token flow of the
 * distribution spec: `GET realm?service=…&scope=…` with Basic credentials, or, for an OAuth2
 * refresh token (Docker's `identitytoken`), `POST realm` with a `refresh_token` grant; answered
 * with `token` or `access_token`.
 *
 * @module
 */
import { encodeBase64 } from "../util/bytes/mod.ts";
import { ParseError, UnavailableError, VerificationError } from "../util/errors/mod.ts";
import type { Credentials } from "./credentials.ts";
import { describeFailure } from "./network_error.ts";
import { readBoundedBody } from "./bounded_body.ts";

/** Largest token endpoint answer read (tokens are a few KiB; registries' JWTs well below this). */
const MAX_TOKEN_ANSWER = 1024 * 1024;

/** One authentication challenge from a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Scheme in lower case: `basic` or `bearer` (others are reported unsupported). */
  readonly scheme: string;
  /** Parameters such as `realm`, `service`, `scope`. */
  readonly params: ReadonlyMap<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header into its challenges.
 *
 * @throws {ParseError} when the header is empty or malformed
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  const token = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*/y;
  const param = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]*))\s*/y;
  let pos = 0;
  while (pos < header.length) {
    token.lastIndex = pos;
    const scheme = token.exec(header);
    if (!scheme) {
      throw new ParseError("WWW-Authenticate", `malformed header ${JSON.stringify(header)}`);
    }
    pos = token.lastIndex;
    const params = new Map<string, string>();
    while (pos < header.length) {
      param.lastIndex = pos;
      const m = param.exec(header);
      if (!m) break;
      params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!);
      pos = param.lastIndex;
      if (header[pos] === ",") pos++;
      else break;
    }
    challenges.push({ scheme: scheme[1]!.toLowerCase(), params });
    while (header[pos] === "," || header[pos] === " ") pos++;
  }
  if (challenges.length === 0) throw new ParseError("WWW-Authenticate", "empty header");
  return challenges;
}

/** The `Authorization` header value for HTTP Basic with `credentials`. */
export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${
    encodeBase64(new TextEncoder().encode(`${credentials.username}:${credentials.password}`))
  }`;
}

/** Options of {@link fetchBearerToken}. */
interface TokenRequest {
  /** The Bearer challenge the registry answered with. */
  readonly challenge: AuthChallenge;
  /** The scope to ask for, e.g. `repository:library/nginx:pull`. */
  readonly scope: string;
  /** Credentials to authenticate to the token endpoint (anonymous when undefined). */
  readonly credentials?: Credentials;
  /** Whether a plain-HTTP token endpoint is acceptable (only for insecure registries). */
  readonly allowHttp: boolean;
  /** Request timeout in milliseconds. */
  readonly timeoutMs: number;
  /** HTTP client with extra trusted CA certificates (default: the system's trust store). */
  readonly httpClient?: Deno.HttpClient;
}

/** How many redirects within its origin a token endpoint may send. */
const MAX_TOKEN_REDIRECTS = 5;

/**
 * Sends a token request, following redirects only within `url`'s origin: `fetch` would re-send a
 * POST body (the refresh token) to any origin on a 307/308, in clear for `http://`.
 *
 * @throws {UnavailableError} when the endpoint cannot be reached or redirects elsewhere
 */
async function sendFollowingSameOrigin(
  url: URL,
  init: RequestInit & { client?: Deno.HttpClient },
): Promise<Response> {
  const field = `token endpoint ${url.origin}`;
  let target = url;
  for (let hop = 0;; hop++) {
    let response: Response;
    try {
      response = await fetch(target, { ...init, redirect: "manual" });
    } catch (e) {
      throw new UnavailableError(field, `cannot reach: ${describeFailure(e)}`);
    }
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || location === null) return response;
    await response.body?.cancel();
    const next = new URL(location, target);
    if (next.origin !== url.origin) {
      throw new UnavailableError(
        field,
        `redirects to ${next.origin}; refusing to send the credentials to another origin`,
      );
    }
    if (hop >= MAX_TOKEN_REDIRECTS) {
      throw new UnavailableError(field, `more than ${MAX_TOKEN_REDIRECTS} redirects`);
    }
    target = next;
  }
}

/**
 * Gets a Bearer token from the token endpoint named by a challenge.
 *
 * @throws {UnavailableError} when the endpoint cannot be reached or refuses
 * @throws {ParseError} when the challenge or the endpoint's answer is malformed
 */
export async function fetchBearerToken(request: TokenRequest): Promise<string> {
  const realm = request.challenge.params.get("realm");
  if (!realm) throw new ParseError("WWW-Authenticate", "Bearer challenge without realm");
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new ParseError("WWW-Authenticate", `realm is not a URL: ${JSON.stringify(realm)}`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && request.allowHttp)) {
    throw new UnavailableError(
      "WWW-Authenticate",
      `token realm ${url.origin} is not HTTPS; refusing to send credentials in clear`,
    );
  }
  const service = request.challenge.params.get("service");
  const headers = new Headers({ Accept: "application/json" });
  const init: RequestInit = {};
  const identityToken = request.credentials?.identityToken;
  if (identityToken) {
    // OAuth2 refresh-token grant (distribution token spec, "oauth"): the token goes in the body.
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: identityToken,
      client_id: "contrast",
      scope: request.scope,
    });
    if (service) form.set("service", service);
    init.method = "POST";
    init.body = form;
    headers.set("Content-Type", "application/x-www-form-urlencoded");
  } else {
    if (service) url.searchParams.set("service", service);
    url.searchParams.set("scope", request.scope);
    if (request.credentials) {
      headers.set("Authorization", basicAuthorization(request.credentials));
    }
  }
  const response = await sendFollowingSameOrigin(url, {
    ...init,
    headers,
    signal: AbortSignal.timeout(request.timeoutMs),
    client: request.httpClient,
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new UnavailableError(
      `token endpoint ${url.origin}`,
      `HTTP ${response.status} for scope ${request.scope}${
        response.status === 401 || response.status === 403 ? " (check the credentials)" : ""
      }`,
    );
  }
  let body: string;
  try {
    body = new TextDecoder().decode(
      await readBoundedBody(response, MAX_TOKEN_ANSWER, `token endpoint ${url.origin}`),
    );
  } catch (e) {
    if (e instanceof VerificationError) {
      throw new ParseError(`token endpoint ${url.origin}`, `answer ${e.reason}`);
    }
    throw new UnavailableError(
      `token endpoint ${url.origin}`,
      `answer broke off: ${describeFailure(e)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ParseError(`token endpoint ${url.origin}`, "answer is not JSON");
  }
  const record = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const token = record.token ?? record.access_token;
  if (typeof token !== "string" || token === "") {
    throw new ParseError(`token endpoint ${url.origin}`, "answer has no token");
  }
  return token;
}

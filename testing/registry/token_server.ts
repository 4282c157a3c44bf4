/**
 * A Docker-style token server for tests (the Bearer flow of the distribution spec): it checks
 * HTTP Basic credentials and issues ES256 JWTs with an `x5c` certificate that the real
 * `docker-registry` verifies against its `auth.token.rootcertbundle`. The signing certificate is
 * made by `openssl`; the server listens on 127.0.0.1 only.
 *
 * @module
 */
import { decodePem, encodeBase64 } from "../../util/bytes/mod.ts";
import type { Credentials } from "../../oci/credentials.ts";

/** A running token server. */
export interface TokenServer {
  /** The realm URL the registry names in its `WWW-Authenticate` challenge. */
  readonly realm: string;
  /** The `service` name tokens are issued for (the registry's `auth.token.service`). */
  readonly service: string;
  /** The token issuer (the registry's `auth.token.issuer`). */
  readonly issuer: string;
  /** PEM of the certificate the registry must trust (`auth.token.rootcertbundle`). */
  readonly rootCertificatePem: string;
  /** Scopes requested so far, with whether credentials were valid. */
  readonly requests: readonly { scope: string; authenticated: boolean; method: string }[];
  /** Stops the server. */
  stop(): Promise<void>;
}

function base64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const json64 = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

async function makeSigningCertificate(dir: string): Promise<{ key: CryptoKey; certPem: string }> {
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/token.key`,
      "-out",
      `${dir}/token.crt`,
      "-days",
      "2",
      "-subj",
      "/CN=contrast test token issuer",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
  const keyDer = decodePem(await Deno.readTextFile(`${dir}/token.key`), "PRIVATE KEY")[0]!.der;
  const key = await crypto.subtle.importKey(
    "pkcs8",
    keyDer as Uint8Array<ArrayBuffer>,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  return { key, certPem: await Deno.readTextFile(`${dir}/token.crt`) };
}

/**
 * Starts a token server. With `credentials`, only requests carrying them get a token (others
 * get 401); with `refreshToken`, an OAuth2 `POST` with that `refresh_token` gets one too. Tokens
 * grant exactly the requested repository actions.
 */
export async function startTokenServer(
  credentials?: Credentials,
  refreshToken?: string,
): Promise<TokenServer> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-token-" });
  const { key, certPem } = await makeSigningCertificate(dir);
  await Deno.remove(dir, { recursive: true });
  const certDer = decodePem(certPem, "CERTIFICATE")[0]!.der;
  const service = "contrast-test-registry";
  const issuer = "contrast-test-issuer";
  const requests: { scope: string; authenticated: boolean; method: string }[] = [];
  const expected = credentials
    ? `Basic ${
      encodeBase64(new TextEncoder().encode(`${credentials.username}:${credentials.password}`))
    }`
    : undefined;

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const url = new URL(request.url);
      let params = url.searchParams;
      let authenticated = expected !== undefined &&
        request.headers.get("authorization") === expected;
      if (request.method === "POST") {
        params = new URLSearchParams(await request.text());
        authenticated = refreshToken !== undefined &&
          params.get("grant_type") === "refresh_token" &&
          params.get("refresh_token") === refreshToken;
      }
      const scope = params.get("scope") ?? "";
      requests.push({ scope, authenticated, method: request.method });
      if (url.pathname !== "/token" || params.get("service") !== service) {
        return new Response("not found", { status: 404 });
      }
      if ((expected !== undefined || refreshToken !== undefined) && !authenticated) {
        return new Response(JSON.stringify({ details: "invalid credentials" }), { status: 401 });
      }
      const access = [];
      const m = /^repository:([^:]+):([a-z,*]+)$/.exec(scope);
      if (m) access.push({ type: "repository", name: m[1], actions: m[2]!.split(",") });
      const now = Math.floor(Date.now() / 1000);
      const header = json64({ typ: "JWT", alg: "ES256", x5c: [encodeBase64(certDer)] });
      const claims = json64({
        iss: issuer,
        sub: credentials?.username ?? "",
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      });
      const signature = new Uint8Array(
        await crypto.subtle.sign(
          { name: "ECDSA", hash: "SHA-256" },
          key,
          new TextEncoder().encode(`${header}.${claims}`),
        ),
      );
      const token = `${header}.${claims}.${base64url(signature)}`;
      return request.method === "POST"
        ? Response.json({ access_token: token, expires_in: 300, scope })
        : Response.json({ token, expires_in: 300, issued_at: new Date().toISOString() });
    },
  );
  return {
    realm: `http://127.0.0.1:${server.addr.port}/token`,
    service,
    issuer,
    rootCertificatePem: certPem,
    requests,
    async stop() {
      await server.shutdown();
    },
  };
}

/**
 * A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution v2) started on
 * 127.0.0.1 with a free port and a temporary storage directory, plus {@link pushTestImage} to
 * publish images built in memory with `oci/writer.ts`.
 *
 * ```ts
 * const registry = await startRegistry();
 * try {
 *   const pushed = await pushTestImage(registry, "app", "v1", {
 *     layers: [{ files: { "etc/passwd": "root:x:0:0::/root:/bin/sh\n" } }],
 *     entrypoint: ["/app"],
 *     user: "1000:1000",
 *   });
 *   // resolve `${registry.host}/app:v1` with insecureRegistries: [registry.host]
 * } finally {
 *   await registry.stop();
 * }
 * ```
 *
 * The registry binary is installed on first use by `scripts/install_tools.sh` (the test runner
 * runs it before the tests, so normally it is already there). Nothing listens beyond loopback.
 *
 * @module
 */
import type { Credentials } from "../../oci/credentials.ts";
import { RegistryClient } from "../../oci/registry_client.ts";
import {
  type ImageSpec,
  type MultiPlatformSpec,
  type PushedImage,
  pushImage,
} from "../../oci/writer.ts";
import { startTokenServer, type TokenServer } from "./token_server.ts";

/** A running test registry. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry part of image references, and the insecure-registry entry. */
  readonly host: string;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`). */
  readonly url: string;
  /** The registry's storage root (tests may tamper with blobs under `docker/registry/v2/blobs`). */
  readonly storageDir: string;
  /** The credentials the registry requires (when started with `htpasswd`). */
  readonly credentials?: Credentials;
  /** A client that reaches this registry (with its credentials, if any). */
  readonly client: RegistryClient;
  /** PEM of the CA that issued the registry's certificate (with `tls`). */
  readonly caCertificatePem?: string;
  /** The token server, when started with `tokenAuth`. */
  readonly tokenServer?: TokenServer;
  /** Stops the registry (and token server) and deletes its storage. */
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}. */
interface StartRegistryOptions {
  /** Require HTTP Basic authentication with these credentials (bcrypt htpasswd file). */
  readonly htpasswd?: Credentials;
  /**
   * Require Bearer tokens from a test token server (see `token_server.ts`), which issues them
   * only for these credentials (or, by OAuth2 POST, for `refreshToken`). Mutually exclusive
   * with `htpasswd`.
   */
  readonly tokenAuth?: { readonly credentials: Credentials; readonly refreshToken?: string };
  /**
   * Serve HTTPS with a certificate for 127.0.0.1 from a fresh test CA (`caCertificatePem`);
   * the registry is then not "insecure" and `client` trusts that CA.
   */
  readonly tls?: boolean;
  /** Listen on this port instead of a free one (to restart a registry where it was). */
  readonly port?: number;
  /** Use (and keep on `stop()`) this storage directory instead of a fresh one. */
  readonly storageDir?: string;
}

const REPO_ROOT = new URL("../../", import.meta.url).pathname;

async function commandExists(name: string): Promise<boolean> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `command -v ${name}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

async function ensureTools(): Promise<void> {
  if (await commandExists("docker-registry") && await commandExists("htpasswd")) return;
  const out = await new Deno.Command("bash", {
    args: [`${REPO_ROOT}scripts/install_tools.sh`],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success || !(await commandExists("docker-registry"))) {
    throw new Error(
      `docker-registry is not installed and scripts/install_tools.sh failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function htpasswdLine(credentials: Credentials): Promise<string> {
  const out = await new Deno.Command("htpasswd", {
    args: ["-nbB", "-C", "4", credentials.username, credentials.password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`htpasswd failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim() + "\n";
}

/**
 * Makes a test CA (`ca.crt`) and a server certificate for 127.0.0.1 (`server.crt`,
 * `server.key`) in `dir` with `openssl`.
 *
 * @returns the CA certificate's PEM
 */
export async function makeTlsFiles(dir: string): Promise<string> {
  const script = `set -e
cd "$1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
  -days 2 -subj "/CN=contrast test registry CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out server.csr -subj "/CN=127.0.0.1"
printf "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n" \
  > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.crt
`;
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "tls", dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
  return await Deno.readTextFile(`${dir}/ca.crt`);
}

/**
 * Waits until this registry answers `/v2/`. Each registry sends a unique `X-Contrast-Registry`
 * header, so a different server that happens to hold the port (a race with a parallel test) is
 * never mistaken for it.
 */
async function waitReady(
  url: string,
  marker: string,
  child: Deno.ChildProcess,
  logFile: string,
  httpClient?: Deno.HttpClient,
): Promise<void> {
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  for (let i = 0; i < 200; i++) {
    if (exited) {
      await status;
      const log = await Deno.readTextFile(logFile).catch(() => "");
      throw new Error(`docker-registry exited during start-up:\n${log}`);
    }
    try {
      const response = await fetch(`${url}/v2/`, {
        signal: AbortSignal.timeout(1000),
        client: httpClient,
      });
      await response.body?.cancel();
      if (response.headers.get("x-contrast-registry") !== marker) {
        throw new Error(`another server answers on ${url}`);
      }
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("docker-registry did not become ready within 10 s");
}

/**
 * Starts a registry on 127.0.0.1 with a free port and fresh storage; waits until `/v2/`
 * answers. Call `stop()` when done (in `finally`).
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  await ensureTools();
  const dir = await Deno.makeTempDir({ prefix: "contrast-registry-" });
  const storageDir = options.storageDir ?? `${dir}/storage`;
  if (!options.storageDir) await Deno.mkdir(storageDir);
  let auth = "";
  if (options.htpasswd && options.tokenAuth) {
    throw new Error("startRegistry: choose htpasswd or tokenAuth, not both");
  }
  if (options.htpasswd) {
    await Deno.writeTextFile(`${dir}/htpasswd`, await htpasswdLine(options.htpasswd));
    auth = `auth:\n  htpasswd:\n    realm: contrast-test\n    path: ${dir}/htpasswd\n`;
  }
  let tokenServer: TokenServer | undefined;
  if (options.tokenAuth) {
    tokenServer = await startTokenServer(
      options.tokenAuth.credentials,
      options.tokenAuth.refreshToken,
    );
    await Deno.writeTextFile(`${dir}/token-root.pem`, tokenServer.rootCertificatePem);
    auth = `auth:
  token:
    realm: ${tokenServer.realm}
    service: ${tokenServer.service}
    issuer: ${tokenServer.issuer}
    rootcertbundle: ${dir}/token-root.pem
`;
  }
  const credentials = options.htpasswd ?? options.tokenAuth?.credentials;
  let tls = "";
  let caCertificatePem: string | undefined;
  if (options.tls) {
    caCertificatePem = await makeTlsFiles(dir);
    tls = `  tls:\n    certificate: ${dir}/server.crt\n    key: ${dir}/server.key\n`;
  }
  const probeClient = caCertificatePem
    ? Deno.createHttpClient({ caCerts: [caCertificatePem] })
    : undefined;
  for (let attempt = 0;; attempt++) {
    const port = options.port ?? freePort();
    const host = `127.0.0.1:${port}`;
    const url = `${options.tls ? "https" : "http"}://${host}`;
    const marker = crypto.randomUUID();
    const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
http:
  addr: ${host}
  headers:
    X-Contrast-Registry: [${marker}]
${tls}${auth}`;
    await Deno.writeTextFile(`${dir}/config.yml`, config);
    const logFile = `${dir}/registry.log`;
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        `exec docker-registry serve "$1" >"$2" 2>&1`,
        "registry",
        `${dir}/config.yml`,
        logFile,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitReady(url, marker, child, logFile, probeClient);
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      // The port may have been taken in between: try another (unless it was asked for).
      if (attempt < 2 && options.port === undefined) continue;
      probeClient?.close();
      await tokenServer?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
    probeClient?.close();
    const client = new RegistryClient({
      insecureRegistries: options.tls ? [] : [host],
      caCertificates: caCertificatePem ? [caCertificatePem] : undefined,
      credentials: credentials ? new Map([[host, credentials]]) : undefined,
    });
    return {
      host,
      url,
      storageDir,
      credentials,
      client,
      caCertificatePem,
      tokenServer,
      async stop() {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        await child.status;
        client.close();
        await tokenServer?.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  }
}

/**
 * Builds an image from `spec` (see `oci/writer.ts`: layers as file maps, entrypoint, cmd, env,
 * user, working dir; or `{ platforms: [...] }` for an index) and pushes it to
 * `<registry.host>/<name>:<tag>`.
 *
 * @returns the pushed digests (`digest` is what the tag points at)
 */
export function pushTestImage(
  registry: TestRegistry,
  name: string,
  tag: string,
  spec: ImageSpec | MultiPlatformSpec,
): Promise<PushedImage> {
  return pushImage(registry.client, { registry: registry.host, repository: name }, tag, spec);
}

/** Path of a blob in the registry's filesystem storage (to corrupt it in tests). */
export function blobDataPath(registry: TestRegistry, digest: string): string {
  const hex = digest.replace(/^sha256:/, "");
  return `${registry.storageDir}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}

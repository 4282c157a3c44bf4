/**
 * Writes what the initializer received where the workload reads it:
 * `<tls>/mesh-ca.pem`, `<tls>/coordinator-root-ca.pem`, `<tls>/certChain.pem`, `<tls>/key.pem`
 * (mode 0400) and, with a workload secret, `<secrets>/workload-secret-seed` (hex, mode 0400).
 * Each file is written to a temporary name and renamed, so a reader never sees half a file.
 *
 * @module
 */
import { encodeHex, encodePem } from "../util/bytes/mod.ts";
import { writeFileAtomic } from "../util/files/atomic_write.ts";
import type { MeshCredentials } from "../atls/mesh_client.ts";

/** Where the files go. */
export interface OutputPaths {
  /** Folder of the TLS files (default `/contrast/tls-config`). */
  readonly tlsConfigDir: string;
  /** Folder of the secrets (default `/contrast/secrets`). */
  readonly secretsDir: string;
}

/** Default output folders. */
export const DEFAULT_OUTPUT_PATHS: OutputPaths = {
  tlsConfigDir: "/contrast/tls-config",
  secretsDir: "/contrast/secrets",
};

/** Mode of the TLS folder: the certificates are public, `key.pem` itself is 0400. */
const TLS_CONFIG_DIR_MODE = 0o755;
/** Mode of the secrets folder: only the owner may list or enter it. */
const SECRETS_DIR_MODE = 0o700;

/**
 * Creates `dir` (and its parents) and sets its mode explicitly: `mkdir` applies the process
 * umask, which under umask 000 would leave the folder world-writable.
 */
async function makeFolder(dir: string, mode: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode });
  await Deno.chmod(dir, mode);
}

/** Writes the credentials and the pod's private key; returns the paths written. */
export async function writeCredentials(
  paths: OutputPaths,
  credentials: MeshCredentials,
  leafPrivateKey: CryptoKey,
): Promise<string[]> {
  await makeFolder(paths.tlsConfigDir, TLS_CONFIG_DIR_MODE);
  const written: string[] = [];
  const put = async (dir: string, name: string, data: string, mode: number) => {
    const path = `${dir}/${name}`;
    await writeFileAtomic(path, data, { mode });
    written.push(path);
  };
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", leafPrivateKey));
  await put(paths.tlsConfigDir, "key.pem", encodePem("PRIVATE KEY", pkcs8), 0o400);
  pkcs8.fill(0);
  await put(paths.tlsConfigDir, "certChain.pem", credentials.certChain, 0o444);
  await put(paths.tlsConfigDir, "mesh-ca.pem", credentials.meshCa, 0o444);
  await put(paths.tlsConfigDir, "coordinator-root-ca.pem", credentials.rootCa, 0o444);
  if (credentials.workloadSecret) {
    await makeFolder(paths.secretsDir, SECRETS_DIR_MODE);
    await put(
      paths.secretsDir,
      WORKLOAD_SECRET_FILE,
      encodeHex(credentials.workloadSecret),
      0o400,
    );
  } else {
    await removeStaleSecret(`${paths.secretsDir}/${WORKLOAD_SECRET_FILE}`);
  }
  return written;
}

/** The workload secret's file name in the secrets folder. */
const WORKLOAD_SECRET_FILE = "workload-secret-seed";

/**
 * Removes a workload secret an earlier run of this pod's initializer wrote (the pod's volume
 * outlives a restarted init container) when the Coordinator handed out none this time: the
 * manifest no longer gives the policy one, and the workload must not go on with the old one next
 * to the new certificates.
 */
async function removeStaleSecret(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

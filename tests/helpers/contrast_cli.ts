/**
 * Runs the `contrast` CLI (`cli/main.ts`) as a subprocess, so tests see real exit codes and the
 * exact text written to stdout and stderr.
 *
 * @module
 */

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/** What one run of the CLI produced. */
interface CliRun {
  /** The process exit code. */
  readonly code: number;
  /** Everything written to stdout, decoded as UTF-8. */
  readonly stdout: string;
  /** Everything written to stderr, decoded as UTF-8. */
  readonly stderr: string;
}

/** Runs `contrast <args…>` with all permissions and `--quiet`, and waits for it to exit. */
export function runContrast(...args: string[]): Promise<CliRun> {
  return runContrastWithEnv({}, ...args);
}

/** Like {@link runContrast}, with `env` added to the inherited environment. */
export async function runContrastWithEnv(
  env: Record<string, string>,
  ...args: string[]
): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/**
 * `contrast generate`'s reference-value flags for the simulated SEV-SNP platform with a placeholder
 * simulated root (`ab…`) and trusted measurement (`cd…`): for tests of what generate writes or
 * refuses, not of attestation against those values.
 */
export const SIMULATED_SNP_REFERENCE_FLAGS: readonly string[] = [
  "--reference-values",
  "Simulated-SNP",
  "--simulated-root",
  "ab".repeat(32),
  "--trusted-measurement",
  "cd".repeat(48),
];

/**
 * `contrast generate`'s reference-value flags for Metal-QEMU-SNP with a placeholder trusted
 * measurement (`ab…`).
 */
export const METAL_SNP_REFERENCE_FLAGS: readonly string[] = [
  "--reference-values",
  "Metal-QEMU-SNP",
  "--trusted-measurement",
  "ab".repeat(48),
];

/**
 * `contrast generate`'s flags for pods as they are: {@link METAL_SNP_REFERENCE_FLAGS}, no
 * injected initializer and no service mesh (for tests of how generate reads images and
 * registries).
 */
export const BARE_PODS_GENERATE_FLAGS: readonly string[] = [
  ...METAL_SNP_REFERENCE_FLAGS,
  "--skip-initializer",
  "--skip-service-mesh",
];

/**
 * `contrast generate` with {@link SIMULATED_SNP_REFERENCE_FLAGS} on `${dir}/app.yml`, with `dir`
 * as the workspace.
 */
export function generateAppArgs(dir: string): string[] {
  return ["generate", ...SIMULATED_SNP_REFERENCE_FLAGS, "-w", dir, `${dir}/app.yml`];
}

/**
 * Running containers in tests with Debian's podman, daemonless, as this machine allows:
 * `--runtime runc --cgroup-manager cgroupfs`, host network, raised ulimits. Containers and volumes
 * get unique names and are removed by {@link PodmanSession.cleanup}.
 *
 * @module
 */

/** Global podman flags. */
export const PODMAN_GLOBAL = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"];

/** `podman run` flags every test container gets. */
export const PODMAN_RUN = [
  "--network",
  "host",
  "--ulimit",
  "nofile=1024:20000",
  "--ulimit",
  "nproc=1024:4096",
];

/** Output of one podman command. */
interface PodmanResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Whether podman and runc are installed. */
export async function podmanAvailable(): Promise<boolean> {
  for (const tool of ["podman", "runc"]) {
    try {
      const out = await new Deno.Command(tool, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (!out.success) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Runs `podman <global flags> args…` and collects its output. */
export async function podman(args: readonly string[]): Promise<PodmanResult> {
  const out = await new Deno.Command("podman", {
    args: [...PODMAN_GLOBAL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Containers, volumes and images a test made, removed together. */
export class PodmanSession {
  readonly #containers: string[] = [];
  readonly #volumes: string[] = [];
  readonly #images: string[] = [];
  readonly #prefix = `contrast-test-${crypto.randomUUID().slice(0, 8)}`;

  /** A unique name for a container or volume. */
  name(what: string): string {
    return `${this.#prefix}-${what}`;
  }

  /** Remembers a container to remove. */
  container(name: string): string {
    this.#containers.push(name);
    return name;
  }

  /** Creates a named volume. */
  async volume(what: string): Promise<string> {
    const name = this.name(what);
    const r = await podman(["volume", "create", name]);
    if (r.code !== 0) throw new Error(`podman volume create: ${r.stderr}`);
    this.#volumes.push(name);
    return name;
  }

  /** Pulls `reference` from a plain-HTTP registry. */
  async pull(reference: string): Promise<PodmanResult> {
    this.#images.push(reference);
    return await podman(["pull", "--quiet", "--tls-verify=false", reference]);
  }

  /** Removes everything this session made. */
  async cleanup(): Promise<void> {
    for (const c of this.#containers) await podman(["rm", "--force", "--time", "2", c]);
    for (const v of this.#volumes) await podman(["volume", "rm", "--force", v]);
    for (const i of this.#images) await podman(["rmi", "--force", i]);
  }
}

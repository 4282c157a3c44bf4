/**
 * Where the binaries of a local Kubernetes control plane come from: `kube-apiserver` and
 * `kubectl` built by `scripts/install_kube.sh` into `.tools/bin`, `etcd` from Debian's
 * `etcd-server` on `PATH`. `CONTRAST_KUBE_APISERVER`, `CONTRAST_KUBECTL` and `CONTRAST_ETCD`
 * override each path.
 *
 * @module
 */

/** Paths of the control-plane binaries. */
export interface KubeTools {
  /** The `kube-apiserver` executable. */
  readonly kubeApiServer: string;
  /** The `kubectl` executable. */
  readonly kubectl: string;
  /** The `etcd` executable. */
  readonly etcd: string;
}

/** The repository's `.tools/bin`, where `scripts/install_kube.sh` installs. */
const TOOLS_BIN: string = new URL("../../.tools/bin/", import.meta.url).pathname;

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir !== "" && isExecutable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/**
 * Finds the binaries.
 *
 * @returns the tools, or the list of what is missing (with where it was looked for)
 */
export function findKubeTools(): KubeTools | { readonly missing: readonly string[] } {
  const missing: string[] = [];
  const pick = (env: string, fallback: string | undefined, what: string): string => {
    const path = Deno.env.get(env) ?? fallback;
    if (path === undefined || !isExecutable(path)) {
      missing.push(
        `${what} (looked at ${path ?? "PATH"}; set ${env} or run scripts/install_kube.sh)`,
      );
      return "";
    }
    return path;
  };
  const tools = {
    kubeApiServer: pick("CONTRAST_KUBE_APISERVER", `${TOOLS_BIN}kube-apiserver`, "kube-apiserver"),
    kubectl: pick("CONTRAST_KUBECTL", `${TOOLS_BIN}kubectl`, "kubectl"),
    etcd: pick("CONTRAST_ETCD", onPath("etcd"), "etcd"),
  };
  return missing.length > 0 ? { missing } : tools;
}

/**
 * For `Deno.test({ ignore })`: `true` (and a loud line on stderr naming what is missing) when the
 * control-plane binaries are not installed, so the test is reported as ignored rather than passed.
 */
export function kubeToolsMissing(testName: string): boolean {
  const found = findKubeTools();
  if (!("missing" in found)) return false;
  console.error(
    `SKIPPED ${testName}: no local Kubernetes control plane: ${found.missing.join("; ")}`,
  );
  return true;
}

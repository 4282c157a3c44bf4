/**
 * One mesh proxy test: registered with the resource and op sanitizers off (the proxies' sockets
 * and timers outlive the test's view of them), given a fresh temporary folder for pod files and a
 * fresh mesh CA.
 *
 * @module
 */
import { withTempDir } from "../helpers/temp_dir.ts";
import { meshAuthority } from "../../bench/meshproxy/credentials.ts";

/** The mesh CA {@link meshAuthority} issues pod credentials from. */
type MeshAuthority = Awaited<ReturnType<typeof meshAuthority>>;

/**
 * Registers the test `name`: `fn` runs with a temporary folder `root` (removed afterwards,
 * whether `fn` threw or not) and a new mesh CA `ca`.
 */
export function meshTest(
  name: string,
  fn: (root: string, ca: MeshAuthority) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => withTempDir(async (root) => fn(root, await meshAuthority())),
  });
}

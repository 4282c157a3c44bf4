/**
 * Starting a deployment over on purpose in a workspace that set one before: `contrast set`
 * refuses a first manifest while the workspace still holds the earlier deployment's root CA, seed
 * shares or `verify/` (a wiped store looks the same), so a test that starts over moves them aside
 * first, as the README tells users to.
 *
 * @module
 */

/** The files `contrast set` and `verify` leave in a workspace for one deployment. */
const DEPLOYMENT_FILES = ["coordinator-root-ca.pem", "seed-shares.json", "verify"];

/**
 * Moves the earlier deployment's files in `dir` aside (renamed with the suffix `.previous`),
 * keeping them; files that are not there are skipped.
 *
 * @example
 * ```ts
 * await moveEarlierDeploymentAside(workspaceDir);
 * ```
 */
export async function moveEarlierDeploymentAside(dir: string): Promise<void> {
  for (const name of DEPLOYMENT_FILES) {
    try {
      await Deno.rename(`${dir}/${name}`, `${dir}/${name}.previous`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

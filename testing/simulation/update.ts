/**
 * A manifest update for the simulated workspace: the same deployment without one workload
 * (`manifest.json` minus that policy, the YAML minus that pod), as an owner who removes a
 * workload would write it.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import type { Workspace } from "./workspace.ts";

/** Paths of the update's files. */
interface WorkspaceUpdate {
  /** The new manifest. */
  readonly manifestPath: string;
  /** The YAML without the removed pod. */
  readonly yamlPath: string;
}

/**
 * Writes `<prefix>.json` and `<prefix>.yml` into the workspace: the current `manifest.json`
 * (or `from`) without the policy of pod `remove`, and `deployment.yml` without that pod.
 * Setting the same manifest again is still a new transition (it hashes the previous one).
 */
export async function writeUpdateWithout(
  ws: Workspace,
  remove: string,
  prefix: string,
  options: { from?: string } = {},
): Promise<WorkspaceUpdate> {
  const digest = encodeHex(ws.deployment.pods[remove]!.digest);
  const manifest = JSON.parse(await Deno.readTextFile(options.from ?? `${ws.dir}/manifest.json`));
  delete manifest.Policies[digest];
  const manifestPath = `${ws.dir}/${prefix}.json`;
  await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  const docs = (await Deno.readTextFile(ws.yamlPath)).split("---\n");
  const yamlPath = `${ws.dir}/${prefix}.yml`;
  await Deno.writeTextFile(
    yamlPath,
    docs.filter((d) => !new RegExp(`^\\s+name: ${remove}$`, "m").test(d)).join("---\n"),
  );
  return { manifestPath, yamlPath };
}

/**
 * A workspace on disk for local runs of the simulated deployment: the saved simulated SNP (or
 * TDX) authority, owner keys, `manifest.json` and `deployment.yml` (one pod per policy, each carrying
 * its initdata annotation), as the CLI and the processes expect them.
 *
 * @module
 */
import { stringify } from "yaml";
import { encodeHex } from "../../util/bytes/mod.ts";
import { encodeInitdataAnnotation, INITDATA_ANNOTATION } from "../../policy/initdata.ts";
import {
  type Deployment,
  deployment,
  type DeploymentOptions,
  MEASUREMENT,
  type SimulatedPlatform,
} from "./deployment.ts";
import type { SimulatedVm } from "./processes.ts";

/** A workspace folder with everything the CLI and the processes need. */
export interface Workspace {
  /** The folder. */
  readonly dir: string;
  /** The deployment (keys, documents). */
  readonly deployment: Deployment;
  /**
   * Where the simulated authority of the pods' platform is saved: a folder (SNP) or a file (TDX),
   * as `--simulated-authority` takes it.
   */
  readonly authorityDir: string;
  /** Path of the generated YAML. */
  readonly yamlPath: string;
  /** hex launch measurement of every simulated VM. */
  readonly measurement: string;
  /** Removes the folder. */
  cleanup(): Promise<void>;
}

/**
 * A fresh workspace (temporary folder) with `manifest.json`, keys and `deployment.yml`, its pods
 * on simulated SNP (default) or TDX.
 */
export async function createWorkspace(
  platform: SimulatedPlatform = "snp",
  options: DeploymentOptions = {},
): Promise<Workspace> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-e2e-" });
  const d = await deployment(platform, options);
  let authorityDir = `${dir}/simulated-snp`;
  if (d.tdxAuthority) {
    authorityDir = `${dir}/simulated-tdx.json`;
    await d.tdxAuthority.save(authorityDir);
  } else await d.authority.save(authorityDir);
  await Deno.writeFile(`${dir}/manifest.json`, d.manifest());
  await Deno.writeTextFile(`${dir}/workload-owner.pem`, d.workloadOwner.pem, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/seedshare-owner.pem`, d.seedshareOwner.pem, { mode: 0o600 });
  const pods = [
    ["coordinator", d.coordinator.doc],
    ...Object.entries(d.pods).map(([n, p]) => [n, p.doc] as const),
  ] as const;
  const docs = [];
  for (const [name, doc] of pods) {
    docs.push(stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        annotations: { [INITDATA_ANNOTATION]: await encodeInitdataAnnotation(doc) },
      },
      spec: { runtimeClassName: "contrast-cc", containers: [{ name, image: "example" }] },
    }));
  }
  const yamlPath = `${dir}/deployment.yml`;
  await Deno.writeTextFile(yamlPath, docs.join("---\n"));
  return {
    dir,
    deployment: d,
    authorityDir,
    yamlPath,
    measurement: encodeHex(await MEASUREMENT),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The simulated VM of a pod of `ws` whose policy digest is `hostData`. */
export function workspaceVm(ws: Workspace, hostData: Uint8Array): SimulatedVm {
  return {
    platform: ws.deployment.platform,
    authorityDir: ws.authorityDir,
    hostData,
    measurement: ws.measurement,
  };
}

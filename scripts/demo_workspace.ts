/**
 * The demo's workspace folder: recreated on every run, but only when it is new, empty or made
 * by an earlier run (it holds {@link DEMO_WORKSPACE_MARKER}), so that `deno task demo ~/project`
 * refuses instead of deleting a user's files.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";

/** The file each demo run writes into its workspace; a later run may then delete the folder. */
export const DEMO_WORKSPACE_MARKER = ".contrast-demo-workspace";

/**
 * Every name a run writes at the workspace's top level: a folder holding only these (among them
 * `simulated-snp`) is an earlier run's workspace from before the marker existed.
 */
const DEMO_ENTRIES: ReadonlySet<string> = new Set([
  "app",
  "coordinator-root-ca.pem",
  "coordinator-state",
  "coordinator.log",
  "coordinator.ready.json",
  "image-cache",
  "image-cache.key",
  "images.lock.json",
  "manifest.json",
  "mesh-ca.pem",
  "pods",
  "seed-shares.json",
  "seedshare-owner.pem",
  "simulated-snp",
  "verify",
  "workload-owner.pem",
]);

/** The workspace holds something the demo did not make (or is not a folder); nothing was deleted. */
export class DemoWorkspaceError extends ContrastError {}

/** What is at the workspace path before a run. */
type WorkspaceState = "absent" | "empty" | "demo" | { readonly foreign: string };

async function inspectWorkspace(dir: string): Promise<WorkspaceState> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
  if (info.isSymlink) return { foreign: "is a symbolic link" };
  if (!info.isDirectory) return { foreign: "is a file, not a folder" };
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name === DEMO_WORKSPACE_MARKER && entry.isFile) return "demo";
    names.push(entry.name);
  }
  if (names.length === 0) return "empty";
  if (names.includes("simulated-snp") && names.every((n) => DEMO_ENTRIES.has(n))) return "demo";
  const entries = names.length;
  return {
    foreign: `holds ${entries} ${entries === 1 ? "entry" : "entries"} and no ` +
      `${DEMO_WORKSPACE_MARKER} (not made by the demo)`,
  };
}

/**
 * Makes `dir` an empty, marked demo workspace: deletes an earlier run's workspace (marked, or
 * holding only what a run writes), creates a missing folder, and refuses anything else.
 *
 * @throws {DemoWorkspaceError} when `dir` is a file, a symbolic link or a folder with files the
 *   demo did not make (nothing is deleted)
 */
export async function prepareDemoWorkspace(dir: string): Promise<void> {
  const state = await inspectWorkspace(dir);
  if (typeof state === "object") {
    throw new DemoWorkspaceError(
      dir,
      `${state.foreign}; the demo deletes and recreates its workspace, so it only reuses an ` +
        "earlier run's: name a new or empty folder",
    );
  }
  if (state === "demo") await Deno.remove(dir, { recursive: true });
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/${DEMO_WORKSPACE_MARKER}`,
    "Made by `deno task demo`; the next run deletes and recreates this folder.\n",
  );
}

import assert from "node:assert/strict";
import {
  DEMO_WORKSPACE_MARKER,
  DemoWorkspaceError,
  prepareDemoWorkspace,
} from "../../scripts/demo_workspace.ts";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contrast-demo-ws-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("prepareDemoWorkspace creates a missing folder and marks it", async () => {
  await withTempDir(async (dir) => {
    const ws = `${dir}/a/b`;
    await prepareDemoWorkspace(ws);
    assert.deepEqual(await names(ws), [DEMO_WORKSPACE_MARKER]);
  });
});

Deno.test("prepareDemoWorkspace marks an existing empty folder", async () => {
  await withTempDir(async (dir) => {
    await prepareDemoWorkspace(dir);
    assert.deepEqual(await names(dir), [DEMO_WORKSPACE_MARKER]);
  });
});

Deno.test("prepareDemoWorkspace empties an earlier run's workspace", async () => {
  await withTempDir(async (dir) => {
    await prepareDemoWorkspace(dir);
    await Deno.mkdir(`${dir}/pods/web`, { recursive: true });
    await Deno.writeTextFile(`${dir}/manifest.json`, "{}");
    await prepareDemoWorkspace(dir);
    assert.deepEqual(await names(dir), [DEMO_WORKSPACE_MARKER]);
  });
});

Deno.test("prepareDemoWorkspace refuses a folder the demo did not make and deletes nothing", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    await Deno.mkdir(`${dir}/src`);
    await assert.rejects(
      () => prepareDemoWorkspace(dir),
      (e) =>
        e instanceof DemoWorkspaceError && e.field === dir &&
        /holds 2 entries and no \.contrast-demo-workspace/.test(e.reason),
    );
    assert.deepEqual(await names(dir), ["notes.txt", "src"]);
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
  });
});

Deno.test("prepareDemoWorkspace refuses a file and a symbolic link", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "mine");
    await assert.rejects(
      () => prepareDemoWorkspace(`${dir}/file`),
      (e) => e instanceof DemoWorkspaceError && /is a file, not a folder/.test(e.reason),
    );
    assert.equal(await Deno.readTextFile(`${dir}/file`), "mine");
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeTextFile(`${dir}/target/${DEMO_WORKSPACE_MARKER}`, "");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    await assert.rejects(
      () => prepareDemoWorkspace(`${dir}/link`),
      (e) => e instanceof DemoWorkspaceError && /symbolic link/.test(e.reason),
    );
    assert.deepEqual(await names(`${dir}/target`), [DEMO_WORKSPACE_MARKER]);
  });
});

Deno.test("prepareDemoWorkspace empties a run's workspace from before the marker", async () => {
  await withTempDir(async (dir) => {
    for (const d of ["simulated-snp", "app", "pods", "verify", "coordinator-state"]) {
      await Deno.mkdir(`${dir}/${d}`);
    }
    await Deno.writeTextFile(`${dir}/manifest.json`, "{}");
    await Deno.writeTextFile(`${dir}/coordinator.log`, "");
    await prepareDemoWorkspace(dir);
    assert.deepEqual(await names(dir), [DEMO_WORKSPACE_MARKER]);
  });
});

Deno.test("prepareDemoWorkspace refuses demo-like folders with anything else in them", async () => {
  await withTempDir(async (dir) => {
    // What a run writes, plus a file of the user's.
    await Deno.mkdir(`${dir}/simulated-snp`);
    await Deno.writeTextFile(`${dir}/manifest.json`, "{}");
    await Deno.writeTextFile(`${dir}/thesis.tex`, "mine");
    await assert.rejects(() => prepareDemoWorkspace(dir), DemoWorkspaceError);
    assert.deepEqual(await names(dir), ["manifest.json", "simulated-snp", "thesis.tex"]);
    // Only names a run writes, but no simulated authority: a project with app/ and manifest.json.
    await Deno.remove(`${dir}/thesis.tex`);
    await Deno.remove(`${dir}/simulated-snp`);
    await Deno.mkdir(`${dir}/app`);
    await assert.rejects(() => prepareDemoWorkspace(dir), DemoWorkspaceError);
    assert.deepEqual(await names(dir), ["app", "manifest.json"]);
  });
});

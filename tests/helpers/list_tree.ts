/**
 * Lists what a test left on disk, to prove that nothing was written.
 *
 * @module
 */

/** Every file and directory name below `dir`, depth first (empty when `dir` does not exist). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      out.push(e.name, ...(e.isDirectory ? await listTree(`${dir}/${e.name}`) : []));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out;
}

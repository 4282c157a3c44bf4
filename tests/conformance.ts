/**
 * Access to the real-hardware evidence in `../shared/conformance` (next to the repository). The
 * files are read from there, never copied into the repository. Where the folder is absent, tests
 * built with {@link conformanceTest} are skipped and say why once.
 *
 * @module
 */

/** Absolute path of `../shared/conformance`, relative to the repository root. */
export const CONFORMANCE_DIR = new URL("../../shared/conformance/", import.meta.url);

function exists(url: URL): boolean {
  try {
    return Deno.statSync(url).isDirectory;
  } catch {
    return false;
  }
}

/** Whether the conformance folder is present. */
export const conformanceAvailable: boolean = exists(CONFORMANCE_DIR);

let warned = false;

/** A URL inside the conformance folder, e.g. `conformanceFile("snp/milan-v2-virtee/report.bin")`. */
export function conformanceFile(path: string): URL {
  return new URL(path, CONFORMANCE_DIR);
}

/** Reads a file of the conformance folder. */
export function readConformance(path: string): Promise<Uint8Array> {
  return Deno.readFile(conformanceFile(path));
}

/** Reads and parses `MANIFEST.json` of the conformance folder. */
export async function readConformanceManifest(): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(conformanceFile("MANIFEST.json")));
}

/** Registers a test that needs the conformance folder; skipped with a message where it is absent. */
export function conformanceTest(name: string, fn: (t: Deno.TestContext) => Promise<void> | void) {
  if (!conformanceAvailable && !warned) {
    warned = true;
    console.warn(
      `skipping conformance tests: ${CONFORMANCE_DIR.pathname} not found ` +
        "(real-hardware evidence lives in ../shared/conformance next to the repository)",
    );
  }
  Deno.test({ name, ignore: !conformanceAvailable, fn });
}

/**
 * `contrast generate` on one file, then `contrast policy check --mutate` on its output: what the
 * tests of generated policies share.
 *
 * @module
 */
import { parseYamlFile } from "../../../deploy/documents.ts";
import { generate } from "../../../deploy/generate.ts";
import { policyCheckCommand } from "../../../cli/commands/policy.ts";
import { IMAGES, MemoryResolver, OWNER, testSettings } from "../fixtures.ts";

const RULES = await Deno.readTextFile(new URL("../../../rego/rules.rego", import.meta.url));

/** Node flags `policy check` takes (as on its command line). */
export type CheckFlags = {
  runtime?: string;
  emptydirMode?: string;
  namespace?: string;
  clusterDomain?: string;
};

/**
 * Generates `yaml` as the file `name` (without the initializer and mesh sidecar unless `inject`)
 * and runs `policy check --mutate` on the output with `seed`; the generate result, the check's error (undefined when it passed)
 * and what it printed.
 */
export async function generateAndCheck(
  name: string,
  yaml: string,
  seed: string,
  options: {
    settings?: Awaited<ReturnType<typeof testSettings>>;
    namespace?: string;
    clusterDomain?: string;
    checkFlags?: CheckFlags;
    inject?: boolean;
  } = {},
): Promise<{ result: Awaited<ReturnType<typeof generate>>; error: unknown; out: string }> {
  const resolver = new MemoryResolver(IMAGES);
  const result = await generate([parseYamlFile(name, yaml)], {
    settings: options.settings ?? await testSettings(),
    resolver,
    rules: RULES,
    referenceValues: { snp: [], tdx: [] },
    workloadOwnerKeys: [OWNER],
    seedshareOwnerKeys: [],
    skipInitializer: !options.inject,
    skipServiceMesh: !options.inject,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.clusterDomain ? { clusterDomain: options.clusterDomain } : {}),
  });
  const dir = await Deno.makeTempDir({ prefix: "generated-check-" });
  await Deno.writeTextFile(`${dir}/${name}`, result.files[0]!.text);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  let error: unknown;
  try {
    await policyCheckCommand([dir], {
      json: false,
      mutate: true,
      seed,
      imageCache: dir,
      insecureRegistry: [],
      offline: true,
      ...options.checkFlags,
    }, resolver);
  } catch (e) {
    error = e;
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
  return { result, error, out: lines.join("\n") };
}

/**
 * A test registry with a temporary directory beside it (e.g. a resolver's cache), both removed
 * when the test is done.
 *
 * @module
 */
import { startRegistry, type TestRegistry } from "../../testing/registry/registry.ts";

/**
 * Runs `fn` with a registry started with `options` and a new temporary directory; stops the
 * registry and removes the directory afterwards, whether `fn` threw or not.
 */
export async function withRegistry(
  fn: (registry: TestRegistry, dir: string) => Promise<void>,
  options: Parameters<typeof startRegistry>[0] = {},
): Promise<void> {
  const registry = await startRegistry(options);
  const dir = await Deno.makeTempDir({ prefix: "contrast-oci-cache-" });
  try {
    await fn(registry, dir);
  } finally {
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

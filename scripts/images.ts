/**
 * `deno task images --registry HOST:PORT [--insecure-registry] [--lock FILE]`: builds contrast's
 * container images (Coordinator, initializer, service-mesh proxy) without a Docker daemon, with
 * contrast's own OCI writer, from the pinned Deno runtime and Debian files
 * (`scripts/images/pins.json`; the proxy's iptables among them) and
 * the bundles of this source tree; pushes them and writes the image lock (default
 * `dist/images.lock.json`) that `contrast generate` and `contrast coordinator` use.
 *
 * Exit codes: 0 done, 1 a download or the registry returned other bytes than expected, 2 bad
 * usage, 3 a download or the registry is unreachable.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ContrastError } from "../util/errors/mod.ts";
import { exitCodeFor } from "../cli/exit_codes.ts";
import { buildImages, pushImages, writeImageLock } from "./images/build.ts";
import { REPO_ROOT } from "./images/bundle.ts";

const USAGE = "usage: deno task images --registry HOST:PORT[/PATH] [--insecure-registry] " +
  "[--lock FILE] [--cache-dir DIR]";

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        registry: { type: "string" },
        "insecure-registry": { type: "boolean", default: false },
        lock: { type: "string", default: `${REPO_ROOT}dist/images.lock.json` },
        "cache-dir": { type: "string", default: `${REPO_ROOT}.cache/images` },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    return 2;
  }
  if (!values.registry) {
    console.error(`--registry is required\n${USAGE}`);
    return 2;
  }
  try {
    const bundleDir = await Deno.makeTempDir({ prefix: "contrast-bundles-" });
    try {
      const images = await buildImages({ cacheDir: values["cache-dir"]!, bundleDir });
      for (const i of images) {
        console.error(
          `built ${i.name}: ${i.digest} (${mib(i.compressedBytes)} compressed)`,
        );
      }
      const lock = await pushImages(images, {
        registry: values.registry,
        insecure: values["insecure-registry"]!,
      });
      await writeImageLock(values.lock!, lock);
      console.error(`pushed to ${values.registry}; lock written to ${values.lock}`);
    } finally {
      await Deno.remove(bundleDir, { recursive: true });
    }
    return 0;
  } catch (error) {
    if (error instanceof ContrastError) console.error(`error: ${error.message}`);
    else console.error("internal error:", error);
    return exitCodeFor(error);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * `contrast generate --max-layer-size / --max-image-size`: an image layer that decompresses (or is
 * declared) beyond the bound is refused with exit 2, naming the image and layer, and nothing is
 * written; malformed bounds are usage errors naming the option.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../cli/exit_codes.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { pushTestImage } from "../../testing/registry/registry.ts";
import { BARE_PODS_GENERATE_FLAGS } from "../helpers/contrast_cli.ts";
import { withRegistry } from "../helpers/test_registry.ts";

const PASSWD = "root:x:0:0::/root:/bin/sh\n";

Deno.test({
  name: "generate: --max-layer-size refuses a decompression bomb, naming image and layer (exit 2)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withRegistry(async (registry, dir) => {
      const pushed = await pushTestImage(registry, "bomb", "v1", {
        layers: [{ files: { "etc/passwd": PASSWD, "zeros": new Uint8Array(4 << 20) } }],
        entrypoint: ["/app"],
      });
      const layer = pushed.artifact.images[0]!.layers[0]!.descriptor;
      await Deno.writeTextFile(
        `${dir}/app.yml`,
        `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n` +
          `  runtimeClassName: contrast-cc\n  containers: [{name: c, image: "${registry.host}/bomb:v1"}]\n`,
      );
      const generate = (ws: string, ...bounds: string[]) =>
        runCliCaptured(
          "generate",
          ...BARE_PODS_GENERATE_FLAGS,
          "--insecure-registry",
          registry.host,
          "--image-cache",
          `${dir}/cache-${ws}`,
          ...bounds,
          "-w",
          `${dir}/${ws}`,
          "-o",
          `${dir}/${ws}/out`,
          `${dir}/app.yml`,
        );
      const refused = await generate("a", "--max-layer-size", "1Mi");
      assert.equal(refused.code, ExitCode.BadInput, refused.stderr);
      assert.ok(
        refused.stderr.includes(`image ${registry.host}/bomb:v1 layer ${layer.digest}`),
        refused.stderr,
      );
      assert.match(refused.stderr, /decompresses to more than 1 MiB.*--max-layer-size/);
      await assert.rejects(Deno.stat(`${dir}/a/manifest.json`), Deno.errors.NotFound);

      const image = await generate("b", "--max-image-size", "2Mi");
      assert.equal(image.code, ExitCode.BadInput, image.stderr);
      assert.match(
        image.stderr,
        /layers together decompress to more than 2 MiB.*--max-image-size/,
      );

      for (
        const [option, value] of [["--max-layer-size", "0"], ["--max-image-size", "1.5"], [
          "--max-layer-size",
          "10m",
        ]]
      ) {
        const bad = await generate("c", option!, value!);
        assert.equal(bad.code, ExitCode.BadInput, bad.stderr);
        assert.ok(bad.stderr.includes(option!), bad.stderr);
      }

      const ok = await generate("d", "--max-layer-size", "8Mi", "--max-image-size", "8Mi");
      assert.equal(ok.code, ExitCode.Ok, ok.stderr);
      const defaults = await generate("e");
      assert.equal(defaults.code, ExitCode.Ok, defaults.stderr);
    }),
});

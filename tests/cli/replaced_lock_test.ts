/**
 * A release build embeds the image lock a user checked it by; a lock file given with
 * `--image-lock` or `CONTRAST_IMAGE_LOCK` replaces it. When that file names other images,
 * `generate` and `coordinator` say so (before, a variable left set from a development checkout
 * replaced the release's Coordinator, initializer and proxy images without a word).
 */
import assert from "node:assert/strict";
import { encodeImageLock, type ImageLock } from "../../deploy/image_lock.ts";
import { findImageLock } from "../../cli/image_lock_source.ts";
import { coordinatorYamlFor } from "../../cli/commands/coordinator.ts";
import { runGenerate } from "../../cli/commands/generate.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

function lock(hex: string): ImageLock {
  const d = `sha256:${hex.repeat(64)}`;
  return {
    version: 1,
    images: {
      coordinator: `r.example/contrast/coordinator@${d}`,
      initializer: `r.example/contrast/initializer@${d}`,
      "service-mesh-proxy": `r.example/contrast/service-mesh-proxy@${d}`,
    },
  };
}

const EMBEDDED = new TextEncoder().encode(encodeImageLock(lock("a")));

Deno.test("a lock file with other images than the embedded lock is said; the same one is not", () =>
  withTempDir(async (dir) => {
    const other = `${dir}/other.json`;
    const same = `${dir}/same.json`;
    await Deno.writeTextFile(other, encodeImageLock(lock("b")));
    await Deno.writeTextFile(same, encodeImageLock(lock("a")));
    const build = { imageLock: EMBEDDED };

    const replaced = await findImageLock({ imageLock: other }, build);
    assert.match(
      replaced?.replacesEmbedded ?? "",
      new RegExp(
        `^the image lock in use \\(--image-lock ${RegExp.escape(other)}\\) replaces the one ` +
          `this release build embeds: contrast's images are coordinator ${
            RegExp.escape(lock("b").images.coordinator)
          }, initializer `,
      ),
    );
    assert.equal((await findImageLock({ imageLock: same }, build))?.replacesEmbedded, undefined);
    assert.equal((await findImageLock({}, build))?.replacesEmbedded, undefined);
    // A development build embeds nothing: nothing is replaced.
    assert.equal((await findImageLock({ imageLock: other }, {}))?.replacesEmbedded, undefined);
    // The registry move of --image-registry keeps the warning (and the digests).
    const moved = await findImageLock({ imageLock: other, imageRegistry: "m.example" }, build);
    assert.ok(moved?.replacesEmbedded);
    assert.match(
      moved!.lock.images.coordinator,
      /^m\.example\/contrast\/coordinator@sha256:b{64}$/,
    );

    // `contrast coordinator` prints it on stderr (through its warning writer). The variable
    // CONTRAST_IMAGE_LOCK takes the same path (not set here: the environment is shared by tests
    // running in parallel).
    const lines: string[] = [];
    const flags = {
      platform: "Metal-QEMU-SNP",
      namespace: "default",
      replicas: "1",
      storage: "1Gi",
      imageLock: other,
    };
    const yaml = await coordinatorYamlFor(flags, build, (l) => lines.push(l));
    assert.ok(yaml.includes(lock("b").images.coordinator));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^warning: the image lock in use \(--image-lock /);
    await coordinatorYamlFor({ ...flags, imageLock: same }, build, (l) => lines.push(l));
    assert.equal(lines.length, 1, "the embedded lock's own images: no warning");
  }));

Deno.test({
  name: "contrast generate warns when its lock replaces the embedded one",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-replaced-lock-", async (example) => {
      const flags = exampleGenerateFlags(example);
      const report = await runGenerate([example.app], flags, { imageLock: EMBEDDED });
      assert.ok(
        report.warnings.some((w) =>
          w.startsWith(`warning: the image lock in use (--image-lock ${example.imageLock})`)
        ),
        report.warnings.join("\n"),
      );
    }),
});

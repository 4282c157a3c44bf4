/**
 * An image resolved by tag over plain HTTP is pinned as whoever answered on the network path
 * chose: generate says so for each such image (before, it pinned it without a word).
 */
import assert from "node:assert/strict";
import { insecureTagWarning } from "../../deploy/insecure_tags.ts";
import { runGenerate } from "../../cli/commands/generate.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

Deno.test("a tag over plain HTTP is warned about; a digest or an HTTPS registry is not", () => {
  const image = (reference: string) => ({
    reference,
    digest: DIGEST,
    pinned: `127.0.0.1:5000/web@${DIGEST}`,
  });
  const warning = insecureTagWarning(image("127.0.0.1:5000/web:1.0"), ["127.0.0.1:5000"]);
  assert.equal(
    warning,
    `image "127.0.0.1:5000/web:1.0" was resolved by its tag over plain HTTP (--insecure-registry ` +
      `127.0.0.1:5000) to ${DIGEST}: anyone on the network path could have chosen that image, ` +
      "and the YAML and the policy now pin it; name the image by a digest you checked (e.g. " +
      `127.0.0.1:5000/web@${DIGEST}), which is verified over HTTP too`,
  );
  // No tag means `latest`: still a tag.
  assert.ok(insecureTagWarning(image("127.0.0.1:5000/web"), ["127.0.0.1:5000"]));
  assert.equal(
    insecureTagWarning(image(`127.0.0.1:5000/web@${DIGEST}`), ["127.0.0.1:5000"]),
    undefined,
  );
  assert.equal(
    insecureTagWarning(image(`127.0.0.1:5000/web:1.0@${DIGEST}`), ["127.0.0.1:5000"]),
    undefined,
  );
  assert.equal(insecureTagWarning(image("127.0.0.1:5000/web:1.0"), []), undefined);
  assert.equal(insecureTagWarning(image("ghcr.io/a/web:1.0"), ["127.0.0.1:5000"]), undefined);
});

Deno.test({
  name: "contrast generate warns for each image it resolved by tag over plain HTTP",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-insecure-tags-", async (example) => {
      const report = await runGenerate([example.app], exampleGenerateFlags(example));
      const host = example.registry.host;
      const tagged = report.warnings.filter((w) =>
        w.includes("resolved by its tag over plain HTTP")
      );
      // The example names its images by tag (its test settings name contrast's too).
      assert.ok(
        tagged.some((w) =>
          w.startsWith(`warning: image "${host}/buoyantio/emojivoto-emoji-svc:v11"`)
        ),
        report.warnings.join("\n"),
      );
      assert.ok(tagged.every((w) => /^warning: image "[^"@]+"/.test(w)), tagged.join("\n"));
      assert.equal(new Set(tagged).size, tagged.length, "one warning per image");
    }),
});

import assert from "node:assert/strict";
import { InvalidDocumentError, ParseError } from "../../util/errors/mod.ts";
import {
  encodeImageLock,
  type ImageLock,
  lockedImagePlaceholder,
  parseImageLock,
  settingsNeedLock,
  settingsWithLockedImages,
  withRegistry,
} from "../../deploy/image_lock.ts";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { childPath } from "../../util/json/mod.ts";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;
const LOCK: ImageLock = {
  version: 1,
  images: {
    coordinator: `127.0.0.1:5000/contrast/coordinator@${D1}`,
    initializer: `127.0.0.1:5000/contrast/initializer@${D2}`,
    "service-mesh-proxy": `127.0.0.1:5000/contrast/service-mesh-proxy@${D3}`,
  },
};
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidDocumentError, String(error));
    return error.issues.map((i) => `${i.path}: ${i.reason}`);
  }
  assert.fail("expected an InvalidDocumentError");
}

Deno.test("an image lock round-trips through its file form", () => {
  const text = encodeImageLock(LOCK);
  assert.deepEqual(parseImageLock(new TextEncoder().encode(text), "lock.json"), LOCK);
  assert.ok(text.endsWith("}\n"));
});

Deno.test("an image lock must name every contrast image, the service-mesh proxy too", () => {
  for (const name of ["coordinator", "initializer", "service-mesh-proxy"] as const) {
    const { [name]: _, ...rest } = LOCK.images;
    assert.deepEqual(
      issuesOf(() => parseImageLock(bytes({ version: 1, images: rest }), "l")),
      [`l: ${childPath("images", name)}: required field is missing`],
    );
  }
});

Deno.test("an image lock names every problem with its file and path", () => {
  const issues = issuesOf(() =>
    parseImageLock(
      bytes({
        version: 2,
        images: {
          ...LOCK.images,
          initializer: "127.0.0.1:5000/contrast/initializer:v1",
          extra: "x",
        },
      }),
      "dist/images.lock.json",
    )
  );
  assert.equal(issues.length, 3, issues.join("\n"));
  assert.match(issues[0]!, /^dist\/images\.lock\.json: version: unsupported lock version 2/);
  assert.match(issues[1]!, /images\.initializer: must be pinned by digest only/);
  assert.match(issues[2]!, /images\.extra: /);
  assert.deepEqual(issuesOf(() => parseImageLock(new TextEncoder().encode("{"), "f")), [
    "f: (root): not valid UTF-8 JSON",
  ]);
  // A tag next to the digest is refused too: the lock pins by digest only.
  assert.match(
    issuesOf(() =>
      parseImageLock(
        bytes({ version: 1, images: { ...LOCK.images, coordinator: `r.io/c:v1@${D1}` } }),
        "f",
      )
    )[0]!,
    /images\.coordinator: must be pinned by digest only/,
  );
});

Deno.test("withRegistry moves every image to a mirror and keeps the digests", () => {
  const moved = withRegistry(LOCK, "mirror.example.com:443/team/");
  assert.deepEqual(moved.images, {
    coordinator: `mirror.example.com:443/team/contrast/coordinator@${D1}`,
    initializer: `mirror.example.com:443/team/contrast/initializer@${D2}`,
    "service-mesh-proxy": `mirror.example.com:443/team/contrast/service-mesh-proxy@${D3}`,
  });
  for (const bad of ["team", "Mirror Host", ""]) {
    assert.throws(
      () => withRegistry(LOCK, bad),
      (e) => e instanceof ParseError && e.field === "--image-registry",
      bad,
    );
  }
});

Deno.test("the shipped settings take contrast's images from the lock; explicit images are kept", async () => {
  const shipped = await loadDefaultSettings();
  assert.equal(shipped.initializer.image, lockedImagePlaceholder("initializer"));
  assert.equal(shipped.service_mesh.image, lockedImagePlaceholder("service-mesh-proxy"));
  assert.ok(settingsNeedLock(shipped));
  const locked = settingsWithLockedImages(shipped, LOCK);
  assert.equal(locked.initializer.image, LOCK.images.initializer);
  assert.equal(locked.service_mesh.image, LOCK.images["service-mesh-proxy"]);
  assert.ok(!settingsNeedLock(locked));
  const own = { ...shipped, initializer: { ...shipped.initializer, image: "r.io/own:1" } };
  assert.equal(settingsWithLockedImages(own, LOCK).initializer.image, "r.io/own:1");
});

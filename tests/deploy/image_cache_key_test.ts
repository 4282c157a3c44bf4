/**
 * `contrast generate` trusts the image cache's account files (which decide the uid/gid of
 * `USER name`) and offline tag records only with a MAC under the workspace's image-cache key:
 * whoever can write the cache but not the workspace cannot put root into the policy or change
 * which cached image a tag means.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../cli/exit_codes.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { pushTestImage, type TestRegistry } from "../../testing/registry/registry.ts";
import { BARE_PODS_GENERATE_FLAGS } from "../helpers/contrast_cli.ts";
import { withRegistry } from "../helpers/test_registry.ts";

const APP_PASSWD = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
const ROOT_PASSWD = "root:x:0:0::/root:/bin/sh\napp:x:0:0::/root:/bin/sh\n";
const GROUP = "root:x:0:\napp:x:1000:\n";

/** Runs generate on `dir/app.yml` with workspace `ws` and the shared cache `dir/cache`. */
function generate(registry: TestRegistry, dir: string, ws: string, offline: boolean) {
  return runCliCaptured(
    "generate",
    ...BARE_PODS_GENERATE_FLAGS,
    "--insecure-registry",
    registry.host,
    "--image-cache",
    `${dir}/cache`,
    ...(offline ? ["--offline"] : []),
    "-w",
    ws,
    "-o",
    `${ws}/out`,
    `${dir}/app.yml`,
  );
}

async function policies(ws: string): Promise<string[]> {
  return Object.keys(JSON.parse(await Deno.readTextFile(`${ws}/manifest.json`)).Policies);
}

/** The one cache file under `dir/cache/<sub>` (account files or tag records). */
async function cacheFiles(dir: string, sub: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else out.push(`${d}/${e.name}`);
    }
  };
  await walk(`${dir}/cache/${sub}`);
  return out.sort();
}

/** Replaces `from` by `to` in `path`, keeping the MAC line. */
async function tamper(path: string, from: string, to: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.includes(from), `${path} holds ${from}`);
  await Deno.writeTextFile(path, text.replaceAll(from, to));
}

Deno.test({
  name: "generate: a tampered or foreign image-cache entry never reaches the policy",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withRegistry(async (registry, dir) => {
      const app = await pushTestImage(registry, "app", "v1", {
        layers: [{ files: { "etc/passwd": APP_PASSWD, "etc/group": GROUP } }],
        entrypoint: ["/app"],
        user: "app",
      });
      await pushTestImage(registry, "rooted", "v1", {
        layers: [{ files: { "etc/passwd": ROOT_PASSWD, "etc/group": GROUP } }],
        entrypoint: ["/app"],
        user: "app",
      });
      const pod = (name: string, image: string) =>
        `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n` +
        `  runtimeClassName: contrast-cc\n  containers: [{name: c, image: "${image}"}]\n`;
      await Deno.writeTextFile(`${dir}/app.yml`, pod("p", `${registry.host}/app:v1`));
      const ws = `${dir}/ws`;

      // First run, online: creates the key (0600) and fills the cache.
      const first = await generate(registry, dir, ws, false);
      assert.equal(first.code, ExitCode.Ok, first.stderr);
      const key = await Deno.stat(`${ws}/image-cache.key`);
      assert.equal(key.mode! & 0o777, 0o600);
      assert.equal(key.size, 65);
      const expected = await policies(ws);
      const appFiles = (await cacheFiles(dir, "files")).find((p) =>
        p.endsWith(`${app.manifestDigests[0]!.slice(7)}.json`)
      );
      assert.ok(appFiles, "the app's account files are cached");

      // The app's user made root in the cache (MAC line kept): offline refused...
      await tamper(appFiles, "app:x:1000:1000", "app:x:0:0");
      const offline = await generate(registry, dir, ws, true);
      assert.equal(offline.code, ExitCode.Unavailable, offline.stderr);
      assert.match(offline.stderr, /not in the image cache.*offline/);
      assert.ok(offline.stderr.includes(app.manifestDigests[0]!), offline.stderr);
      assert.ok(offline.stderr.includes(`image ${registry.host}/app:v1`), offline.stderr);
      // ...online, the registry's files are used and the entry rewritten.
      const online = await generate(registry, dir, ws, false);
      assert.equal(online.code, ExitCode.Ok, online.stderr);
      assert.deepEqual(await policies(ws), expected);
      assert.ok((await Deno.readTextFile(appFiles)).includes("app:x:1000:1000"));
      assert.equal((await generate(registry, dir, ws, true)).code, ExitCode.Ok);
      assert.deepEqual(await policies(ws), expected);

      // A tag record pointed at another cached image (rooted:v1), offline: refused.
      await Deno.writeTextFile(
        `${dir}/both.yml`,
        pod("p", `${registry.host}/app:v1`) + "---\n" + pod("q", `${registry.host}/rooted:v1`),
      );
      await Deno.copyFile(`${dir}/both.yml`, `${dir}/app.yml`);
      assert.equal((await generate(registry, dir, ws, false)).code, ExitCode.Ok);
      await Deno.writeTextFile(`${dir}/app.yml`, pod("p", `${registry.host}/app:v1`));
      const tags = await cacheFiles(dir, "tags");
      const appTag = tags.find((p) => p.endsWith("/app/v1.json"))!;
      const rootedTag = tags.find((p) => p.endsWith("/rooted/v1.json"))!;
      const rootedDigest = JSON.parse((await Deno.readTextFile(rootedTag)).slice(65)).digest;
      const appDigest = JSON.parse((await Deno.readTextFile(appTag)).slice(65)).digest;
      const appTagText = await Deno.readTextFile(appTag);
      await tamper(appTag, appDigest, rootedDigest);
      const pointed = await generate(registry, dir, ws, true);
      assert.equal(pointed.code, ExitCode.Unavailable, pointed.stderr);
      assert.ok(pointed.stderr.includes(`${registry.host}/app:v1`), pointed.stderr);
      // The rooted image's own record copied to the app's name: refused too.
      await Deno.copyFile(rootedTag, appTag);
      assert.equal((await generate(registry, dir, ws, true)).code, ExitCode.Unavailable);
      await Deno.writeTextFile(appTag, appTagText);
      assert.equal((await generate(registry, dir, ws, true)).code, ExitCode.Ok);
      assert.deepEqual(await policies(ws), expected);

      // Another workspace (another key) with the same cache: a miss offline, nothing written.
      const other = `${dir}/other`;
      await Deno.mkdir(other);
      const foreign = await generate(registry, dir, other, true);
      assert.equal(foreign.code, ExitCode.Unavailable, foreign.stderr);
      assert.deepEqual([...Deno.readDirSync(other)], []);
      // Online it is re-filled under its own key, with the same policy.
      assert.equal((await generate(registry, dir, other, false)).code, ExitCode.Ok);
      assert.deepEqual(await policies(other), expected);
    }),
});

/**
 * `deno task release --registry HOST:PORT [--insecure-registry] [--platform P] [--namespace N]
 * [--out dist/release]`: writes what a release publishes, after building and pushing the images
 * (`deno task images`):
 *
 * - `contrast/`: the CLI as a code-split `deno bundle` with the image lock embedded: the entry
 *   module `contrast/contrast.js` and its chunks, each command's modules in chunks of their own
 *   loaded when the command runs (run it as the `contrast:release` task of `deno.json` does,
 *   README "Cold start"),
 * - `images.lock.json`: the digest reference of every image,
 * - `runtime.yml` and `coordinator.yml`: the RuntimeClass and the Coordinator for the platform,
 * - `SHA256SUMS`: the SHA-256 of each file (the chunks too), in `sha256sum` format,
 * - with `--signing-key FILE` (an unencrypted PKCS#8 PEM Ed25519 private key), `SHA256SUMS.sig`:
 *   the Ed25519 signature over the bytes of `SHA256SUMS` (`scripts/verify_release.ts` and
 *   `openssl pkeyutl -verify -rawin` check it with the publisher's public key, which the release
 *   does not carry). A bad key file exits 2 before anything is built or written.
 *
 * Everything is built in a temporary folder and moved into `--out` only when complete. The files
 * are the same bytes wherever and whenever they are built from one commit with the pinned Deno
 * (`scripts/images/bundle.ts`). `--lock FILE` builds no image and writes the release around a
 * given lock instead: with a published release's `images.lock.json` (and its `--platform` and
 * `--namespace`), its `SHA256SUMS` comes out the same, which is how a user checks a downloaded
 * release against the source (README "Checking a release").
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ContrastError, UnavailableError } from "../util/errors/mod.ts";
import { exitCodeFor } from "../cli/exit_codes.ts";
import { encodeImageLock, type ImageLock, parseImageLock } from "../deploy/image_lock.ts";
import { coordinatorYaml } from "../deploy/coordinator_yaml.ts";
import { runtimeClassYaml } from "../deploy/runtime_class.ts";
import { loadDefaultSettings } from "../policy/settings.ts";
import { isPlatform, type PlatformName } from "../policy/reference_values.ts";
import { buildImages, pushImages } from "./images/build.ts";
import { bundleEntrySplit, REPO_ROOT } from "./images/bundle.ts";
import { checksums } from "./release/sha256sums.ts";
import { loadSigningKey, type ReleaseSigningKey, signSums } from "./release/signature.ts";
import { publicKeyFingerprint } from "./release/ed25519_pem.ts";

const USAGE = "usage: deno task release (--registry HOST:PORT[/PATH] [--insecure-registry] | " +
  "--lock images.lock.json) [--platform Metal-QEMU-SNP] [--namespace default] " +
  "[--out dist/release] [--cache-dir DIR] [--signing-key release.key.pem]";

/** The release CLI's entry module: the CLI with `lockFile` embedded. */
function releaseEntrySource(cliMain: string): string {
  return `import lock from "./images.lock.json" with { type: "bytes" };\n` +
    `import { runCli } from ${JSON.stringify(cliMain)};\n\n` +
    "Deno.exit(await runCli(Deno.args, { imageLock: lock }));\n";
}

/**
 * Where the release CLI's entry module and the lock it embeds are written while it is bundled:
 * one fixed folder in the checkout, since the bundle names both files by their path (a
 * temporary folder's random name made every build's `contrast.js` differ).
 */
const RELEASE_ENTRY_DIR = `${REPO_ROOT}.cache/release-entry`;

/**
 * Bundles the CLI with `lock` (the bytes of `images.lock.json`) embedded into the folder `out`
 * (entry module `contrast.js`, and its chunks).
 *
 * @throws {UnavailableError} naming the entry folder when another release build holds it
 */
async function bundleRelease(lock: Uint8Array, out: string): Promise<void> {
  await Deno.mkdir(`${REPO_ROOT}.cache`, { recursive: true });
  try {
    await Deno.mkdir(RELEASE_ENTRY_DIR);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    throw new UnavailableError(
      RELEASE_ENTRY_DIR,
      "another release is being built in this checkout (or a killed one left the folder: " +
        "remove it)",
    );
  }
  try {
    await Deno.writeFile(`${RELEASE_ENTRY_DIR}/images.lock.json`, lock);
    const entry = `${RELEASE_ENTRY_DIR}/contrast.ts`;
    await Deno.writeTextFile(entry, releaseEntrySource("../../cli/main.ts"));
    await bundleEntrySplit(entry, out);
  } finally {
    await Deno.remove(RELEASE_ENTRY_DIR, { recursive: true });
  }
}

/** The release's folder of the CLI bundle. */
const CLI_DIR = "contrast";

/** The release files for `lock` and `platform`, except the CLI bundle. */
async function releaseDocuments(
  lock: ImageLock,
  platform: PlatformName,
  namespace: string,
): Promise<Record<string, string>> {
  const settings = await loadDefaultSettings();
  return {
    "images.lock.json": encodeImageLock(lock),
    "runtime.yml": runtimeClassYaml({ name: settings.runtime_class_name, platform }),
    "coordinator.yml": coordinatorYaml({
      image: lock.images.coordinator,
      runtimeClassName: settings.runtime_class_name,
      namespace,
      replicas: 1,
    }),
  };
}

/**
 * Writes the release into `out` (replaced only when every file is ready); returns the file names.
 * With `signingKey`, `SHA256SUMS.sig` (its signature over `SHA256SUMS`) is staged with the rest.
 *
 * @throws {ParseError} for a platform without runtime handler (nothing is written)
 */
export async function writeRelease(
  out: string,
  lock: ImageLock,
  platform: PlatformName,
  namespace: string,
  signingKey?: ReleaseSigningKey,
): Promise<string[]> {
  const parent = out.slice(0, out.lastIndexOf("/")) || ".";
  await Deno.mkdir(parent, { recursive: true });
  const stage = await Deno.makeTempDir({ dir: parent, prefix: ".release-" });
  try {
    const documents = await releaseDocuments(lock, platform, namespace);
    const files: Record<string, Uint8Array> = {};
    for (const [name, text] of Object.entries(documents)) {
      files[name] = new TextEncoder().encode(text);
      await Deno.writeFile(`${stage}/${name}`, files[name]!);
    }
    await bundleRelease(files["images.lock.json"]!, `${stage}/${CLI_DIR}`);
    for await (const chunk of Deno.readDir(`${stage}/${CLI_DIR}`)) {
      const name = `${CLI_DIR}/${chunk.name}`;
      if (!chunk.isFile) throw new Error(`deno bundle wrote ${name}, not a file`);
      files[name] = await Deno.readFile(`${stage}/${name}`);
    }
    const sums = new TextEncoder().encode(await checksums(files));
    await Deno.writeFile(`${stage}/SHA256SUMS`, sums);
    const signed = signingKey !== undefined;
    if (signed) await Deno.writeFile(`${stage}/SHA256SUMS.sig`, await signSums(signingKey, sums));
    await Deno.chmod(stage, 0o755);
    await Deno.remove(out, { recursive: true }).catch(() => undefined);
    await Deno.rename(stage, out);
    return [...Object.keys(files), "SHA256SUMS", ...(signed ? ["SHA256SUMS.sig"] : [])].sort();
  } catch (error) {
    await Deno.remove(stage, { recursive: true }).catch(() => undefined);
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        registry: { type: "string" },
        "insecure-registry": { type: "boolean", default: false },
        platform: { type: "string", default: "Metal-QEMU-SNP" },
        namespace: { type: "string", default: "default" },
        out: { type: "string", default: `${REPO_ROOT}dist/release` },
        "cache-dir": { type: "string", default: `${REPO_ROOT}.cache/images` },
        lock: { type: "string" },
        "signing-key": { type: "string" },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    return 2;
  }
  if ((values.registry === undefined) === (values.lock === undefined)) {
    console.error(`give either --registry or --lock\n${USAGE}`);
    return 2;
  }
  if (!isPlatform(values.platform!)) {
    console.error(`--platform ${values.platform} is not a known platform\n${USAGE}`);
    return 2;
  }
  try {
    // The key is read first: a bad one stops the release before any image is built or pushed.
    const signingKey = values["signing-key"] === undefined
      ? undefined
      : await loadSigningKey(values["signing-key"]);
    const lock = values.lock !== undefined
      ? parseImageLock(await readLock(values.lock), values.lock)
      : await buildAndPush(values.registry!, values["insecure-registry"]!, values["cache-dir"]!);
    const written = await writeRelease(
      values.out!,
      lock,
      values.platform,
      values.namespace!,
      signingKey,
    );
    console.error(`release written to ${values.out}: ${written.join(", ")}`);
    if (signingKey === undefined) {
      console.error(
        "notice: SHA256SUMS is unsigned (no --signing-key): it shows a damaged download, not a " +
          'replaced one (README "Checking a release")',
      );
    } else {
      console.error(
        "SHA256SUMS.sig: signed by the Ed25519 key sha256:" +
          `${await publicKeyFingerprint(signingKey.publicKey)} (publish its public key out of ` +
          "band, not with the release)",
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof ContrastError) console.error(`error: ${error.message}`);
    else console.error("internal error:", error);
    return exitCodeFor(error);
  }
}

async function readLock(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw new UnavailableError(
      "--lock",
      `cannot read ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/** Builds the images, pushes them to `registry` and returns their lock. */
async function buildAndPush(
  registry: string,
  insecure: boolean,
  cacheDir: string,
): Promise<ImageLock> {
  const bundleDir = await Deno.makeTempDir({ prefix: "contrast-bundles-" });
  try {
    const images = await buildImages({ cacheDir, bundleDir });
    return await pushImages(images, { registry, insecure });
  } finally {
    await Deno.remove(bundleDir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

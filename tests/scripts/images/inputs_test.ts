/**
 * The pinned extra package sets of the images (the service-mesh proxy's iptables): files and links
 * are read from the pinned Debian archives (downloaded with `apt-get download` into the shared
 * cache when missing), and every way a pin can be wrong stops the build with the pin named.
 */
import assert from "node:assert/strict";
import { VerificationError } from "../../../util/errors/mod.ts";
import {
  debianExtraFiles,
  type DebianPin,
  isSymlink,
  PINS,
  type Pins,
} from "../../../scripts/images/inputs.ts";
import { extraLayerFiles, imageEntrypoint, imageSpec } from "../../../scripts/images/image_spec.ts";
import { COMPONENTS, MESHPROXY_COMMANDS } from "../../../scripts/images/components.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

const CACHE = new URL("../../../.cache/images", import.meta.url).pathname;
const LIB = "usr/lib/x86_64-linux-gnu";

function pin(name: string): DebianPin {
  const found = PINS.extras.iptables!.find((p) => p.package === name);
  assert.ok(found, name);
  return found;
}

function withSet(set: DebianPin[]): Pins {
  return { ...PINS, extras: { test: set } };
}

async function debFile(p: DebianPin): Promise<string> {
  // Makes sure the archive is in the shared cache (downloads it once), then names it.
  await debianExtraFiles(CACHE, "one", { ...PINS, extras: { one: [{ ...p, files: [] }] } });
  return `${CACHE}/${p.package}_${p.version}_${p.architecture}.deb`;
}

Deno.test("the iptables set: the nf_tables binary, libraries with soname links, the modules", async () => {
  await Deno.mkdir(CACHE, { recursive: true });
  const files = await debianExtraFiles(CACHE, "iptables");
  const byPath = new Map(files.map((f) => [f.path, f]));
  const binary = byPath.get("usr/sbin/xtables-nft-multi");
  assert.ok(binary && !isSymlink(binary));
  assert.equal(binary.mode, 0o755);
  // ELF, not a script.
  assert.deepEqual([...binary.data.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  for (
    const [link, target] of [
      [`${LIB}/libxtables.so.12`, "libxtables.so.12.7.0"],
      [`${LIB}/libnftnl.so.11`, "libnftnl.so.11.6.0"],
      [`${LIB}/libmnl.so.0`, "libmnl.so.0.2.0"],
      [`${LIB}/xtables/libxt_REDIRECT.so`, "libxt_NAT.so"],
    ]
  ) {
    const f = byPath.get(link!);
    assert.ok(f && isSymlink(f) && f.target === target, `${link} -> ${target}`);
    assert.ok(byPath.has(`${link!.slice(0, link!.lastIndexOf("/") + 1)}${target}`));
  }
  for (const m of ["standard", "tcp", "conntrack", "NAT"]) {
    assert.ok(byPath.has(`${LIB}/xtables/libxt_${m}.so`), m);
  }
  assert.ok(byPath.has(`${LIB}/xtables/libipt_REJECT.so`));
  assert.ok(byPath.has(`${LIB}/xtables/libip6t_REJECT.so`));
  assert.deepEqual(files.map((f) => f.path), [...files.map((f) => f.path)].sort());
});

Deno.test("an extra set pins.json does not have is an error naming it", async () => {
  await assert.rejects(
    debianExtraFiles(CACHE, "nftables"),
    (e) => e instanceof VerificationError && e.message.includes("extras.nftables"),
  );
});

Deno.test("a link whose target the set does not provide stops the build", async () => {
  const iptables = pin("iptables");
  await assert.rejects(
    debianExtraFiles(
      CACHE,
      "test",
      withSet([{ ...iptables, files: [`${LIB}/xtables/libxt_REDIRECT.so`] }]),
    ),
    (e) =>
      e instanceof VerificationError && e.message.includes("extras.test") &&
      e.message.includes("libxt_REDIRECT.so links to libxt_NAT.so"),
  );
});

Deno.test("a pinned path the package lacks stops the build, naming package and path", async () => {
  const mnl = pin("libmnl0");
  await assert.rejects(
    debianExtraFiles(CACHE, "test", withSet([{ ...mnl, files: ["usr/sbin/iptables-nft"] }])),
    (e) =>
      e instanceof VerificationError && e.message.includes("libmnl0=1.0.4-3") &&
      e.message.includes("no file usr/sbin/iptables-nft"),
  );
});

Deno.test("an archive with another SHA-256 than pinned is removed and never used", () =>
  withTempDir(async (dir) => {
    const mnl = pin("libmnl0");
    const source = await debFile(mnl);
    const copy = `${dir}/${source.slice(source.lastIndexOf("/") + 1)}`;
    await Deno.copyFile(source, copy);
    const wrong = "0".repeat(64);
    await assert.rejects(
      debianExtraFiles(dir, "test", withSet([{ ...mnl, sha256: wrong }])),
      (e) =>
        e instanceof VerificationError && e.message.includes(`pins ${wrong}`) &&
        e.message.includes("removed it"),
    );
    await assert.rejects(Deno.stat(copy), Deno.errors.NotFound);
  }));

Deno.test("the proxy's image: its own layer between Deno and the bundle, root, narrowed permissions", () => {
  const proxy = COMPONENTS.find((c) => c.imageName === "service-mesh-proxy");
  assert.ok(proxy?.image && proxy.extraLayer);
  const files = extraLayerFiles(proxy.extraLayer, [
    { path: "usr/sbin/xtables-nft-multi", data: new Uint8Array([1]), mode: 0o755 },
    { path: `${LIB}/libmnl.so.0`, target: "libmnl.so.0.2.0" },
  ]);
  for (const dir of ["usr/", "usr/bin/", "usr/sbin/", "usr/lib/", `${LIB}/`]) {
    assert.deepEqual(files[dir], { type: "directory", mode: 0o755 }, dir);
  }
  assert.deepEqual(files[`${LIB}/libmnl.so.0`], { type: "symlink", target: "libmnl.so.0.2.0" });
  for (const command of MESHPROXY_COMMANDS) {
    assert.deepEqual(files[`usr/bin/${command}`], {
      type: "symlink",
      target: "../sbin/xtables-nft-multi",
    });
  }
  const shared = {
    runtime: { files: {} },
    deno: { files: {} },
  } as unknown as Parameters<typeof imageSpec>[1];
  const spec = imageSpec(proxy, shared, new Uint8Array([2]), files);
  assert.equal(spec.layers.length, 4);
  assert.deepEqual((spec.layers[2] as { files: unknown }).files, files);
  assert.equal(spec.user, "0:0");
  const entrypoint = imageEntrypoint(proxy);
  assert.ok(!entrypoint.includes("-A"));
  assert.ok(entrypoint.includes(`--allow-run=${MESHPROXY_COMMANDS.join(",")}`));
  assert.ok(!entrypoint.some((a) => a.startsWith("--allow-write")), "the proxy writes nothing");
  // Every other image keeps the nonroot user and has no extra layer.
  for (const c of COMPONENTS.filter((c) => c.image && c !== proxy)) {
    const other = imageSpec(c, shared, new Uint8Array([2]));
    assert.equal(other.user, "65532:65532", c.name);
    assert.equal(other.layers.length, 3, c.name);
  }
});

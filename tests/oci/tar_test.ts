import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { parsePaxRecords, readTar, type TarEntry, writeTar } from "../../oci/tar.ts";

function streamOf(bytes: Uint8Array, chunk = 7): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

async function entries(
  tar: Uint8Array,
  want: (e: TarEntry) => boolean = () => true,
): Promise<{ entry: TarEntry; data?: string }[]> {
  const out: { entry: TarEntry; data?: string }[] = [];
  await readTar(streamOf(tar, 333), "test.tar", (entry, data) => {
    if (data !== undefined) {
      out[out.length - 1]!.data = new TextDecoder().decode(data);
      return false;
    }
    out.push({ entry });
    return entry.type === "file" && want(entry);
  });
  return out;
}

/** A ustar header block with a correct checksum (for hand-made archives). */
function rawHeader(name: string, flag: string, size: number, sizeField?: Uint8Array): Uint8Array {
  const h = new Uint8Array(512);
  const enc = new TextEncoder();
  h.set(enc.encode(name), 0);
  h.set(enc.encode("0000644\0"), 100);
  h.set(sizeField ?? enc.encode(size.toString(8).padStart(11, "0") + "\0"), 124);
  h[156] = flag.charCodeAt(0);
  h.set(enc.encode("ustar\0"), 257);
  h.set(enc.encode("00"), 263);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return h;
}

Deno.test("round-trips files, directories, symlinks, hard links and long pax names", async () => {
  const longName = `deep/${"d".repeat(120)}/file.txt`;
  const tar = writeTar([
    { path: "etc", type: "directory" },
    { path: "etc/passwd", type: "file", data: new TextEncoder().encode("root:x:0:0\n") },
    { path: "etc/link", type: "symlink", linkName: "/usr/lib/os-release" },
    { path: "etc/hard", type: "hardlink", linkName: "etc/passwd" },
    { path: longName, type: "file", data: new TextEncoder().encode("x".repeat(1000)) },
  ]);
  assert.equal(tar.length % 512, 0);
  const got = await entries(tar);
  assert.deepEqual(got.map((g) => [g.entry.path, g.entry.type, g.entry.linkName]), [
    ["etc/", "directory", ""],
    ["etc/passwd", "file", ""],
    ["etc/link", "symlink", "/usr/lib/os-release"],
    ["etc/hard", "hardlink", "etc/passwd"],
    [longName, "file", ""],
  ]);
  assert.equal(got[1]!.data, "root:x:0:0\n");
  assert.equal(got[4]!.data, "x".repeat(1000));
});

Deno.test("writes identical bytes for identical input", () => {
  const make = () => writeTar([{ path: "a", type: "file", data: new Uint8Array([1, 2, 3]) }]);
  assert.deepEqual(make(), make());
});

Deno.test("skips data that was not asked for without keeping it", async () => {
  const tar = writeTar([
    { path: "big", type: "file", data: new Uint8Array(5000) },
    { path: "small", type: "file", data: new TextEncoder().encode("hi") },
  ]);
  const got = await entries(tar, (e) => e.path === "small");
  assert.equal(got[0]!.data, undefined);
  assert.equal(got[1]!.data, "hi");
});

Deno.test("reads GNU long names and base-256 sizes", async () => {
  const enc = new TextEncoder();
  const name = "n".repeat(150);
  const longName = enc.encode(name + "\0");
  const padded = new Uint8Array(512);
  padded.set(longName);
  const size = new Uint8Array(12);
  size[0] = 0x80;
  size[11] = 3;
  const data = new Uint8Array(512);
  data.set(enc.encode("abc"));
  const tar = new Uint8Array([
    ...rawHeader("././@LongLink", "L", longName.length),
    ...padded,
    ...rawHeader("short", "0", 0, size),
    ...data,
    ...new Uint8Array(1024),
  ]);
  const got = await entries(tar);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.entry.path, name);
  assert.equal(got[0]!.data, "abc");
});

Deno.test("rejects a header whose checksum is wrong", async () => {
  const tar = writeTar([{ path: "etc/passwd", type: "file", data: new Uint8Array(3) }]);
  tar[0] = "x".charCodeAt(0);
  await assert.rejects(
    entries(tar),
    (e: unknown) =>
      e instanceof ParseError && /checksum mismatch/.test(e.message) &&
      e.field.startsWith("test.tar"),
  );
});

Deno.test("rejects truncated headers and truncated data", async () => {
  const tar = writeTar([{ path: "f", type: "file", data: new Uint8Array(2000) }]);
  await assert.rejects(entries(tar.subarray(0, 300)), /truncated tar header/);
  await assert.rejects(entries(tar.subarray(0, 1024)), /truncated data of f/);
  await assert.rejects(
    entries(tar.subarray(0, 1024), () => false),
    /truncated data of f/,
  );
});

Deno.test("rejects malformed pax records and octal fields", async () => {
  const enc = new TextEncoder();
  assert.deepEqual(
    [...parsePaxRecords(enc.encode("16 path=a/b/c/d\n"), "pax")],
    [["path", "a/b/c/d"]],
  );
  for (const bad of ["x path=a\n", "99 path=a\n", "9 patha\n", "5 path=a\n", "12 path=abcd"]) {
    assert.throws(() => parsePaxRecords(enc.encode(bad), "pax"), ParseError, bad);
  }
  const h = rawHeader("f", "0", 0, enc.encode("00000000z00\0"));
  await assert.rejects(entries(new Uint8Array([...h, ...new Uint8Array(1024)])), /invalid octal/);
});

Deno.test("ends at the end-of-archive marker and at a bare end of stream", async () => {
  const tar = writeTar([{ path: "a", type: "file", data: new Uint8Array(1) }]);
  // Bytes other than zeros after the marker: the guest's image-rs would read on (see below).
  const withGarbage = new Uint8Array([...tar, ...new Uint8Array(512).fill(7)]);
  await assert.rejects(entries(withGarbage), /after the end-of-archive marker/);
  assert.equal((await entries(tar.subarray(0, 1024))).length, 1);
});

Deno.test("an entry named by both a GNU long name and a pax path (or link) is refused", async () => {
  // Go's archive/tar (containerd) and Rust's tar (image-rs) let the GNU long name win; contrast
  // let the pax path win, so an image could show /etc/passwd to the runtime and another file to
  // the policy (or the reverse). Refused: the readers disagree.
  const enc = new TextEncoder();
  const block = (text: string) => {
    const b = new Uint8Array(512);
    b.set(enc.encode(text));
    return b;
  };
  const pax = (key: string, value: string) => {
    let record = ` ${key}=${value}\n`;
    record = `${record.length + 2}${record}`;
    return [...rawHeader("PaxHeader", "x", record.length), ...block(record)];
  };
  const long = (flag: string, name: string) => [
    ...rawHeader("././@LongLink", flag, name.length + 1),
    ...block(name),
  ];
  for (
    const [what, meta, flag] of [
      ["path", [...long("L", "etc/passwd"), ...pax("path", "etc/motd")], "0"],
      ["path (pax first)", [...pax("path", "etc/motd"), ...long("L", "etc/passwd")], "0"],
      ["link target", [...long("K", "etc/passwd"), ...pax("linkpath", "etc/motd")], "2"],
    ] as const
  ) {
    const tar = new Uint8Array([...meta, ...rawHeader("x", flag, 0), ...new Uint8Array(1024)]);
    await assert.rejects(
      entries(tar),
      (e: unknown) =>
        e instanceof ParseError && e.field.startsWith("test.tar") &&
        /both a GNU long (name and a pax path|link and a pax linkpath)/.test(e.reason),
      what,
    );
  }
  // Either alone is read as before.
  const alone = new Uint8Array([
    ...pax("path", "etc/motd"),
    ...rawHeader("x", "0", 0),
    ...new Uint8Array(1024),
  ]);
  assert.equal((await entries(alone))[0]!.entry.path, "etc/motd");
});

Deno.test("entries after the end-of-archive marker are refused; zero padding is read", async () => {
  // containerd's Go reader stops at the two zero blocks; the guest's image-rs reads tar with
  // ignore_zeros and unpacks what follows: a second /etc/passwd there would be the guest's.
  const first = writeTar([{
    path: "etc/passwd",
    type: "file",
    data: new TextEncoder().encode("app:x:1000:1000::/:/bin/sh\n"),
  }]);
  const second = writeTar([{
    path: "etc/passwd",
    type: "file",
    data: new TextEncoder().encode("app:x:0:0::/:/bin/sh\n"),
  }]);
  await assert.rejects(
    entries(new Uint8Array([...first, ...second])),
    (e: unknown) =>
      e instanceof ParseError && e.field.startsWith("test.tar") &&
      /after the end-of-archive marker/.test(e.reason),
  );
  // Zero padding up to a 10 KiB record, as tar writers block their output, is fine.
  const padded = new Uint8Array(10240);
  padded.set(first);
  assert.equal((await entries(padded)).length, 1);
});

import assert from "node:assert/strict";
import { writeFilesTogether } from "../../../util/files/write_together.ts";
import { ParseError } from "../../../util/errors/mod.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("writeFilesTogether replaces every file with its mode and leaves no temporary file", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a`, "old a");
    await writeFilesTogether([
      { path: `${dir}/a`, data: "new a" },
      { path: `${dir}/sub/b`, data: new TextEncoder().encode("b"), mode: 0o600 },
    ], { createFolders: true });
    assert.equal(await Deno.readTextFile(`${dir}/a`), "new a");
    assert.equal(await Deno.readTextFile(`${dir}/sub/b`), "b");
    assert.equal((await Deno.stat(`${dir}/sub/b`)).mode! & 0o777, 0o600);
    assert.deepEqual(await namesIn(dir), ["a", "sub"]);
  }));

Deno.test("writeFilesTogether writes nothing when a later target is a directory, naming it", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a`, "old a");
    await Deno.mkdir(`${dir}/b`);
    await assert.rejects(
      writeFilesTogether([{ path: `${dir}/a`, data: "new a" }, { path: `${dir}/b`, data: "b" }]),
      (e: unknown) =>
        e instanceof ParseError && e.field === `${dir}/b` && /directory/.test(e.reason),
    );
    assert.equal(await Deno.readTextFile(`${dir}/a`), "old a");
    assert.deepEqual(await namesIn(dir), ["a", "b"]);
  }));

Deno.test("writeFilesTogether writes nothing when a later target's folder is a file", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/out`, "a file");
    for (const createFolders of [true, false]) {
      await assert.rejects(
        writeFilesTogether([
          { path: `${dir}/key.pem`, data: "key" },
          { path: `${dir}/out/app.yml`, data: "yaml" },
        ], { createFolders }),
        (e: unknown) =>
          e instanceof ParseError && e.field === `${dir}/out/app.yml` &&
          e.reason.includes(`${dir}/out is not a directory`),
      );
      assert.deepEqual(await namesIn(dir), ["out"]);
    }
  }));

Deno.test("writeFilesTogether without createFolders refuses a missing folder before writing", () =>
  withTempDir(async (dir) => {
    await assert.rejects(
      writeFilesTogether([
        { path: `${dir}/a`, data: "a" },
        { path: `${dir}/missing/b`, data: "b" },
      ]),
      (e: unknown) => e instanceof ParseError && /folder .*missing is missing/.test(e.reason),
    );
    assert.deepEqual(await namesIn(dir), []);
  }));

Deno.test("writeFilesTogether removes the staged files when staging a later one fails", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a`, "old a");
    // Staging the second file fails after the first was staged (its content cannot be read).
    const writes = [
      { path: `${dir}/a`, data: "new a" },
      {
        path: `${dir}/late/b`,
        get data(): string {
          throw new Deno.errors.PermissionDenied("simulated failure while staging");
        },
      },
    ];
    await Deno.mkdir(`${dir}/late`);
    await assert.rejects(
      writeFilesTogether(writes),
      (e: unknown) => e instanceof ParseError && e.field === `${dir}/late/b`,
    );
    assert.equal(await Deno.readTextFile(`${dir}/a`), "old a");
    assert.deepEqual(await namesIn(dir), ["a", "late"]);
    assert.deepEqual(await namesIn(`${dir}/late`), []);
  }));

Deno.test("writeFilesTogether writes text pieces as the UTF-8 of their concatenation, past its buffer", () =>
  withTempDir(async (dir) => {
    // 3 MiB of pieces (more than the 1 MiB buffer), with 2-, 3- and 4-byte characters, so
    // characters land on every buffer boundary; and empty pieces.
    const pieces: string[] = [];
    for (let i = 0; pieces.join("").length < 3 << 20; i++) {
      pieces.push(`${"é€😀a".repeat(i % 97)}${i}\n`.repeat(1 + i % 13), "");
    }
    const shared = "x".repeat(40_000);
    pieces.push(shared, "ü", shared);
    await writeFilesTogether([{ path: `${dir}/p`, data: pieces }]);
    assert.deepEqual(
      await Deno.readFile(`${dir}/p`),
      new TextEncoder().encode(pieces.join("")),
    );
    await writeFilesTogether([{ path: `${dir}/empty`, data: [] }]);
    assert.equal(await Deno.readTextFile(`${dir}/empty`), "");
    assert.deepEqual(await namesIn(dir), ["empty", "p"]);
  }));

Deno.test("writeFilesTogether writes a surrogate pair split across pieces as its one character", () =>
  withTempDir(async (dir) => {
    // "😀" is "\ud83d\ude00": encoding the halves apart gives two U+FFFD (6 bytes) instead of the
    // character's 4; a lone surrogate at either end is still U+FFFD, as TextEncoder writes it.
    const cases = [
      ["a\ud83d", "\ude00b"],
      ["\ud83d", "", "\ude00"],
      ["x".repeat((1 << 20) - 1) + "\ud83d", "\ude00"],
      ["a\ud83d", "\ud83d", "\ude00"],
      ["\ude00", "a\ud83d"],
      ["\ud83d"],
    ];
    for (const [i, pieces] of cases.entries()) {
      await writeFilesTogether([{ path: `${dir}/s${i}`, data: pieces }]);
      assert.deepEqual(
        await Deno.readFile(`${dir}/s${i}`),
        new TextEncoder().encode(pieces.join("")),
        `case ${i}`,
      );
    }
  }));

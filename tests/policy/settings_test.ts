import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { loadDefaultSettings, loadSettings, parseSettings } from "../../policy/settings.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

Deno.test("the shipped settings validate against their own shape", async () => {
  const d = await loadDefaultSettings();
  assert.deepEqual(parseSettings(structuredClone(d), d), d);
});

Deno.test("rejects settings with an unknown field, a missing field, a wrong type or a bad regex", async () => {
  const d = await loadDefaultSettings();
  const bad = structuredClone(d) as unknown as Record<string, Record<string, unknown>>;
  bad.pause!.extra = 1;
  delete bad.initializer!.image;
  bad.pause!.uid = "65535";
  (bad.copy_file!.path_regexes as string[])[0] = "^/run/(unclosed$";
  (bad.copy_file!.path_regexes as string[])[1] = "/run/.*";
  bad.requests!.ReadStreamRequest = "yes";
  let error: unknown;
  try {
    parseSettings(bad, d, "my.json");
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof InvalidDocumentError);
  const lines = error.issues.map((i) => `${i.path}: ${i.reason}`);
  assert.ok(lines.includes("my.json: pause.extra: unknown field"), lines.join("\n"));
  assert.ok(lines.includes("my.json: initializer.image: missing"));
  assert.ok(lines.some((l) => l.startsWith("my.json: pause.uid: must be a number")));
  assert.ok(lines.includes("my.json: copy_file.path_regexes[0]: not a valid regular expression"));
  assert.ok(
    lines.includes("my.json: copy_file.path_regexes[1]: pattern must be anchored with ^ and $"),
  );
  assert.ok(lines.includes("my.json: requests.ReadStreamRequest: must be a boolean"));
});

Deno.test("loadSettings reports unreadable JSON with the file name", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/s.json`, "{not json");
    await assert.rejects(
      loadSettings(`${dir}/s.json`),
      (e: InvalidDocumentError) => e.issues[0]!.path === `${dir}/s.json`,
    );
  }));

Deno.test("container.emptydir_mode is guest-local or block-encrypted, nothing else", async () => {
  const d = await loadDefaultSettings();
  assert.equal(d.container.emptydir_mode, "guest-local");
  const ok = structuredClone(d) as unknown as { container: Record<string, unknown> };
  ok.container.emptydir_mode = "block-encrypted";
  assert.equal(parseSettings(ok, d).container.emptydir_mode, "block-encrypted");
  ok.container.emptydir_mode = "block-plain";
  assert.throws(
    () => parseSettings(ok, d, "my.json"),
    (e: unknown) =>
      e instanceof InvalidDocumentError &&
      e.issues.some((i) =>
        i.path === "my.json: container.emptydir_mode" && /must be one of guest-local/.test(i.reason)
      ),
  );
});

Deno.test("loadSettings refuses a key given twice (a reader sees the first, JSON.parse keeps the last)", () =>
  withTempDir(async (dir) => {
    const d = await loadDefaultSettings();
    // A reviewer reading the file sees SetGuestDateTimeRequest refused; the second spelling,
    // further down, would let the host set the guest's clock.
    const text = JSON.stringify(d, null, 2).replace(
      '"SetGuestDateTimeRequest": false,',
      '"SetGuestDateTimeRequest": false,\n    "SetGuestDateTimeRequest": true,',
    );
    assert.notEqual(text, JSON.stringify(d, null, 2), "the duplicate was inserted");
    await Deno.writeTextFile(`${dir}/s.json`, text);
    await assert.rejects(loadSettings(`${dir}/s.json`), (e: unknown) => {
      assert.ok(e instanceof InvalidDocumentError, String(e));
      const lines = e.issues.map((i) => `${i.path}: ${i.reason}`);
      assert.deepEqual(lines, [
        `${dir}/s.json: requests.SetGuestDateTimeRequest: duplicate key (refused: readers disagree)`,
      ]);
      return true;
    });
  }));

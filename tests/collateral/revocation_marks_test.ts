/**
 * The revocation marks on their own: ordering (number first, then issue time), never lowered,
 * persisted atomically and merged with what another process wrote, a damaged file failing closed.
 * The CRL numbers are read from Intel's real CRLs under ../shared/conformance.
 */
import assert from "node:assert/strict";
import {
  CRL_MARK_NAMES,
  type RevocationCandidate,
  type RevocationMark,
  RevocationMarks,
  RevocationMarksFileError,
  RevocationRollbackError,
} from "../../collateral/mod.ts";
import { parseCrl } from "../../x509/crl.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { conformanceTest, readConformance } from "../conformance.ts";

const at = (day: number) => new Date(Date.UTC(2026, 11, day));
const candidate = (mark: RevocationMark, key = "k"): RevocationCandidate => ({
  key,
  field: "crl",
  names: CRL_MARK_NAMES,
  mark,
});

Deno.test("a mark refuses a lower number or an earlier issue time, accepts equal and newer, and never goes down", async () => {
  const marks = new RevocationMarks();
  await marks.accept([candidate({ number: 5n, issued: at(2) })]);
  await marks.accept([candidate({ number: 5n, issued: at(2) })]); // equal
  await assert.rejects(
    marks.accept([candidate({ number: 4n, issued: at(3) })]),
    (e: unknown) =>
      e instanceof RevocationRollbackError && e.field === "crl.crlNumber" &&
      e.reason.startsWith("4 is older than the accepted 5"),
  );
  await assert.rejects(
    marks.accept([candidate({ number: 5n, issued: at(1) })]),
    (e: unknown) => e instanceof RevocationRollbackError && e.field === "crl.thisUpdate",
  );
  // Without a number, the time still orders.
  await assert.rejects(marks.accept([candidate({ issued: at(1) })]), RevocationRollbackError);
  await marks.accept([candidate({ issued: at(4) })]);
  assert.deepEqual(await marks.markOf("k"), { number: 5n, issued: at(4) });
  await marks.accept([candidate({ number: 9n, issued: at(4) })]);
  assert.deepEqual(await marks.markOf("k"), { number: 9n, issued: at(4) });
  // Other keys are apart.
  await marks.accept([candidate({ number: 1n, issued: at(1) }, "other")]);
});

Deno.test("one refused candidate raises none of the others", async () => {
  const marks = new RevocationMarks();
  await marks.accept([candidate({ number: 5n, issued: at(2) }, "b")]);
  await assert.rejects(
    marks.accept([
      candidate({ number: 1n, issued: at(9) }, "a"),
      candidate({ number: 4n, issued: at(2) }, "b"),
    ]),
    RevocationRollbackError,
  );
  assert.equal(await marks.markOf("a"), undefined);
  // check() refuses like accept() but raises nothing.
  await marks.check([candidate({ number: 6n, issued: at(3) }, "b")]);
  assert.deepEqual(await marks.markOf("b"), { number: 5n, issued: at(2) });
  await assert.rejects(marks.check([candidate({ issued: at(1) }, "b")]), RevocationRollbackError);
});

Deno.test("persisted marks: a missing file is no mark, a raise is written, another process's newer marks are kept", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/sub/marks.json`;
    const one = new RevocationMarks({ file });
    const two = new RevocationMarks({ file });
    assert.equal(await one.markOf("a"), undefined);
    assert.equal(await two.markOf("a"), undefined); // both read the (missing) file now
    await one.accept([candidate({ number: 7n, issued: at(3) }, "a")]);
    await two.accept([candidate({ number: 2n, issued: at(1) }, "a")]); // two knows nothing newer
    await two.accept([candidate({ issued: at(5) }, "b")]);
    const third = new RevocationMarks({ file });
    assert.deepEqual(await third.markOf("a"), { number: 7n, issued: at(3) });
    assert.deepEqual(await third.markOf("b"), { issued: at(5) });
    assert.deepEqual(one.writeErrors, []);
    // No temporary file is left behind by the atomic writes.
    const names = [];
    for await (const e of Deno.readDir(`${dir}/sub`)) names.push(e.name);
    assert.deepEqual(names, ["marks.json"]);
  });
});

Deno.test("a marks file that cannot be read as marks fails every check with the file named, and nothing overwrites it", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/marks.json`;
    const cases: [string | undefined, RegExp][] = [
      ["", /is not JSON/],
      ["[]", /not a version 1 marks file/],
      [`{"version":1}`, /has no marks object/],
      [`{"version":1,"marks":{"k":{"number":"01","issued":"2026-12-01T00:00:00Z"}}}`, /number/],
      [`{"version":1,"marks":{"k":7}}`, /issued is not a time/],
      [undefined, /is a directory/],
    ];
    for (const [content, reason] of cases) {
      await Deno.remove(file, { recursive: true }).catch(() => {});
      if (content === undefined) await Deno.mkdir(file);
      else await Deno.writeTextFile(file, content);
      const marks = new RevocationMarks({ file });
      for (let i = 0; i < 2; i++) {
        await assert.rejects(
          marks.accept([candidate({ number: 1n, issued: at(1) })]),
          (e: unknown) =>
            e instanceof RevocationMarksFileError && e.field === file && reason.test(e.reason),
        );
      }
      await assert.rejects(marks.check([]), RevocationMarksFileError);
      if (content !== undefined) assert.equal(await Deno.readTextFile(file), content);
    }
  });
});

Deno.test("a mark that cannot be written is kept in memory and the failure recorded", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/not-a-folder`, "x");
    const marks = new RevocationMarks({ file: `${dir}/not-a-folder/marks.json` });
    await marks.accept([candidate({ number: 3n, issued: at(2) })]);
    assert.equal(marks.writeErrors.length, 1);
    await assert.rejects(
      marks.accept([candidate({ number: 2n, issued: at(2) })]),
      RevocationRollbackError,
    );
  });
});

conformanceTest(
  "Intel's real PCK and root CA CRLs carry cRLNumber 1 whatever their thisUpdate",
  async () => {
    const seen = new Set<string>();
    for (
      const dir of [
        "v4-gotdx-spr-50806f",
        "v4-phala-b0c06f-uptodate",
        "v5-phala-90c06f-tcb-not-supported",
      ]
    ) {
      for (const name of ["pck_crl.der", "root_ca_crl.der"]) {
        const crl = parseCrl(await readConformance(`tdx/${dir}/${name}`), name);
        assert.equal(crl.crlNumber, 1n);
        seen.add(crl.thisUpdate.toISOString());
      }
    }
    assert.ok(seen.size >= 4); // different issues, one number: the issue time orders them
  },
);

Deno.test("read-only marks check against the file and raise in memory, never writing it", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/marks.json`;
    await new RevocationMarks({ file }).accept([candidate({ number: 5n, issued: at(2) })]);
    const before = await Deno.readTextFile(file);
    const readOnly = new RevocationMarks({ file, readOnly: true });
    await assert.rejects(
      readOnly.accept([candidate({ number: 4n, issued: at(2) })]),
      RevocationRollbackError,
    );
    await readOnly.accept([candidate({ number: 6n, issued: at(3) })]);
    assert.deepEqual(await readOnly.markOf("k"), { number: 6n, issued: at(3) });
    assert.equal(await Deno.readTextFile(file), before);
  });
});

Deno.test("marks of simulated authorities' documents stay in memory unless persistSimulated", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/marks.json`;
    const simulated = (n: bigint, key: string) => ({
      ...candidate({ number: n, issued: at(2) }, key),
      simulated: true,
    });
    const marks = new RevocationMarks({ file });
    await marks.accept([simulated(5n, "sim")]);
    await assert.rejects(marks.accept([simulated(4n, "sim")]), RevocationRollbackError);
    await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
    await marks.accept([candidate({ number: 1n, issued: at(1) }, "vendor")]);
    assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(file)).marks), ["vendor"]);
    await new RevocationMarks({ file, persistSimulated: true }).accept([simulated(5n, "sim")]);
    assert.deepEqual(
      Object.keys(JSON.parse(await Deno.readTextFile(file)).marks).sort(),
      ["sim", "vendor"],
    );
  });
});

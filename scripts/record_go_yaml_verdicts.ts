/**
 * Records what go-yaml v2 reads a corpus of tricky plain scalars as, into
 * `tests/deploy/go_yaml_verdicts.json`, the table `tests/deploy/go_yaml_resolve_test.ts` checks
 * generate's reading and printing against (so the test suite needs no Go toolchain); and what it
 * makes of control and line-break characters (raw in a plain scalar, a double-quoted scalar, a
 * comment and a key, and as a `\u` escape) into `tests/deploy/go_yaml_control_verdicts.json`,
 * which `tests/deploy/kubectl_agreement_test.ts` checks generate's refusals against. Runs
 * `tools/yamlverdicts` (gopkg.in/yaml.v2, the version its go.mod pins) with `go run`.
 *
 * Usage: deno run -A scripts/record_go_yaml_verdicts.ts
 *
 * @module
 */

/** The corpus: number-like forms combined systematically, YAML 1.1 words, edge values. */
function corpus(): string[] {
  const out = new Set<string>();
  for (const sign of ["", "+", "-"]) {
    for (const prefix of ["", "0", "0x", "0X", "0o", "0O", "0b", "0B", "_", "0_", "0x_", "0b-"]) {
      for (const body of ["", "1", "17", "1f", "101", "_1", "1_0", "8", "1__0"]) {
        for (const suffix of ["", ".", ".5", "e5", "e1_0", "E+1", "e-3", "_"]) {
          out.add(`${sign}${prefix}${body}${suffix}`);
        }
      }
    }
  }
  for (
    const s of [
      ".5",
      "._5",
      ".5e1_0",
      ".e5",
      "..5",
      ".5.",
      ".5e",
      ".5E-3",
      ".0",
      ".",
      "-.",
      "+.5",
      "-.5e3",
      "1e1_0",
      "1_e1_0",
      "1.5e1_0",
      "1e+1_0",
      "0.1_e5",
      "1E5",
      "1.0e",
      "0x1p4",
      "1e308",
      "1e309",
      "-1e309",
      "1e-400",
      "9223372036854775807",
      "9223372036854775808",
      "18446744073709551615",
      "18446744073709551616",
      "-9223372036854775808",
      "-9223372036854775809",
      "0b" + "1".repeat(64),
      "-0b" + "1".repeat(63),
      "0x" + "f".repeat(16),
      "0o" + "7".repeat(22),
      "0" + "7".repeat(22),
      "y",
      "Y",
      "yes",
      "Yes",
      "YES",
      "yEs",
      "n",
      "N",
      "no",
      "No",
      "NO",
      "true",
      "True",
      "TRUE",
      "tRUE",
      "false",
      "False",
      "FALSE",
      "on",
      "On",
      "ON",
      "oN",
      "off",
      "Off",
      "OFF",
      "~",
      "null",
      "Null",
      "NULL",
      "nulL",
      ".nan",
      ".NaN",
      ".NAN",
      ".nAn",
      ".inf",
      ".Inf",
      ".INF",
      ".inF",
      "+.inf",
      "-.Inf",
      "+.INF",
      "-.iNf",
      "inf",
      "nan",
      "Infinity",
      "<<",
      "=",
      "1:20",
      "190:20:30",
      "1:20.5",
      "2001-12-14",
      "2001-1-2",
      "2001-13-01",
      "2001-02-29",
      "2000-02-29",
      "2001-12-14t21:59:43.10-05:00",
      "2001-12-14T21:59:43Z",
      "2001-12-14 21:59:43.10",
      "2001-12-14 21:59:43.10 -5",
      "12345-01-01",
      "0o",
      "0x",
      "0b",
      "0O17",
      "0X1F",
      "0B101",
      "+_1",
      "-_1",
      "_1",
      "1_",
      "0_",
      "00",
      "09",
      "0_9",
      "08.5",
      "1.",
      "1.e5",
      "+1.",
      "1__0",
      "0x_1f",
      "0b_1",
      "0o_17",
      "0b+101",
      "0b-101",
      "-0b-101",
      "-0b+1",
      "+0b1",
      "0x-1f",
      "0o-17",
      "1_000_000",
      "+0",
      "-0",
      "-0.0",
      "0e0",
      "0e",
      "e5",
      "1e",
      "1e+",
      "1-2",
      "1+2",
    ]
  ) out.add(s);
  return [...out];
}

/** The code points of the control corpus: U+0000–U+00A0 and the edges of the allowed ranges. */
function controlCodePoints(): number[] {
  const out: number[] = [];
  for (let cp = 0; cp <= 0xa0; cp++) out.push(cp);
  out.push(0x2028, 0x2029, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xfffe, 0xffff, 0x10000);
  return out;
}

/** How a control character is spelled in a document of the control corpus. */
const CONTROL_FORMS: Readonly<Record<string, (c: string, cp: number) => string>> = {
  plain: (c) => `a${c}b`,
  quoted: (c) => `"a${c}b"`,
  comment: (c) => `# a${c}b\n1`,
  key: (c) => `{a${c}b: v}`,
  escaped: (_, cp) => `"a\\U${cp.toString(16).padStart(8, "0")}b"`,
};

/** The control corpus: each code point in each form, a document of its own. */
function controlCorpus(): { codePoint: number; form: string; document: string }[] {
  const out: { codePoint: number; form: string; document: string }[] = [];
  for (const cp of controlCodePoints()) {
    for (const [form, spell] of Object.entries(CONTROL_FORMS)) {
      out.push({ codePoint: cp, form, document: spell(String.fromCodePoint(cp), cp) });
    }
  }
  return out;
}

const tool = new URL("../tools/yamlverdicts/", import.meta.url).pathname;

/** What tools/yamlverdicts says of each document. */
async function verdictsOf(documents: readonly string[]): Promise<unknown[]> {
  const child = new Deno.Command("go", {
    args: ["run", "."],
    cwd: tool,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(documents)));
  await writer.close();
  const { code, stdout } = await child.output();
  if (code !== 0) throw new Error(`tools/yamlverdicts exited ${code}`);
  return JSON.parse(new TextDecoder().decode(stdout));
}

const scalars = corpus();
const goVersion = new TextDecoder().decode(
  (await new Deno.Command("go", { args: ["version"], stdout: "piped" }).output()).stdout,
).trim();
const goMod = await Deno.readTextFile(`${tool}/go.mod`);
const yamlVersion = /gopkg\.in\/yaml\.v2 (v\S+)/.exec(goMod)?.[1];
const record = {
  provenance: {
    reader: `gopkg.in/yaml.v2 ${yamlVersion}`,
    program: "tools/yamlverdicts (each scalar decoded as a document of its own into interface{})",
    recordedBy: "deno run -A scripts/record_go_yaml_verdicts.ts",
    go: goVersion,
  },
  verdicts: await verdictsOf(scalars),
};
const target = new URL("../tests/deploy/go_yaml_verdicts.json", import.meta.url);
await Deno.writeTextFile(target, JSON.stringify(record, null, 1) + "\n");
console.log(
  `recorded ${scalars.length} verdicts of ${record.provenance.reader} in ${target.pathname}`,
);

const controls = controlCorpus();
const controlVerdicts = await verdictsOf(controls.map((c) => c.document));
const controlRecord = {
  provenance: {
    ...record.provenance,
    program: "tools/yamlverdicts (each document decoded on its own into interface{}); " +
      'forms: plain a<c>b, quoted "a<c>b", comment # a<c>b then 1, key {a<c>b: v}, ' +
      'escaped "a\\U<8 hex>b"',
  },
  verdicts: controls.map((c, i) => ({
    codePoint: c.codePoint,
    form: c.form,
    ...controlVerdicts[i] as object,
  })),
};
const controlTarget = new URL("../tests/deploy/go_yaml_control_verdicts.json", import.meta.url);
await Deno.writeTextFile(controlTarget, JSON.stringify(controlRecord, null, 1) + "\n");
console.log(`recorded ${controls.length} control verdicts in ${controlTarget.pathname}`);

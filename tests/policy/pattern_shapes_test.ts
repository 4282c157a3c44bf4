/**
 * The pattern shapes generate writes into the policy data (policy/pattern_shapes.ts) are exactly
 * the ones rules.rego's `pattern_shape` works out (the rules take them instead of working them out
 * in each evaluation): every pattern of the sample and fixture pods, of settings.json, and near
 * misses of each shape, compared with `opa eval` of the rules themselves.
 */
import assert from "node:assert/strict";
import {
  CID_PLACEHOLDER,
  cidPatternShape,
  type PatternShape,
  patternShape,
  patternShapesOf,
} from "../../policy/pattern_shapes.ts";
import { samplePolicyData } from "./fixtures.ts";
import { fixturePolicyData } from "../../testing/policy/check_fixture.ts";

const ROOT = new URL("../../", import.meta.url);
const OPA = Deno.env.get("OPA") ?? new URL(".tools/bin/opa", ROOT).pathname;

const ID = "[A-Za-z0-9][A-Za-z0-9_.-]+";
const SHARED = "^/run/kata-containers/shared/containers/";

/** Patterns that look like a shape and are not, or are in a rarer way. */
const NEAR_MISSES = [
  "^$",
  "^proc$",
  "^a.b$",
  `^a\\.b$`,
  `^a\\db$`,
  "^é$",
  "^web-[a-z0-9]{1,10}-[a-z0-9]{5}$",
  "^web-[a-z0-9]{5}$",
  "^web-([a-z0-9]{1,10}-)?[a-z0-9]{5}$",
  "^web-(abc|[a-z0-9-]{3})[a-z0-9]{5}$",
  "^vote\\-bot-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}$",
  "^vote-bot-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}",
  "^[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}$",
  "^job\\-1-([0-9]+-)?[a-z0-9]{5}$",
  "^job-1-([0-9]+-)?([0-9]+-)?[a-z0-9]{5}$",
  "^db-[0-9]+$",
  "^-?[0-9]+$",
  "^size=-?[0-9]+",
  "^image_guest_pull=.*$",
  "^.*$",
  "^a.b=.*$",
  `^x${ID}$`,
  `^x\\${ID}$`,
  `^${ID}`,
  `${ID}$`,
  `${SHARED}${ID}-[a-z0-9]{16}-hosts$`,
  `${SHARED}${ID}-[a-z0-9]{16}-a.c$`,
  `${SHARED}${ID}-[a-z0-9]{16}-a|b$`,
  `${SHARED}${ID}-[a-z0-9]{16}-$`,
  `${SHARED}gid-[a-z0-9]{16}-hosts$`,
  `${SHARED}a\\.b-[a-z0-9]{16}-termination\\-log$`,
  `${SHARED}.a-[a-z0-9]{16}-hosts$`,
  `${SHARED}${ID}-[a-z0-9]{16}-(hosts|hostname|resolv\\.conf)$`,
  `${SHARED}${ID}-[a-z0-9]{16}-(hosts||x)$`,
  `${SHARED}${ID}-[a-z0-9]{16}-(hosts|a.b)$`,
  `${SHARED}${ID}-[a-z0-9]{16}-[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`,
  "^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
  "^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}$",
  "^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}",
  "^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
  "^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
  "^x.y-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
  "^[A-Za-z0-9][A-Za-z0-9._/:@-]*",
  "^[A-Za-z0-9][A-Za-z0-9._/:@-]+$",
  "^[a-z0-9][A-Za-z0-9._/:@-]*$",
];

/** Every pattern of `value` (strings starting with `^` anywhere in it). */
function anchoredStrings(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === "string" && value.startsWith("^")) into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => anchoredStrings(v, into));
  else if (value !== null && typeof value === "object") {
    Object.values(value).forEach((v) => anchoredStrings(v, into));
  }
  return into;
}

/** What rules.rego's pattern_shape returns for each pattern (no policy data: worked out). */
async function regoShapes(patterns: readonly string[]): Promise<unknown[]> {
  if (patterns.length === 0) return [];
  const dir = await Deno.makeTempDir({ prefix: "contrast-pattern-shapes-" });
  try {
    await Deno.writeTextFile(`${dir}/input.json`, JSON.stringify({ patterns }));
    const out = await new Deno.Command(OPA, {
      args: [
        "eval",
        "--format",
        "json",
        "-d",
        new URL("rego/rules.rego", ROOT).pathname,
        "-i",
        `${dir}/input.json`,
        "[data.agent_policy.pattern_shape(p) | some p in input.patterns]",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `opa eval (${OPA}): ${new TextDecoder().decode(out.stderr)}`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    return r.result[0].expressions[0].value;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("every pattern shape generate computes is the one rules.rego works out", async () => {
  const settings = JSON.parse(
    await Deno.readTextFile(new URL("policy/settings.json", ROOT)),
  );
  const patterns = new Set(NEAR_MISSES);
  for (const data of [await samplePolicyData(), await fixturePolicyData(), settings]) {
    anchoredStrings(data, patterns);
  }
  const list = [...patterns].filter((p) => !p.includes("$(cid)"));
  assert.ok([...patterns].some((p) => p.includes("$(cid)")), "the table has $(cid) patterns");
  const expected = await regoShapes(list);
  list.forEach((p, i) => assert.deepEqual(patternShape(p), expected[i], p));
  // The table reaches every shape, not only the regex fallback.
  const kinds = new Set(list.map((p) => Object.keys(patternShape(p)).sort().join(",")));
  assert.deepEqual([...kinds].sort(), [
    "id,prefix",
    "image_ref",
    "literal",
    "log_dir",
    "name,shared",
    "prefix,tail",
    "regex",
    "shared_names",
    "shared_tree",
    "uuid",
  ]);
});

/** rules.rego's with_cid: the ID in place of `$(cid)`, `.` escaped. */
const withCid = (pattern: string, cid: string) =>
  pattern.replaceAll("$(cid)", cid.replaceAll(".", "\\."));

/** The placeholder shape with `cid` in its text fields (rules.rego cid_in). */
function shapeWithCid(shape: PatternShape, cid: string): unknown {
  return Object.fromEntries(
    Object.entries(shape).map((
      [k, v],
    ) => [k, typeof v === "string" ? v.replaceAll(CID_PLACEHOLDER, cid) : v]),
  );
}

Deno.test("a $(cid) pattern's shape with the ID put in is the shape the rules work out for the pattern with the ID", async () => {
  const data = await samplePolicyData();
  const fixture = await fixturePolicyData();
  const cidPatterns = [
    ...new Set(
      [...anchoredStrings(data, new Set()), ...anchoredStrings(fixture, new Set())].filter((p) =>
        p.includes("$(cid)")
      ),
    ),
    "^/run/kata-containers/$(cid)/rootfs$",
    `${SHARED}$(cid)-[a-z0-9]{16}-termination\\-log$`,
    "^x-$(cid)-[0-9]+$",
    `^x$(cid)${ID}$`,
  ];
  const shapes: Record<string, PatternShape | undefined> = Object.fromEntries(
    cidPatterns.map((p) => [p, cidPatternShape(p)]),
  );
  const cids = ["gid", "a.b", "a-b_c", "0123456789abcdef".repeat(4), "x-0123456789abcdef-y"];
  const cases = cidPatterns.flatMap((p) => cids.map((cid) => ({ p, cid })));
  const expected = await regoShapes(cases.map(({ p, cid }) => withCid(p, cid)));
  let shaped = 0;
  cases.forEach(({ p, cid }, i) => {
    const shape = shapes[p];
    if (!shape) return;
    shaped++;
    assert.deepEqual(shapeWithCid(shape, cid), expected[i], `${p} with ${cid}`);
  });
  assert.ok(shaped >= 4 * cids.length, "the $(cid) shapes are generated");
  assert.ok("prefix" in (shapes[`^x$(cid)${ID}$`] ?? {}), "an ID after a $(cid) prefix");
});

Deno.test("generated policy data carries the shape of each pattern the rules match", async () => {
  const data = await samplePolicyData();
  const { pattern_shapes: shapes, ...rest } = data;
  assert.ok(shapes, "pattern_shapes is written");
  assert.deepEqual(shapes, patternShapesOf(rest));
  for (const c of data.containers) {
    for (const m of c.mounts) {
      assert.ok(m.source_regex in shapes, m.source_regex);
    }
    for (const v of Object.values(c.annotations)) assert.ok(v in shapes, v);
  }
  assert.ok(data.pod.sandbox_name_regex in shapes);
  for (const p of Object.keys(shapes).filter((p) => p.includes("$(cid)"))) {
    assert.ok(!("regex" in shapes[p]), `${p}: no regex shape for a $(cid) pattern`);
  }
  assert.ok(
    !data.containers.some((c) =>
      c.process.env_regexes.some((r) => r in shapes && r.startsWith("^K"))
    ),
    "env patterns are the rules' own shortcuts",
  );
});

Deno.test("patternShapesOf with a cache shared by pods gives each pod the shapes it gives alone", async () => {
  const cache = new Map<string, PatternShape | undefined>();
  const pods = [await samplePolicyData(), await fixturePolicyData(), await samplePolicyData()];
  for (const data of pods) {
    const { pattern_shapes: _, ...rest } = data;
    assert.deepEqual(patternShapesOf(rest, cache), patternShapesOf(rest));
  }
  assert.ok(cache.size > 0, "the cache holds the patterns seen");
  for (const shape of cache.values()) {
    if (shape) assert.ok(Object.isFrozen(shape), "pods share cached shapes, so they are frozen");
  }
});

/**
 * OPA evaluates regexes with Go's RE2, the Kata agent's regorus with Rust's `regex` crate (1.12,
 * built with default features off: no Unicode tables). The patterns the rules and policy data use
 * must mean the same in both, so they stay in the common subset: no Perl classes (`\d`, `\w`, `\s`,
 * `\b` need `unicode-perl` in Rust), no Unicode classes (`\p{..}`), no inline flags (`(?i)` needs
 * `unicode-case`), no `\<`/`\>` (word boundaries in Rust 1.10+, literals in RE2), no `\Q..\E`,
 * `\C`, `\Z` (RE2 only or neither), no look-around or back-references (neither engine).
 */
import assert from "node:assert/strict";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { escapeRegex } from "../../policy/regex.ts";
import { samplePolicyData } from "../policy/fixtures.ts";

const OUTSIDE_COMMON_SUBSET =
  /\\[dwsbDWSBpPQECZ<>1-9]|\(\?[a-zA-Z-]*[imsUux][a-zA-Z-]*[):]|\(\?[=!]|\(\?<[=!]/;

/** Every string value under keys named like patterns (`*_regex`, `*_regexes`, annotations). */
function patternsIn(value: unknown, key = ""): string[] {
  if (typeof value === "string") {
    return /regex|annotations/.test(key) ? [value] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v) => patternsIn(v, key));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) =>
      patternsIn(v, /annotations/.test(key) ? key : k)
    );
  }
  return [];
}

Deno.test("the denylist recognises the constructs whose meaning differs", () => {
  for (
    const bad of [
      `^\\d+$`,
      `\\w`,
      `a\\b`,
      `\\pL`,
      `(?i)abc`,
      `\\<x`,
      `\\Qa.b\\E`,
      `(?=a)`,
      `(a)\\1`,
    ]
  ) {
    assert.match(bad, OUTSIDE_COMMON_SUBSET, bad);
  }
  for (const ok of [`^[a-z0-9]{64}$`, `^a\\-b\\/c\\.d$`, `^(x|y)?[0-9]+$`, `^[^/]+$`]) {
    assert.doesNotMatch(ok, OUTSIDE_COMMON_SUBSET, ok);
  }
});

Deno.test("rules.rego regex literals stay in the RE2/Rust common subset", async () => {
  const rules = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));
  const literals = [...rules.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
  assert.ok(literals.length >= 5);
  for (const l of literals) assert.doesNotMatch(l, OUTSIDE_COMMON_SUBSET, l);
});

Deno.test("settings and generated policy data patterns stay in the common subset", async () => {
  const patterns = [
    ...patternsIn(await loadDefaultSettings()),
    ...patternsIn(await samplePolicyData()),
  ];
  assert.ok(patterns.length > 30, `only ${patterns.length} patterns found`);
  for (const p of patterns) assert.doesNotMatch(p, OUTSIDE_COMMON_SUBSET, p);
});

Deno.test("escapeRegex never produces an escape whose meaning differs (\\<, \\>, letters)", () => {
  const all = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
  const escaped = escapeRegex(all);
  assert.doesNotMatch(escaped, OUTSIDE_COMMON_SUBSET);
  assert.equal(new RegExp(`^${escaped}$`).test(all), true);
});

import assert from "node:assert/strict";
import { Document, isAlias, isMap, visit } from "yaml";
import { YAML_OPTIONS } from "../../deploy/documents.ts";
import { plainNode } from "../../deploy/yaml_nodes.ts";
import { mulberry32 as prng } from "../../util/random/mulberry32.ts";
import { describe } from "../helpers/yaml_describe.ts";

/** A random JSON-like tree (with the odd value plainNode hands to the package). */
function randomTree(random: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const r = random();
  if (depth < 4 && r < 0.3) {
    const out: Record<string, unknown> = {};
    const n = Math.floor(random() * 4);
    for (let i = 0; i < n; i++) {
      out[pick(["a", "name", "1", "yes", "<<", "x y"])] = randomTree(random, depth + 1);
    }
    return out;
  }
  if (depth < 4 && r < 0.5) {
    return Array.from({ length: Math.floor(random() * 4) }, () => randomTree(random, depth + 1));
  }
  return pick<unknown>([
    "text",
    "yes",
    "0o17",
    "",
    "<<",
    true,
    false,
    null,
    0,
    -3,
    2 ** 53,
    1.5,
    NaN,
    undefined,
    new Date(0),
    new Uint8Array([1]),
    new Map([["k", "v"]]),
    new Set(["s"]),
    10n,
  ]);
}

Deno.test("plainNode builds the nodes doc.createNode builds", () => {
  const random = prng(0x91a1);
  const shared = { name: "x" };
  const trees: unknown[] = [
    { name: "contrast-initializer", image: "img@sha256:ab", env: [{ name: "A", value: "1" }] },
    { a: shared, b: shared }, // a repeated object: createNode writes an alias
    [[], {}, [null]],
  ];
  for (let i = 0; i < 3000; i++) trees.push(randomTree(random));
  for (const [i, tree] of trees.entries()) {
    const doc = new Document(undefined, YAML_OPTIONS);
    const expected = describe(doc.createNode(tree));
    assert.deepEqual(describe(plainNode(doc, tree as never)), expected, `tree ${i}`);
  }
  // The repeated object still became an alias (through the package).
  const doc = new Document(undefined, YAML_OPTIONS);
  const node = plainNode(doc, { a: shared, b: shared });
  assert.ok(isMap(node));
  let aliases = 0;
  visit(node, { Alias: (_, n) => void (isAlias(n) && aliases++) });
  assert.equal(aliases, 1);
});

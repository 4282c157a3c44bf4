/**
 * The inputs of `tests/deploy/generate_inputs_test.ts` against the real kubectl and kube-apiserver
 * v1.37.2 (`kubectl create --dry-run=server -o name -f FILE`, which reads files as `apply` does):
 * BOMs and lists. Where kubectl applies a file, generate reads exactly the objects kubectl sends,
 * in order; where kubectl refuses it, generate refuses it too; the one place generate refuses what
 * kubectl applies (an `items` field on a ConfigMap) is checked to be the one where kubectl drops
 * the document and applies a Pod hidden in it instead.
 */
import assert from "node:assert/strict";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { collectResources } from "../../deploy/resources.ts";
import { LocalKubeCluster } from "../../testing/kube/mod.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { kubeTest } from "../helpers/kube_test.ts";

const B = "\uFEFF";

function pod(name: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n    - {name: c, image: r.example/c:1}\n`;
}

/** `pod(name)` without kind and apiVersion, as a list item (indented by 4 after the dash). */
function item(name: string): string {
  return `  - metadata: {name: ${name}}\n    spec: {containers: [{name: c, image: r.example/c:1}]}\n`;
}

/** File text, the objects kubectl sends (or "refused") and those generate reads (or "refused"). */
const CASES: readonly [string, string, string[] | "refused", string[] | "refused"][] = [
  ["BOM after ---", `${pod("a")}---\n${B}${pod("b")}`, ["pod/a", "pod/b"], ["pod/a", "pod/b"]],
  ["BOM after --- # comment", `${pod("a")}--- # next\n${B}${pod("b")}`, ["pod/a", "pod/b"], [
    "pod/a",
    "pod/b",
  ]],
  ["BOM after the first ---", `---\n${B}${pod("a")}`, "refused", "refused"],
  ["BOM inside a document", `${pod("a")}${B}  hostname: h\n`, "refused", "refused"],
  ["PodList", `apiVersion: v1\nkind: PodList\nitems:\n${item("p")}`, ["pod/p"], ["pod/p"]],
  [
    "DeploymentList",
    `apiVersion: apps/v1\nkind: DeploymentList\nitems:\n  - metadata: {name: d}\n    spec:\n` +
    `      selector: {matchLabels: {a: b}}\n      template:\n        metadata: {labels: {a: b}}\n` +
    `        spec: {containers: [{name: c, image: r.example/c:1}]}\n`,
    ["deployment.apps/d"],
    ["deployment/d"],
  ],
  [
    "List item without kind",
    `apiVersion: v1\nkind: List\nitems:\n${item("n")}`,
    "refused",
    "refused",
  ],
  [
    "PodList item with kind only",
    `apiVersion: v1\nkind: PodList\nitems:\n  - kind: Pod\n${
      item("h").slice(4).replace(/^/, "    ")
    }`,
    "refused",
    "refused",
  ],
  [
    "List inside a List",
    `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: List\n    items:\n` +
    `      - apiVersion: v1\n        kind: Pod\n        metadata: {name: x}\n` +
    `        spec: {containers: [{name: c, image: r.example/c:1}]}\n`,
    "refused",
    "refused",
  ],
  [
    "ConfigMap with items",
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nitems:\n  - apiVersion: v1\n    kind: Pod\n` +
    `    metadata: {name: hidden}\n    spec: {containers: [{name: c, image: r.example/c:1}]}\n`,
    ["pod/hidden"],
    "refused",
  ],
];

/** What generate reads from `text`: `kind/name` of each object, or "refused". */
function generateReads(text: string): string[] | "refused" {
  try {
    const resources = collectResources([parseYamlFile("app.yml", text)]);
    return resources.map((r) => `${r.kind.toLowerCase()}/${r.name}`);
  } catch (error) {
    if (error instanceof InvalidDocumentError) return "refused";
    throw error;
  }
}

const NAME = "BOMs and lists: generate reads what kubectl v1.37.2 applies";

Deno.test("BOMs and lists: generate's reading of each case", () => {
  for (const [name, text, , ours] of CASES) assert.deepEqual(generateReads(text), ours, name);
});

kubeTest(NAME, async () => {
  await using cluster = await LocalKubeCluster.start();
  // Pods need their service account to pass admission (no controller manager makes it).
  const sa = await cluster.kubectl(["create", "serviceaccount", "default"]);
  assert.equal(sa.code, 0, sa.stderr);
  await withTempDir(async (dir) => {
    for (const [name, text, kubectl] of CASES) {
      await Deno.writeTextFile(`${dir}/app.yml`, text);
      const r = await cluster.kubectl(
        ["create", "--dry-run=server", "-o", "name", "-f", `${dir}/app.yml`],
      );
      const sent = r.code === 0 ? r.stdout.trim().split("\n").filter((l) => l !== "") : "refused";
      assert.deepEqual(sent, kubectl, `${name}: ${r.stderr}`);
    }
  });
});

/**
 * A map key that is a YAML alias (`*k : value`, the key anchored elsewhere in the document) is
 * refused when a file is read, naming the file, the document and the path (exit 2). kubectl and
 * the API server take the anchored value as the key (checked here against the real kubectl
 * v1.37: `create --dry-run=client -o json` resolves `spec: {*r : contrast-cc}` to
 * runtimeClassName contrast-cc, `securityContext: {*k : true}` to privileged: true), while
 * generate's reads of the node tree by key name (the runtime class, metadata, the maps it edits)
 * do not see it: a pod given its runtime class so was left unchanged, without a policy. Aliases
 * as values, anchored keys and CronJob schedules of stars are read as before.
 */
import assert from "node:assert/strict";
import { InvalidDocumentError, ParseError } from "../../util/errors/mod.ts";
import { exitCodeFor } from "../../cli/exit_codes.ts";
import { parseYamlFile } from "../../deploy/documents.ts";
import { generate } from "../../deploy/generate.ts";
import { parseYamlDocuments } from "../../policy/check/inputs.ts";
import { LocalKubeCluster } from "../../testing/kube/mod.ts";
import { testGenerateOptions } from "./generate_options.ts";
import { kubeTest } from "../helpers/kube_test.ts";

const IMAGE = `"127.0.0.1:5000/web:1.0"`;

/** A pod whose runtime class is given by an alias key (the key anchored in a label). */
const RUNTIME_CLASS_POD = `apiVersion: v1
kind: Pod
metadata: {name: p, labels: {&r runtimeClassName: x}}
spec:
  *r : contrast-cc
  containers: [{name: c, image: ${IMAGE}}]
`;

/** A contrast pod whose container is made privileged by an alias key. */
const PRIVILEGED_POD = `apiVersion: v1
kind: Pod
metadata: {name: p, annotations: {&k privileged: "yes"}}
spec:
  runtimeClassName: contrast-cc
  containers: [{name: c, image: ${IMAGE}, securityContext: {*k : true}}]
`;

/** The issues parsing `text` gives ([] when it is read). */
function issuesOf(text: string): { path: string; reason: string }[] {
  try {
    parseYamlFile("app.yml", text);
  } catch (e) {
    assert.ok(e instanceof InvalidDocumentError, String(e));
    assert.equal(exitCodeFor(e), 2);
    return [...e.issues];
  }
  return [];
}

Deno.test("a map key that is an alias is refused when read, naming file, document and path", () => {
  for (
    const [text, path] of [
      [RUNTIME_CLASS_POD, "app.yml[0].spec.runtimeClassName"],
      [PRIVILEGED_POD, "app.yml[0].spec.containers[0].securityContext.privileged"],
      ["metadata:\n  labels: {&k name: x}\n  *k : evil\n", "app.yml[0].metadata.name"],
      [
        "kind: ConfigMap\n---\nspec:\n  containers:\n    - {&n name: a, image: i}\n" +
        "    - {*n : b, image: i}\n",
        "app.yml[1].spec.containers[1].name",
      ],
      ["a: &k x\nenv: [{? *k\n  : v}]\n", "app.yml[0].env[0].x"],
      ["a: &k x\nitems: [*k : v]\n", "app.yml[0].items[0].x"],
      // An anchored `<<` (string or merge key) as an alias key: refused as an alias key.
      ['k: &m "<<"\nspec:\n  *m : {hostNetwork: true}\n', "app.yml[0].spec.<<"],
      ['k: &m "<\\\n  <"\nspec:\n  *m : {hostNetwork: true}\n', "app.yml[0].spec.<<"],
      // (kubectl v1.37 reads `*y` here as a key "<<", not as a merge.)
      ["a: {c: 2}\n---\nx: {&y <<: {z: 1}}\n*y : {hostNetwork: true}\n", "app.yml[1].<<"],
    ]
  ) {
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, `${text}: ${JSON.stringify(issues)}`);
    assert.equal(issues[0]!.path, path, text);
    assert.match(issues[0]!.reason, /a key that is an alias \(\*\w\)/, text);
  }
});

Deno.test("generate refuses a runtime class or a privileged flag given by an alias key (exit 2)", async () => {
  // Before: the first pod was generated unchanged, without a policy (kubectl applies
  // runtimeClassName contrast-cc); the second generated with the key kubectl reads as
  // privileged: true.
  for (const text of [RUNTIME_CLASS_POD, PRIVILEGED_POD]) {
    await assert.rejects(
      async () => await generate([parseYamlFile("a.yml", text)], await testGenerateOptions()),
      (e: unknown) => {
        assert.ok(e instanceof InvalidDocumentError, String(e));
        assert.equal(exitCodeFor(e), 2);
        assert.match(e.issues[0]!.path, /^a\.yml\[0\]\.spec\./);
        return true;
      },
    );
  }
});

Deno.test("policy check refuses a file with an alias key, naming the path", () => {
  assert.throws(
    () => parseYamlDocuments(RUNTIME_CLASS_POD, "pod.yml"),
    (e: unknown) =>
      e instanceof ParseError && e.field === "pod.yml[0].spec.runtimeClassName" &&
      /alias/.test(e.reason),
  );
});

Deno.test("aliases as values, anchored keys, quoted star keys and star schedules are read as before", () => {
  for (
    const text of [
      "a: &k name\nb: {x: *k}\n",
      "metadata: {&k name: x}\nlabels: {k: v}\n",
      'a: &k x\nb: {"*k": v, "&j": w}\n',
      "c: [&e {a: 1}, *e]\n",
      'schedule: "*/5 * * * *"\nurl: "http://h/?a=1&b=2"\n',
      "schedule: '* * * * *'\n",
    ]
  ) assert.deepEqual(issuesOf(text), [], text);
});

Deno.test("generate: a CronJob's star schedule (with & and an anchor elsewhere) is kept", async () => {
  // `*` and `&` in the text make the document walked; no key there is an alias.
  for (const [schedule, extra] of [["*/5 * * * *", ""], ["* * * * *", ', "--q=a&b"']]) {
    const text = `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, labels: {app: &app nightly}}
spec:
  schedule: "${schedule}"
  jobTemplate:
    metadata: {labels: {app: *app}}
    spec:
      template:
        spec:
          runtimeClassName: contrast-cc
          restartPolicy: OnFailure
          containers: [{name: report, image: ${IMAGE}, command: ["/usr/bin/web"${extra}]}]
`;
    const result = await generate([parseYamlFile("cron.yml", text)], await testGenerateOptions());
    assert.equal(result.policies.length, 1);
    assert.ok(result.files[0]!.text.includes(`schedule: "${schedule}"`), result.files[0]!.text);
  }
});

const NAME = "kubectl v1.37 resolves alias keys to the anchored key";

kubeTest(NAME, async () => {
  await using cluster = await LocalKubeCluster.start();
  for (
    const [text, read] of [
      [RUNTIME_CLASS_POD, (o: Pod) => o.spec.runtimeClassName === "contrast-cc"],
      [PRIVILEGED_POD, (o: Pod) => o.spec.containers[0]!.securityContext?.privileged === true],
    ] as const
  ) {
    const r = await cluster.kubectl(["create", "--dry-run=client", "-o", "json", "-f", "-"], {
      stdin: text,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(read(JSON.parse(r.stdout)), r.stdout);
  }
});

/** The fields of kubectl's output read above. */
interface Pod {
  spec: {
    runtimeClassName?: string;
    containers: { securityContext?: { privileged?: unknown } }[];
  };
}

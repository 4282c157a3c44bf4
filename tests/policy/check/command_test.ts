import assert from "node:assert/strict";
import { stringify } from "yaml";
import { ParseError, VerificationError } from "../../../util/errors/mod.ts";
import { exitCodeFor } from "../../../cli/exit_codes.ts";
import {
  encodeInitdataAnnotation,
  encodeInitdataToml,
  INITDATA_ANNOTATION,
  renderPolicyText,
} from "../../../policy/initdata.ts";
import type { PolicyData } from "../../../policy/policy_data_types.ts";
import { policyCheckCommand, policyExplainCommand } from "../../../cli/commands/policy.ts";
import type { JsonObject } from "../../../policy/check/agent_protocol.ts";
import { MemoryResolver } from "../fixtures.ts";
import { DOCS, fixturePolicyData, fixtureSequence, IMAGES } from "./fixtures.ts";

const RULES = await Deno.readTextFile(new URL("../../../rego/rules.rego", import.meta.url));
const resolver = new MemoryResolver(IMAGES);
const OPTIONS = {
  json: false,
  mutate: true,
  seed: "7",
  imageCache: "/nonexistent",
  insecureRegistry: [],
  offline: true,
};

function initdataFor(pd: unknown, rules = RULES): Uint8Array {
  return encodeInitdataToml({ "policy.rego": renderPolicyText(rules, pd) });
}

/** Writes the fixture documents with the Deployment annotated with `pd`'s policy. */
async function writeApp(pd: unknown | undefined, rules = RULES): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "policy-check-" });
  const docs = structuredClone(DOCS) as {
    spec: { template: { metadata: { annotations: Record<string, string> } } };
  }[];
  if (pd !== undefined) {
    docs[2].spec.template.metadata.annotations[INITDATA_ANNOTATION] =
      await encodeInitdataAnnotation(initdataFor(pd, rules));
  }
  await Deno.writeTextFile(
    `${dir}/app.yml`,
    docs.map((d) => stringify(d, { version: "1.1" })).join("---\n"),
  );
  return dir;
}

async function capture(run: () => Promise<void>): Promise<{ out: string; error?: unknown }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await run();
    return { out: lines.join("\n") };
  } catch (error) {
    return { out: lines.join("\n"), error };
  } finally {
    console.log = original;
  }
}

Deno.test("policy check passes on a policy that admits exactly the pod", async () => {
  const dir = await writeApp(await fixturePolicyData());
  const { out, error } = await capture(() => policyCheckCommand([dir], OPTIONS, resolver));
  assert.equal(error, undefined, out);
  assert.match(out, /^PASS: 1 pod\(s\), 0 legitimate request\(s\) denied, 0 weakness/m);
  assert.match(out, /tampered requests denied/);
  assert.match(out, /documented limit "missing env var": allowed 0, denied \d+/);
});

Deno.test("policy check --json reports every pod with its digest", async () => {
  const dir = await writeApp(await fixturePolicyData());
  const { out, error } = await capture(() =>
    policyCheckCommand([dir], { ...OPTIONS, json: true }, resolver)
  );
  assert.equal(error, undefined);
  const run = JSON.parse(out);
  assert.equal(run.ok, true);
  assert.equal(run.pods[0].pod, "Deployment shop/web");
  assert.match(run.pods[0].policyDigest, /^[0-9a-f]{64}$/);
});

Deno.test("policy check exits 1 and names the weakness of a too-permissive policy", async () => {
  const pd = await fixturePolicyData();
  const weak: PolicyData = {
    ...pd,
    containers: pd.containers.map((c) => ({ ...c, exec_commands: [...c.exec_commands, ["sh"]] })),
  };
  const dir = await writeApp(weak);
  const { out, error } = await capture(() => policyCheckCommand([dir], OPTIONS, resolver));
  assert.ok(error instanceof VerificationError);
  assert.equal(exitCodeFor(error), 1);
  assert.match(out, /WEAKNESS: ExecProcessRequest app: "policy allows exec of \["sh"\]/);
});

Deno.test("policy check refuses a policy whose rules are not the compiled rules", async () => {
  const dir = await writeApp(await fixturePolicyData(), RULES + "\n# tampered\n");
  const { out, error } = await capture(() => policyCheckCommand([dir], OPTIONS, resolver));
  assert.ok(error instanceof VerificationError);
  assert.match(out, /are not the rules compiled into rego\/policy\.wasm/);
});

Deno.test("policy check fails for a confidential pod without a policy", async () => {
  const dir = await writeApp(undefined);
  const { out, error } = await capture(() => policyCheckCommand([dir], OPTIONS, resolver));
  assert.ok(error instanceof VerificationError);
  assert.match(out, /no policy annotation/);
});

Deno.test("policy check rejects malformed YAML naming file and document", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.yaml`, "kind: Pod\n---\nkind: [unclosed\n");
  const { error } = await capture(() => policyCheckCommand([dir], OPTIONS, resolver));
  assert.ok(error instanceof ParseError);
  assert.match(error.field, /bad\.yaml#1$/);
  assert.equal(exitCodeFor(error), 2);
});

Deno.test("policy check on an initdata file alone runs the pod-independent checks", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/policy.toml`, initdataFor(await fixturePolicyData()));
  const { out, error } = await capture(() =>
    policyCheckCommand([`${dir}/policy.toml`], OPTIONS, resolver)
  );
  assert.equal(error, undefined, out);
  assert.match(out, /policy without pod spec/);
});

Deno.test("policy explain names the field of a denied request and exits 1", async () => {
  const pd = await fixturePolicyData();
  const dir = await writeApp(pd);
  const seq = fixtureSequence(9);
  const log = seq.steps.slice(
    0,
    seq.steps.findIndex((s) => s.request.type === "ExecProcessRequest") + 1,
  )
    .map((s) => structuredClone({ kind: s.request.type, request: s.request.input }));
  ((log.at(-1)!.request as JsonObject).process as JsonObject).Args = ["/bin/sh", "-i"];
  await Deno.writeTextFile(`${dir}/log.jsonl`, log.map((l) => JSON.stringify(l)).join("\n"));
  const { out, error } = await capture(() =>
    policyExplainCommand(`${dir}/app.yml`, `${dir}/log.jsonl`, { ...OPTIONS }, resolver)
  );
  assert.ok(error instanceof VerificationError, out);
  assert.match(out, new RegExp(`#${log.length - 1} DENIED: ExecProcessRequest .*process\\.Args`));
  assert.match(out, /"\/bin\/sh","-i"/);
  assert.doesNotMatch(out, /#0 DENIED/);
});

Deno.test("policy explain reports a request with a lone surrogate as denied (exit 1), not a crash", async () => {
  const dir = await writeApp(await fixturePolicyData());
  const seq = fixtureSequence(9);
  const first = structuredClone(seq.steps[0].request);
  (first.input as JsonObject).hostname = "\ud800";
  // JSON.stringify writes the lone surrogate as the escape \ud800, which JSON.parse reads back.
  await Deno.writeTextFile(
    `${dir}/r.json`,
    JSON.stringify({ kind: first.type, request: first.input }),
  );
  const { out, error } = await capture(() =>
    policyExplainCommand(`${dir}/app.yml`, `${dir}/r.json`, { ...OPTIONS }, resolver)
  );
  assert.ok(error instanceof VerificationError, String(error));
  assert.equal(exitCodeFor(error), 1);
  assert.match(out, new RegExp(`#0 DENIED: ${first.type} is denied: the rules cannot evaluate it`));
  assert.match(out, /illegal string escape character/);
});

Deno.test("policy explain on an allowed request succeeds", async () => {
  const dir = await writeApp(await fixturePolicyData());
  const seq = fixtureSequence(9);
  await Deno.writeTextFile(
    `${dir}/r.json`,
    JSON.stringify({ kind: seq.steps[0].request.type, request: seq.steps[0].request.input }),
  );
  const { out, error } = await capture(() =>
    policyExplainCommand(`${dir}/app.yml`, `${dir}/r.json`, { ...OPTIONS, json: true }, resolver)
  );
  assert.equal(error, undefined, out);
  assert.equal(JSON.parse(out)[0].allowed, true);
});

Deno.test("policy check and explain name the file of a pod whose ConfigMap is not in the input", async () => {
  const dir = await writeApp(await fixturePolicyData());
  // The same documents without the ConfigMap the Deployment's env refers to.
  const docs = (await Deno.readTextFile(`${dir}/app.yml`)).split("---\n").slice(1);
  await Deno.writeTextFile(`${dir}/app.yml`, docs.join("---\n"));
  await Deno.writeTextFile(
    `${dir}/r.json`,
    JSON.stringify({ kind: "GetOOMEventRequest", request: {} }),
  );
  const runs = [
    () => policyCheckCommand([`${dir}/app.yml`], OPTIONS, resolver),
    () => policyExplainCommand(`${dir}/app.yml`, `${dir}/r.json`, { ...OPTIONS }, resolver),
  ];
  for (const run of runs) {
    const { error } = await capture(run);
    assert.ok(error instanceof ParseError, String(error));
    assert.equal(exitCodeFor(error), 2);
    assert.ok(error.field.startsWith(`${dir}/app.yml#`), error.field);
    assert.match(
      error.message,
      /containers\[0\]\.env\[0\]: key "LEVEL" of "shop\/cfg" is not in the input/,
    );
  }
});

Deno.test("policy check does not pass a pod whose initdata holds more than the policy (aa.toml, cdh.toml)", async () => {
  // The Kata agent hands `aa.toml` and `cdh.toml` of the initdata to the guest's attestation agent
  // and confidential data hub (where images and secrets come from); the policy covers neither and
  // generate never writes them. Before, the check read only `policy.rego` and passed such a pod.
  const pd = await fixturePolicyData();
  for (const key of ["cdh.toml", "aa.toml"]) {
    const dir = await writeApp(pd);
    const text = await Deno.readTextFile(`${dir}/app.yml`);
    const plain = await encodeInitdataAnnotation(initdataFor(pd));
    const extra = await encodeInitdataAnnotation(
      encodeInitdataToml({
        "policy.rego": renderPolicyText(RULES, pd),
        [key]: '[image]\nimage_pull_proxy = "http://host.example:3128"\n',
      }),
    );
    assert.ok(text.includes(plain));
    await Deno.writeTextFile(`${dir}/app.yml`, text.replace(plain, extra));
    const { out, error } = await capture(() => policyCheckCommand([dir], OPTIONS, resolver));
    assert.ok(error instanceof VerificationError, out);
    assert.equal(exitCodeFor(error), 1);
    assert.match(
      out,
      new RegExp(`data\\["${key.replace(".", "\\.")}"\\].*initdata holds more than the policy`),
    );
    // Given on its own, the same initdata is refused too.
    await Deno.writeFile(
      `${dir}/policy.toml`,
      encodeInitdataToml({ "policy.rego": renderPolicyText(RULES, pd), [key]: "x = 1\n" }),
    );
    const alone = await capture(() =>
      policyCheckCommand([`${dir}/policy.toml`], OPTIONS, resolver)
    );
    assert.ok(alone.error instanceof VerificationError, alone.out);
    assert.match(alone.out, /initdata holds more than the policy/);
  }
});

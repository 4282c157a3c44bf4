import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { runGenerate } from "../../cli/commands/generate.ts";
import { ExitCode, exitCodeFor } from "../../cli/exit_codes.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseManifestWith } from "../../manifest/manifest.ts";
import { readAnnotatedPolicy, splitPolicyText } from "../../policy/initdata.ts";
import {
  KATA_AGENT_POLICY_LIMITS,
  limitViolations,
  measurePolicyText,
} from "../../policy/agent_limits.ts";
import type { PolicyData } from "../../policy/policy_data_types.ts";
import { CompiledRules } from "../../rego/evaluator.ts";
import { readSnpReferenceValue } from "../../snp/reference_values.ts";
import { readTdxReferenceValue } from "../../tdx/reference_values.ts";
import { createContainer, createSandbox, hexId } from "../rego/agent_requests.ts";
import { exampleGenerateFlags, withExampleApp } from "../../testing/example_app.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { validateKubernetesObject } from "./kubernetes_schema.ts";

interface Template {
  metadata?: { annotations?: Record<string, string> };
}

interface Resource extends Record<string, unknown> {
  kind?: string;
  metadata?: { name?: string };
  spec?: { template?: Template; jobTemplate?: { spec?: { template?: Template } } };
}

/** Values of the example's Secret as the containers receive them (policies hold only hashes). */
const EXAMPLE_SECRETS = {
  POSTGRES_USER: "voting",
  POSTGRES_PASSWORD: "super-secret",
  DB_POSTGRES_USER: "voting",
  DB_POSTGRES_PASSWORD: "super-secret",
  STORE_DSN: "postgres://voting@127.137.0.3:5432/votes",
};

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readTextFile(`${dir}/${e.name}`));
  }
  return out;
}

Deno.test({
  name:
    "generates the example app against a real registry: valid Kubernetes objects, parseable manifest, byte-identical re-run, admitted by the rules",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-example-", async (example) => {
      const { app, ws, files } = example;
      const f = exampleGenerateFlags(example);
      const report = await runGenerate([app], f);

      // Every output object is a valid Kubernetes object.
      let objects = 0;
      const podSpecs: { name: string; policy: PolicyData }[] = [];
      for (const file of files) {
        for (
          const doc of parseAllDocuments(await Deno.readTextFile(file), { version: "1.1" }) as {
            toJS(): unknown;
          }[]
        ) {
          const obj = doc.toJS() as Resource | null;
          if (!obj) continue;
          validateKubernetesObject(obj, file);
          objects++;
          const template = obj.kind === "CronJob"
            ? obj.spec?.jobTemplate?.spec?.template
            : obj.spec?.template;
          const annotations = template?.metadata?.annotations;
          if (annotations) {
            const policy = await readAnnotatedPolicy(annotations);
            if (policy) {
              // Within the Kata agent's policy limits, with room to spare.
              const size = measurePolicyText(policy.policy);
              assert.deepEqual(limitViolations(size), [], String(obj.metadata?.name));
              assert.ok(size.bytes < KATA_AGENT_POLICY_LIMITS.maxFileBytes / 16);
              assert.ok(size.longestLineBytes < KATA_AGENT_POLICY_LIMITS.maxLineBytes / 16);
              podSpecs.push({
                name: String(obj.metadata?.name),
                policy: splitPolicyText(policy.policy).policyData as PolicyData,
              });
            }
          }
        }
      }
      assert.equal(objects, 16); // 14 of the example + ServiceAccount and user API Service
      assert.equal(podSpecs.length, 6);

      // The manifest parses with contrast's manifest parser.
      const manifestBytes = await Deno.readFile(`${ws}/manifest.json`);
      const manifest = parseManifestWith(manifestBytes, {
        snp: readSnpReferenceValue,
        tdx: readTdxReferenceValue,
      });
      assert.equal(Object.keys(manifest.Policies).length, 6);
      assert.equal(
        Object.values(manifest.Policies).filter((p) => p.Role === "coordinator").length,
        1,
      );
      assert.equal(manifest.WorkloadOwnerPubKeys.length, 1);
      assert.equal(manifest.SeedshareOwnerPubKeys.length, 1);
      const store = Object.values(manifest.Policies).find((p) =>
        p.WorkloadSecretID === "emojivoto/vote-store"
      );
      assert.ok(store);

      // Each workload's SANs: its name and the DNS names of the Services selecting its pods, no
      // "*"; every egress target of the app names exactly the workload its Service selects.
      const sansOf = (name: string) =>
        Object.values(manifest.Policies).find((p) => p.SANs[0] === name)?.SANs;
      const svc = (
        s: string,
      ) => [s, `${s}.emojivoto`, `${s}.emojivoto.svc`, `${s}.emojivoto.svc.cluster.local`];
      assert.deepEqual(sansOf("emoji"), ["emoji", ...svc("emoji-svc")]);
      assert.deepEqual(sansOf("voting"), ["voting", ...svc("voting-svc")]);
      assert.deepEqual(sansOf("web"), ["web", ...svc("web-svc")]);
      assert.deepEqual(sansOf("vote-store"), [
        ...svc("vote-store"),
        ...svc("vote-store-0.vote-store"),
      ]);
      assert.deepEqual(sansOf("vote-bot"), ["vote-bot"]);
      assert.ok(
        Object.values(manifest.Policies).every((p) => p.SANs.every((s) => !s.includes("*"))),
        "no wildcard SAN by default",
      );
      for (
        const [target, server] of [
          ["emoji-svc", "emoji"],
          ["voting-svc", "voting"],
          ["vote-store", "vote-store"],
          ["web-svc", "web"],
        ]
      ) {
        const holders = Object.values(manifest.Policies).filter((p) => p.SANs.includes(target!));
        assert.deepEqual(holders.map((p) => p.SANs[0]), [server], target);
      }
      assert.deepEqual(
        report.warnings.filter((w) => !w.includes("was resolved by its tag over plain HTTP")),
        [],
        "no SAN warnings for the example (no unanswered egress target, no shared name)",
      );

      // Each pod's legitimate sandbox + container creation is admitted by the compiled rules.
      const rules = await CompiledRules.load();
      for (const { name, policy } of podSpecs) {
        const ev = await rules.evaluator(policy);
        const sandbox = hexId(0xee);
        assert.equal(
          ev.evaluate("CreateSandboxRequest", createSandbox(policy, sandbox)).allowed,
          true,
          name,
        );
        policy.containers.forEach((c, i) => {
          const d = ev.evaluate(
            "CreateContainerRequest",
            createContainer(
              policy,
              c,
              c.kind === "pause" ? sandbox : hexId(i + 1),
              sandbox,
              EXAMPLE_SECRETS,
            ),
          );
          assert.equal(d.allowed, true, `${name}/${c.name}: ${d.error ?? "denied"}`);
        });
      }

      // Re-running changes nothing, byte for byte.
      const before = await snapshot(app);
      const wsBefore = await snapshot(ws);
      await runGenerate([app], f);
      assert.deepEqual(await snapshot(app), before);
      assert.deepEqual(await snapshot(ws), wsBefore);

      // Offline from the cache gives the same result.
      await runGenerate([app], { ...f, offline: true });
      assert.deepEqual(await snapshot(app), before);

      // SANs added to manifest.json by hand are replaced by the next run, which says so.
      const edited = JSON.parse(wsBefore.get("manifest.json")!);
      const emojiEntry = Object.values(edited.Policies as Record<string, { SANs: string[] }>)
        .find((p) => p.SANs[0] === "emoji")!;
      emojiEntry.SANs.push("emoji.example.com");
      await Deno.writeTextFile(`${ws}/manifest.json`, JSON.stringify(edited, null, 2) + "\n");
      const rerun = await runGenerate([app], { ...f, offline: true });
      assert.equal(await Deno.readTextFile(`${ws}/manifest.json`), wsBefore.get("manifest.json"));
      const replaced = rerun.warnings.filter((w) => w.includes("were ["));
      assert.equal(replaced.length, 1, rerun.warnings.join("\n"));
      assert.match(
        replaced[0]!,
        /manifest\.json: the SANs of Deployment emojivoto\/emoji \(policy [0-9a-f]{12}…\) were \[.*"emoji\.example\.com"\] and are now \["emoji",/,
      );

      // --san-wildcard (on the command line) appends "*" to every entry, the old default, and
      // warns that it does.
      const wild = await runCliCaptured(
        "generate",
        ...["--reference-values", f.referenceValues, "--san-wildcard"],
        ...["--trusted-measurement", f.trustedMeasurement!, "--simulated-root", f.simulatedRoot!],
        ...["-s", f.settings!, "--image-lock", f.imageLock!, "--image-cache", f.imageCache!],
        ...["--insecure-registry", f.insecureRegistry[0]!],
        ...["-w", `${ws}-wild`, "-o", `${ws}-wild/app`, app],
      );
      assert.equal(wild.code, ExitCode.Ok, wild.stderr);
      assert.match(
        wild.stderr,
        /warning: --san-wildcard gives every policy's manifest entry the SAN "\*"/,
      );
      const wildManifest = JSON.parse(await Deno.readTextFile(`${ws}-wild/manifest.json`));
      const wildSans = Object.values(wildManifest.Policies as Record<string, { SANs: string[] }>)
        .map((p) => p.SANs);
      assert.deepEqual(
        wildSans.map((s) => s.slice(0, -1)).sort(),
        Object.values(manifest.Policies).map((p) => [...p.SANs]).sort(),
      );
      assert.ok(wildSans.every((s) => s.at(-1) === "*"), JSON.stringify(wildSans));
      await Deno.remove(`${ws}-wild`, { recursive: true });
    }),
});

Deno.test({
  name: "nothing is written when generation fails, and the error maps to the bad-input exit code",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withExampleApp("contrast-example-", async (example) => {
      const { app, ws } = example;
      // One workload refers to an image that is not in the registry.
      const web = `${app}/web.yml`;
      await Deno.writeTextFile(
        web,
        (await Deno.readTextFile(web)).replace("emojivoto-web:v11", "emojivoto-web:v404"),
      );
      const before = await snapshot(app);
      const error = await runGenerate([app], exampleGenerateFlags(example))
        .then(
          () => assert.fail("must fail"),
          (e) => e,
        );
      assert.ok(error instanceof InvalidDocumentError, String(error));
      assert.match(
        error.issues[0]!.path,
        /web\.yml\[0\]: spec\.template\.spec\.containers\[0\]\.image/,
      );
      assert.equal(exitCodeFor(error), ExitCode.BadInput);
      assert.deepEqual(await snapshot(app), before);
      assert.deepEqual([...(await snapshot(ws)).keys()], []);
    }),
});
